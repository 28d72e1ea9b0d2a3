/// A reader-writer lock shared by processes, whatever serves it: write application code once
/// against this protocol and run it on ``RWLock`` (shared memory, one machine) or on
/// `PostgresRWLock` (PostgreSQL advisory locks, any number of machines).
///
/// ```swift
/// func restock(_ lock: some ReaderWriterLock) async throws {
///     let count = try await lock.withReadLock { try await readStock() }
///     try await lock.withWriteLock(timeout: .seconds(1)) { try await writeStock(count + 1) }
/// }
/// ```
///
/// The requirements are the manual operations; the scoped forms
/// (``ReaderWriterLock/withReadLock(timeout:_:)``, ``ReaderWriterLock/withWriteLock(timeout:_:)``,
/// ``ReaderWriterLock/withReadLockIfAvailable(_:)``, ``ReaderWriterLock/withWriteLockIfAvailable(_:)``) are built on them once,
/// here, for every conforming lock.
///
/// What every conforming lock guarantees: many readers or one writer at a time, across processes
/// and the tasks of one process; a `timeout` is measured on a monotonic clock and a lock not
/// acquired by then throws ``RWLockError/timedOut`` with nothing held; a cancelled task stops
/// waiting with `CancellationError` and nothing held; holds belong to the lock instance, not to a
/// task, and must each be released once. What differs (how fast, what a holder's death does,
/// whether the next writer is told) is in each lock's documentation.
public protocol ReaderWriterLock: AnyObject, Sendable {
    /// Acquires a read lock, waiting at most `timeout` (`nil`: as long as it takes).
    nonisolated(nonsending) func acquireRead(timeout: Duration?) async throws -> LockAcquisition

    /// Acquires the write lock, waiting at most `timeout` (`nil`: as long as it takes).
    nonisolated(nonsending) func acquireWrite(timeout: Duration?) async throws -> LockAcquisition

    /// Acquires a read lock if that is possible without waiting; returns whether it did.
    nonisolated(nonsending) func tryAcquireRead() async throws -> Bool

    /// Acquires the write lock if that is possible without waiting; returns whether it did.
    nonisolated(nonsending) func tryAcquireWrite() async throws -> Bool

    /// Releases one read hold of this instance.
    nonisolated(nonsending) func releaseRead() async throws

    /// Releases this instance's write hold.
    nonisolated(nonsending) func releaseWrite() async throws
}

extension ReaderWriterLock {
    /// Runs `body` holding a read lock acquired within `timeout` (`nil`: as long as it takes),
    /// then releases it however `body` ends.
    ///
    /// `body` may await; the lock stays held while it is suspended, so keep it short.
    /// - Throws: ``RWLockError/timedOut`` (without running `body`), `CancellationError`, what
    ///   `body` throws, or, when `body` returned, the release's error
    ///   (``RWLockError/lockLost(_:)`` when the lock was lost while `body` ran). When both
    ///   `body` and the release fail, `body`'s error is thrown and the release's is dropped.
    public nonisolated(nonsending) func withReadLock<R>(
        timeout: Duration? = nil, _ body: () async throws -> R
    ) async throws -> R {
        _ = try await acquireRead(timeout: timeout)
        return try await holding(body, release: releaseRead)
    }

    /// Runs `body` holding the write lock acquired within `timeout` (`nil`: as long as it
    /// takes), then releases it however `body` ends.
    ///
    /// - Throws: as ``ReaderWriterLock/withReadLock(timeout:_:)``.
    public nonisolated(nonsending) func withWriteLock<R>(
        timeout: Duration? = nil, _ body: () async throws -> R
    ) async throws -> R {
        _ = try await acquireWrite(timeout: timeout)
        return try await holding(body, release: releaseWrite)
    }

    /// Runs `body` holding a read lock if one can be had without waiting; returns `nil`, without
    /// running `body`, if not.
    public nonisolated(nonsending) func withReadLockIfAvailable<R>(
        _ body: () async throws -> R
    ) async throws -> R? {
        guard try await tryAcquireRead() else { return nil }
        return try await holding(body, release: releaseRead)
    }

    /// Runs `body` holding the write lock if it can be had without waiting; returns `nil`,
    /// without running `body`, if not.
    public nonisolated(nonsending) func withWriteLockIfAvailable<R>(
        _ body: () async throws -> R
    ) async throws -> R? {
        guard try await tryAcquireWrite() else { return nil }
        return try await holding(body, release: releaseWrite)
    }

    /// Runs `body`, then `release` however it ends. When both fail, `body`'s error is the one
    /// thrown: it says what the caller's own work did.
    private nonisolated(nonsending) func holding<R>(
        _ body: () async throws -> R, release: nonisolated(nonsending) () async throws -> Void
    ) async throws -> R {
        let result: R
        do {
            result = try await body()
        } catch {
            try? await release()
            throw error
        }
        try await release()
        return result
    }
}

extension RWLock: ReaderWriterLock {}
