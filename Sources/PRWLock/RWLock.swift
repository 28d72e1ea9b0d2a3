#if canImport(Glibc)
import Glibc
#endif
import Logging

/// A reader-writer lock shared by processes and threads: many readers at once, one writer alone.
///
/// The lock lives in shared memory. Open it by name from unrelated processes, or create an
/// anonymous one and pass its ``handle`` to the children you fork or spawn:
///
/// ```swift
/// let lock = try RWLock(name: "inventory")
/// let count = try lock.withReadLock { readCount() }
/// try lock.withWriteLock(timeout: .seconds(2)) { try writeCount(count + 1) }
/// ```
///
/// - **Fair.** Once a writer has claimed the lock, new readers wait, so writers are not starved by
///   overlapping readers; readers that queued behind a writer go before the next writer (for up
///   to 2 ms), so readers are not starved by a stream of writers.
/// - **Robust.** A process that dies holding the lock — for read or write — never leaves it held:
///   waiting processes notice within milliseconds and take over. The next acquisition after a
///   writer died inside its critical section reports ``LockAcquisition/previousWriterDied``
///   (also ``previousWriterDied``) so it can repair the protected data.
/// - **Fast.** An uncontended acquire and release make no system call.
///
/// One `RWLock` instance is shared by every thread and task of a process: threads exclude each
/// other exactly as processes do. Holds belong to the instance, not to a thread, so
/// ``release()`` may run on any thread.
///
/// A thread that holds the write lock and asks for the read or write lock again with a wait gets
/// ``RWLockError/wouldDeadlock`` at once instead of waiting for itself (a try just returns
/// false, and a zero timeout throws ``RWLockError/timedOut``). Other self-waits are not
/// detected, because read and upgradable holds belong to the process, not to a thread, so the
/// lock cannot tell whether another thread will release the hold it waits for: a thread that holds a read lock and asks for write (or upgrades while its
/// process holds plain read locks too), one that holds the upgradable lock and asks for write
/// instead of upgrading, and one that re-acquires read behind a waiting writer (read holds are
/// not recursive while a writer waits). Give such waits a timeout. Async acquisitions are not
/// checked: a task's code may continue on any thread.
public final class RWLock: Sendable {
    @usableFromInline let core: LockCore
    /// Waits for async callers (RWLock+Async.swift); its thread starts only when one waits.
    let asyncWaiters: AsyncWaiters

    /// A string-convertible reference to this lock that another process can open with
    /// ``init(handle:logger:)``.
    public let handle: Handle

    /// The name of a named lock; nil for an anonymous one.
    public var name: String? {
        if case .named(let name, _) = handle.kind { return name }
        return nil
    }

    /// The default number of processes that can use one lock at once.
    public static let defaultMaxProcesses = SegmentLayout.defaultSlots

    /// Creates a new anonymous lock in shared memory (a sealed memfd).
    ///
    /// Share it with a child by `fork()` (the child's copy attaches by itself on first use), or by
    /// passing `handle.description` to a spawned process, which calls ``init(handle:logger:)``.
    ///
    /// - Parameters:
    ///   - maxProcesses: how many processes (more precisely, `RWLock` instances) can use the lock
    ///     at once, 1...1024.
    ///   - sharedMemorySize: bytes of shared memory the lock guards (0: none); see
    ///     ``withWriteLockedMemory(timeout:_:)``. It starts zeroed.
    ///   - logger: where to report a dead holder recovered (warning) and an acquisition that
    ///     waited more than 10 ms (debug). The library never configures logging itself.
    public convenience init(maxProcesses: Int = RWLock.defaultMaxProcesses, sharedMemorySize: Int = 0, logger: Logger? = nil) throws {
        try Self.checkMaxProcesses(maxProcesses)
        try Self.checkSharedMemorySize(sharedMemorySize)
        let segment = try MappedSegment.createAnonymous(slotCount: maxProcesses, sharedMemorySize: sharedMemorySize)
        try self.init(
            core: LockCore(segment: segment, logger: logger),
            handle: Handle(kind: .anonymous(pid: getpid(), descriptor: segment.fd, device: segment.device, inode: segment.inode)))
    }

