#if canImport(Glibc)
import Glibc
#endif

/// An error thrown by ``RWLock`` and by every other ``ReaderWriterLock`` (PostgresRWLock among them).
///
/// Every case says what went wrong and, in its ``description``, what to do about it.
/// Match a case directly:
///
/// ```swift
/// do { try lock.acquireWrite(timeout: .zero) } catch RWLockError.timedOut { /* busy */ }
/// ```
public enum RWLockError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The lock was not acquired before the deadline.
    case timedOut
    /// The wait was cancelled (the async API reports this as `CancellationError`).
    case cancelled
    /// A lock name was rejected; `reason` says why.
    case invalidName(String, reason: String)
    /// No named lock exists under this name.
    case notFound(name: String)
    /// `release()` was called while this participant held nothing.
    case notHeld
    /// `upgrade()` was called without an upgradable hold.
    case notUpgradable
    /// The calling thread holds the write lock and asked for the read or write lock with a wait:
    /// it would wait for itself forever. Nothing changed; the write hold is still held.
    case wouldDeadlock
    /// Every slot of the lock is taken by a live process.
    case tooManyProcesses(limit: Int)
    /// This process already holds the maximum number of concurrent read holds.
    case tooManyReaders(limit: Int)
    /// The named lock exists with a guarded shared-memory region of another size.
    case sharedMemorySizeMismatch(existing: Int, requested: Int)
    /// An argument was out of range (for example `maxProcesses`).
    case invalidArgument(String)
    /// The segment exists but may not be trusted (wrong owner, permissions, file type).
    case unsafeSegment(String)
    /// The segment is not a lock of this layout (magic, version, sizes), or its contents are corrupt.
    case corruptSegment(String)
    /// A handle string could not be parsed, or no longer names a live lock.
    case invalidHandle(String)
    /// A system call failed.
    case system(operation: String, errno: Int32)
    /// A lock served by a database could not reach it (connect, authenticate, or a dropped
    /// connection while waiting); nothing is held.
    case connectionFailed(String)
    /// A hold ended without a release: the connection that held it on the server was lost, so
    /// other processes may have taken the lock since. Thrown by the release of that hold.
    case lockLost(String)
    /// The lock's server refused an operation; the message is the server's.
    case server(String)

    public var description: String {
        switch self {
        case .timedOut:
            return "timed out waiting for the lock; retry, use a longer timeout, or run `prwlock status` to see who holds it"
        case .cancelled:
            return "the wait for the lock was cancelled; nothing is held"
        case let .invalidName(name, reason):
            return "invalid lock name \(String(reflecting: name)): \(reason); use 1 to \(LockName.maximumLength) bytes without '/' or NUL"
        case let .notFound(name):
            return "no lock named \(String(reflecting: name)) exists; create it with RWLock(name:)"
        case .notUpgradable:
            return "upgrade() needs an upgradable hold: take it with acquireUpgradable(); a plain read lock cannot be upgraded, because two readers upgrading at once would wait for each other forever"
        case .wouldDeadlock:
            return "this thread already holds the write lock and would wait for itself forever; release it first, or do the work under the hold it has"
        case .notHeld:
            return "release() called but this process holds neither a read nor a write lock; every release must match one acquisition"
        case let .tooManyProcesses(limit):
            return "all \(limit) process slots of this lock are taken by live processes; close unused instances or create the lock with a larger maxProcesses"
        case let .tooManyReaders(limit):
            return "this process already holds \(limit) read locks at once; release some before acquiring more"
        case let .sharedMemorySizeMismatch(existing, requested):
            return "the lock exists with \(existing) bytes of shared memory, not \(requested); open it with sharedMemorySize: \(existing) (or 0), or remove it and create it anew"
        case let .invalidArgument(message):
            return "invalid argument: \(message)"
        case let .unsafeSegment(message):
            return "refusing to use the lock's shared memory: \(message)"
        case let .corruptSegment(message):
            return "the lock's shared memory is not a valid lock: \(message); remove it with RWLock.remove(name:) and recreate it"
        case let .invalidHandle(message):
            return "invalid lock handle: \(message)"
        case let .system(operation, code):
            return "\(operation) failed: \(String(cString: strerror(code))) (errno \(code))"
        case let .connectionFailed(message):
            return "could not reach the lock's server: \(message); nothing is held; check the URL, the credentials and that the server is up, then retry"
        case let .lockLost(message):
            return "the lock was lost while held: \(message); other processes may have changed the protected data since, so check it before trusting it"
        case let .server(message):
            return "the lock's server refused the operation: \(message)"
        }
    }
}
