#if PostgreSQL
import Logging
import PRWLock
import PostgresNIO

/// A reader-writer lock served by PostgreSQL: the same API as `RWLock`'s async forms,
/// for processes on any number of machines that reach one database.
///
/// ```swift
/// import PRWLockPostgres
///
/// let lock = try await PostgresRWLock(name: "inventory", url: "postgres://app@127.0.0.1:5432/app")
/// try await lock.withReadLock { /* many readers at once, on any machine */ }
/// try await lock.withWriteLock(timeout: .seconds(1)) { /* one writer alone */ }
/// ```
///
/// It holds PostgreSQL's session-level advisory lock on one bigint key
/// (`pg_advisory_lock_shared` for readers, `pg_advisory_lock` for the writer) through a
/// connection of its own. What that gives:
/// - **Exclusion** between every session on the server, and between the tasks of this process
///   (they queue here, in arrival order, before the session asks the server).
/// - **Fairness**: PostgreSQL queues lock requests; a waiting writer holds back readers that ask
///   after it. Readers of this process join its read hold without asking the server; once the
///   hold is 10 ms old, the next reader first asks whether anyone waits for the lock there, and
///   if someone does, local readers queue until the hold has drained, so a writer waiting in
///   another process gets in after about 10 ms plus the longest local read. (A read body that
///   waits for another local reader to get in can then wait for ever, as with any lock that is
///   fair to writers.)
/// - **A holder's death**: the server ends a session whose client process died (its socket
///   closes) and drops its locks; the next waiter has the lock within milliseconds. Unlike
///   `RWLock`, nobody is told that a writer died mid-write
///   (`LockAcquisition.previousWriterDied` is always false): keep writes to the data
///   transactional, or check it.
/// - **Timeouts** end the wait on the server (`lock_timeout`), not only in this process; a
///   cancelled task's wait is cancelled on the server too (`pg_cancel_backend`). Neither leaves
///   a lock or a waiting request behind. The session turns off `statement_timeout` and
///   `idle_session_timeout` for itself, so that a role's or database's settings neither end an
///   untimed wait nor drop an idle hold.
/// - **A lost connection** (server restart, network failure) loses the lock: the server drops it
///   when the session ends. The release of a hold that was lost throws
///   `RWLockError.lockLost`, ``verifyHeld()`` asks at any time; the next
///   acquisition connects again.
///
/// Costs one round trip to the server per acquisition or release that reaches it (readers who
/// join a read hold this process already has do not): about a hundred microseconds on loopback,
/// against nanoseconds for `RWLock`. Call ``close()`` when done; an instance that is
/// simply dropped closes its connection too.
public final class PostgresRWLock: ReaderWriterLock {
    /// The advisory-lock key this lock uses on the server.
    public let key: PostgresLockKey

    /// The lock's name, when it was made from one.
    public let name: String?

    private let session: AdvisoryLockSession

    /// Opens the lock called `name` on the server at `url`, connecting at once so that a wrong
    /// URL, password or database fails here.
    ///
    /// - Parameters:
    ///   - name: The lock's name; every process that uses the same name and server shares the
    ///     lock. It maps to the key ``PostgresLockKey/init(name:)`` computes.
    ///   - url: `postgres://user[:password]@host[:port]/database[?sslmode=disable|prefer|require]`.
    ///   - logger: Where the lock reports a lost connection (a warning).
    /// - Throws: `RWLockError.invalidArgument` for a bad URL or an empty name;
    ///   `RWLockError.connectionFailed` when the server cannot be reached.
    public convenience init(name: String, url: String, logger: Logger? = nil) async throws {
        try await self.init(key: nil, name: name, configuration: ConnectionURL.configuration(from: url), logger: logger)
    }

    /// Opens the advisory lock with the given `key` on the server at `url`: for a lock shared
    /// with code that already uses that key.
    public convenience init(key: PostgresLockKey, url: String, logger: Logger? = nil) async throws {
        try await self.init(key: key, name: nil, configuration: ConnectionURL.configuration(from: url), logger: logger)
    }

