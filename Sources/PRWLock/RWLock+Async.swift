/// Async acquisition: the same operations, without blocking a thread of the cooperative pool.
///
/// A task that cannot take the lock at once waits as a suspended continuation; one dedicated
/// thread per `RWLock` does the blocking waits for all of them, in arrival order. Cancelling the
/// task ends its wait promptly with `CancellationError` and leaves no hold behind.
///
/// The bodies of these scoped forms are synchronous, the cheapest and most common case: a lock
/// held across an `await` stays held while the task is suspended. A body that must await uses
/// the ``ReaderWriterLock`` protocol's scoped forms, which `RWLock` has too (holds belong to the
/// instance, so the release may run on another thread); keep such bodies short.
extension RWLock {
    private func waitAsync(_ mode: AsyncWaiters.Mode, timeout: Duration?) async throws -> LockAcquisition {
        try Task.checkCancellation()
        // Fast path, in the calling task: an uncontended lock is taken without any hand-off.
        let taken = mode == .read ? try core.acquireRead(deadline: .never, isTry: true) : try core.acquireWrite(deadline: .never, isTry: true)
        if taken { return LockAcquisition(previousWriterDied: core.previousWriterDied) }
        let deadline = timeout.map { Deadline(after: $0).nanoseconds } ?? Deadline.never.nanoseconds
        return try await asyncWaiters.acquire(mode, deadline: deadline)
    }

    /// Acquires a read lock, suspending (not blocking) the task while it waits.
    @discardableResult
    public func acquireRead(timeout: Duration? = nil) async throws -> LockAcquisition {
        try await waitAsync(.read, timeout: timeout)
    }

    /// Acquires the write lock, suspending (not blocking) the task while it waits.
    @discardableResult
    public func acquireWrite(timeout: Duration? = nil) async throws -> LockAcquisition {
        try await waitAsync(.write, timeout: timeout)
    }

    /// Runs the synchronous `body` holding a read lock; waits without blocking a thread.
    public func withReadLock<R, E: Error>(timeout: Duration? = nil, _ body: () throws(E) -> R) async throws -> R {
        _ = try await waitAsync(.read, timeout: timeout)
        return try runHolding(body, release: releaseRead)
    }

    /// Runs the synchronous `body` holding the write lock; waits without blocking a thread.
    public func withWriteLock<R, E: Error>(timeout: Duration? = nil, _ body: () throws(E) -> R) async throws -> R {
        _ = try await waitAsync(.write, timeout: timeout)
        return try runHolding(body, release: releaseWrite)
    }
}