    /// Opens the lock named `name`, creating it atomically if it does not exist.
    ///
    /// The lock is the file `/dev/shm/prwlock.<name>`. Nobody ever sees it half-initialised, even
    /// when many processes race to create it. An existing file is used only if it is a regular
    /// file owned by you, writable by nobody else beyond `permissions`, and a valid lock.
    ///
    /// - Parameters:
    ///   - name: 1 to 200 bytes, without `/` or NUL.
    ///   - createIfMissing: when false, a missing lock throws ``RWLockError/notFound(name:)``.
    ///   - permissions: the file mode of a new lock, applied exactly whatever the umask. Grant group
    ///     or other write access only to share the lock with other users you trust.
    ///   - maxProcesses: the number of process slots of a new lock, 1...1024; an existing lock keeps
    ///     its own.
    ///   - sharedMemorySize: bytes of shared memory a new lock guards (0: none); an existing lock
    ///     must have the same size, unless this is 0, which accepts whatever it has.
    ///   - logger: where to report recoveries (warning) and slow acquisitions (debug).
    public convenience init(
        name: String,
        createIfMissing: Bool = true,
        permissions: mode_t = 0o600,
        maxProcesses: Int = RWLock.defaultMaxProcesses,
        sharedMemorySize: Int = 0,
        logger: Logger? = nil
    ) throws {
        try Self.checkMaxProcesses(maxProcesses)
        try Self.checkSharedMemorySize(sharedMemorySize)
        guard permissions & ~0o777 == 0 else {
            throw RWLockError.invalidArgument("permissions \(String(permissions, radix: 8)) must be within 0o777")
        }
        let segment = try MappedSegment.openNamed(
            name, create: createIfMissing, permissions: permissions, slotCount: maxProcesses, sharedMemorySize: sharedMemorySize)
        try self.init(core: LockCore(segment: segment, logger: logger), handle: Handle(kind: .named(name, permissions: permissions)))
    }

    /// Opens the lock a handle refers to, typically in a child process given
    /// `lock.handle.description` in its arguments or environment.
    ///
    /// An anonymous lock can be opened as long as the process that created it still has it open.
    public convenience init(handle: Handle, logger: Logger? = nil) throws {
        let segment: MappedSegment
        switch handle.kind {
        case let .named(name, permissions):
            segment = try MappedSegment.openNamed(name, create: false, permissions: permissions, slotCount: 1, sharedMemorySize: 0)
        case let .anonymous(pid, descriptor, device, inode):
            segment = try MappedSegment.openAnonymous(creatorPID: pid, descriptor: descriptor, device: device, inode: inode)
        }
        try self.init(core: LockCore(segment: segment, logger: logger), handle: handle)
    }

    private init(core: LockCore, handle: Handle) throws(RWLockError) {
        self.core = core
        self.asyncWaiters = AsyncWaiters(core: core)
        self.handle = handle
    }

    /// Removes the name of a named lock. Processes that have it open keep using it; the next
    /// `RWLock(name:)` creates a new, unrelated lock.
    public static func remove(name: String) throws {
        try MappedSegment.removeNamed(name)
    }

    private static func checkSharedMemorySize(_ size: Int) throws(RWLockError) {
        guard (0...SegmentLayout.maximumSharedMemory).contains(size) else {
            throw .invalidArgument("sharedMemorySize is \(size); it must be 0...\(SegmentLayout.maximumSharedMemory) bytes")
        }
    }

    private static func checkMaxProcesses(_ count: Int) throws(RWLockError) {
        guard (1...SegmentLayout.maximumSlots).contains(count) else {
            throw .invalidArgument("maxProcesses is \(count); it must be 1...\(SegmentLayout.maximumSlots)")
        }
    }
}

/// What an acquisition found.
public struct LockAcquisition: Sendable, Equatable {
    /// True when a writer died while holding this lock and no writer has finished normally since:
    /// the protected data may be half-written. A writer that sees it should check and repair the
    /// data; when it releases normally, the notice is cleared.
    public let previousWriterDied: Bool

    /// Makes an acquisition result; other ``ReaderWriterLock`` implementations return one too.
    public init(previousWriterDied: Bool) {
        self.previousWriterDied = previousWriterDied
    }
}

// MARK: - Acquire and release

extension RWLock {
    /// Acquires a read lock, waiting as long as it takes.
    ///
    /// - Throws: ``RWLockError/wouldDeadlock`` at once when the calling thread holds the write
    ///   lock (it would wait for itself).
    @discardableResult
    public func acquireRead() throws -> LockAcquisition {
        _ = try core.acquireRead(deadline: .never, isTry: false)
        return LockAcquisition(previousWriterDied: core.previousWriterDied)
    }

    /// Acquires a read lock, or throws ``RWLockError/timedOut`` once `timeout` has passed on the
    /// monotonic clock. Signals neither shorten the wait nor end it early.
    @discardableResult
    public func acquireRead(timeout: Duration) throws -> LockAcquisition {
        _ = try core.acquireRead(deadline: Deadline(after: timeout), isTry: false)
        return LockAcquisition(previousWriterDied: core.previousWriterDied)
    }