    /// Opens the lock called `name` with a postgres-nio configuration (for TLS settings, a Unix
    /// socket, or options a URL cannot carry).
    public convenience init(name: String, configuration: PostgresConnection.Configuration, logger: Logger? = nil) async throws {
        try await self.init(key: nil, name: name, configuration: configuration, logger: logger)
    }

    /// The key given, or else the name's.
    private init(key: PostgresLockKey?, name: String?, configuration: PostgresConnection.Configuration, logger: Logger?) async throws {
        if let name, name.isEmpty {
            throw RWLockError.invalidArgument("a PostgresRWLock name may not be empty")
        }
        let key = key ?? PostgresLockKey(name: name ?? "")
        self.key = key
        self.name = name
        self.session = AdvisoryLockSession(
            key: key, configuration: configuration,
            logger: logger ?? .silent)
        _ = try await session.connected()
    }

    deinit {
        let session = self.session
        Task { await session.close() }
    }

    /// Closes the connection. The server drops whatever this instance held; waiting tasks get
    /// `RWLockError.connectionFailed`, and so do later acquisitions; the release
    /// of a hold had before throws `RWLockError.lockLost`.
    public func close() async {
        await session.close()
    }

    /// Checks with the server that this instance still holds the lock, or throws
    /// `RWLockError.lockLost`: call it before committing work that must not happen
    /// without the lock (a lost connection is otherwise only reported at the release).
    ///
    /// One round trip. The lock can still be lost right after it returns; when the protected
    /// data lives in the same database, write it in a transaction on a connection that also
    /// checks, or keep writes idempotent.
    /// - Throws: `RWLockError.notHeld` when this instance holds nothing.
    public nonisolated(nonsending) func verifyHeld() async throws {
        try await session.verifyHeld()
    }

    // MARK: ReaderWriterLock

    /// Acquires a read lock, waiting at most `timeout` (`nil`: as long as it takes).
    ///
    /// - Throws: `RWLockError.timedOut`, `CancellationError`,
    ///   `RWLockError.connectionFailed`; nothing is held after any of them.
    @discardableResult
    public nonisolated(nonsending) func acquireRead(timeout: Duration? = nil) async throws -> LockAcquisition {
        _ = try await session.acquire(.shared, deadline: timeout.map { .now + $0 }, isTry: false)
        return LockAcquisition(previousWriterDied: false)
    }

    /// Acquires the write lock, waiting at most `timeout` (`nil`: as long as it takes).
    ///
    /// - Throws: as ``acquireRead(timeout:)``.
    @discardableResult
    public nonisolated(nonsending) func acquireWrite(timeout: Duration? = nil) async throws -> LockAcquisition {
        _ = try await session.acquire(.exclusive, deadline: timeout.map { .now + $0 }, isTry: false)
        return LockAcquisition(previousWriterDied: false)
    }

    /// Acquires a read lock without waiting: by joining this process's read hold while it may be
    /// joined (nobody queued here, nobody waiting on the server), else if the server grants one
    /// at once (no writer holds it or waits for it).
    public nonisolated(nonsending) func tryAcquireRead() async throws -> Bool {
        try await session.acquire(.shared, deadline: nil, isTry: true)
    }

    /// Acquires the write lock if nobody holds it or is queued for it here and the server grants
    /// it at once.
    public nonisolated(nonsending) func tryAcquireWrite() async throws -> Bool {
        try await session.acquire(.exclusive, deadline: nil, isTry: true)
    }

    /// Releases one read hold of this instance.
    ///
    /// - Throws: `RWLockError.notHeld` when it holds no read lock;
    ///   `RWLockError.lockLost` when the hold was lost with the connection.
    public nonisolated(nonsending) func releaseRead() async throws {
        try await session.release(.shared)
    }

    /// Releases this instance's write hold.
    ///
    /// - Throws: as ``releaseRead()``.
    public nonisolated(nonsending) func releaseWrite() async throws {
        try await session.release(.exclusive)
    }
}
#endif