    /// Acquires the write lock, waiting as long as it takes.
    ///
    /// - Throws: ``RWLockError/wouldDeadlock`` at once when the calling thread already holds the
    ///   write lock (it would wait for itself).
    @discardableResult
    public func acquireWrite() throws -> LockAcquisition {
        _ = try core.acquireWrite(deadline: .never, isTry: false)
        core.noteWriterThread()
        return LockAcquisition(previousWriterDied: core.previousWriterDied)
    }

    /// Acquires the write lock, or throws ``RWLockError/timedOut`` once `timeout` has passed.
    @discardableResult
    public func acquireWrite(timeout: Duration) throws -> LockAcquisition {
        _ = try core.acquireWrite(deadline: Deadline(after: timeout), isTry: false)
        core.noteWriterThread()
        return LockAcquisition(previousWriterDied: core.previousWriterDied)
    }

    /// Acquires a read lock if that is possible without waiting.
    public func tryAcquireRead() throws -> Bool {
        try core.acquireRead(deadline: .never, isTry: true)
    }

    /// Acquires the write lock if that is possible without waiting for other holders.
    public func tryAcquireWrite() throws -> Bool {
        guard try core.acquireWrite(deadline: .never, isTry: true) else { return false }
        core.noteWriterThread()
        return true
    }

    /// Releases what this instance holds: its write lock, else one of its read locks
    /// (Python prwlock's `release()`).
    ///
    /// Holds belong to the instance, not to a thread: any thread may release them. Where threads
    /// of one process share an instance for both reading and writing, use ``releaseRead()`` and
    /// ``releaseWrite()``, which say which hold they mean.
    ///
    /// - Throws: ``RWLockError/notHeld`` when it holds neither; the lock is left unchanged.
    public func release() throws {
        try core.release()
    }

    /// Releases one read hold of this instance.
    ///
    /// Prefer it to ``release()`` when one instance is used for reading and writing on several
    /// threads at once: `release()` releases the write hold first, whichever thread holds it.
    ///
    /// - Throws: ``RWLockError/notHeld`` when this instance holds no read lock.
    public func releaseRead() throws {
        try core.releaseRead()
    }

    /// Releases this instance's write hold.
    ///
    /// - Throws: ``RWLockError/notHeld`` when this instance does not hold the write lock.
    public func releaseWrite() throws {
        try core.releaseWrite()
    }

    /// Whether a writer died holding this lock and no writer has finished normally since.
    public var previousWriterDied: Bool { core.previousWriterDied }

    /// Whether this instance holds the write lock.
    public var isWriteLocked: Bool { core.holdsWrite }
}

// MARK: - Scoped access

extension RWLock {
    /// Runs `body` holding a read lock and returns its result. The lock is released however
    /// `body` ends.
    public func withReadLock<R, E: Error>(_ body: () throws(E) -> R) throws -> R {
        try acquireRead()
        return try finishRead(body)
    }

    /// Runs `body` holding a read lock acquired within `timeout`, or throws
    /// ``RWLockError/timedOut`` without running it.
    public func withReadLock<R, E: Error>(timeout: Duration, _ body: () throws(E) -> R) throws -> R {
        try acquireRead(timeout: timeout)
        return try finishRead(body)
    }

    /// Runs `body` holding the write lock and returns its result. The lock is released however
    /// `body` ends. Inside `body`, ``previousWriterDied`` tells whether to repair the data.
    public func withWriteLock<R, E: Error>(_ body: () throws(E) -> R) throws -> R {
        try acquireWrite()
        return try finishWrite(body)
    }

    /// Runs `body` holding the write lock acquired within `timeout`, or throws
    /// ``RWLockError/timedOut`` without running it.
    public func withWriteLock<R, E: Error>(timeout: Duration, _ body: () throws(E) -> R) throws -> R {
        try acquireWrite(timeout: timeout)
        return try finishWrite(body)
    }

    /// Runs `body` while a hold is had, then gives it up with `release` however `body` ends. The
    /// scoped forms (sync, async, upgradable) all end this way.
    func runHolding<R, E: Error>(_ body: () throws(E) -> R, release: () throws -> Void) throws -> R {
        let result: R
        do {
            result = try body()
        } catch {
            try? release()
            throw error
        }
        try release()
        return result
    }

    private func finishRead<R, E: Error>(_ body: () throws(E) -> R) throws -> R {
        try runHolding(body, release: releaseRead)
    }

    private func finishWrite<R, E: Error>(_ body: () throws(E) -> R) throws -> R {
        try runHolding(body, release: releaseWrite)
    }
}
