/// Upgradable holds: read now, maybe write later, with no writer in between.
///
/// An upgradable hold shares the lock with readers but excludes writers and other upgradable
/// holders (at most one at a time). ``upgrade(timeout:)`` turns it into the write lock as soon as
/// the readers have left — no other writer can get in first — and ``downgrade()`` turns a write
/// hold into a read hold atomically. A plain read hold cannot be upgraded: two readers upgrading
/// at once would wait for each other forever.
///
/// ```swift
/// try lock.withUpgradableLock {
///     if try needsChange() {
///         try lock.upgrade(timeout: .seconds(1))
///         try change()
///     }
/// }
/// ```
extension RWLock {
    /// Takes the upgradable hold, waiting as long as it takes.
    public func acquireUpgradable() throws {
        _ = try core.acquireUpgradable(deadline: .never, isTry: false)
    }

    /// Takes the upgradable hold, or throws ``RWLockError/timedOut`` once `timeout` has passed.
    public func acquireUpgradable(timeout: Duration) throws {
        _ = try core.acquireUpgradable(deadline: Deadline(after: timeout), isTry: false)
    }

    /// Takes the upgradable hold if no writer or upgradable holder is in the way.
    public func tryAcquireUpgradable() throws -> Bool {
        try core.acquireUpgradable(deadline: .never, isTry: true)
    }

    /// Turns this instance's upgradable hold into the write lock, waiting for readers to leave.
    ///
    /// - Throws: ``RWLockError/notUpgradable`` without an upgradable hold;
    ///   ``RWLockError/timedOut`` (still holding the upgradable lock) if the readers stay too long.
    @discardableResult
    public func upgrade(timeout: Duration? = nil) throws -> LockAcquisition {
        try core.upgrade(deadline: timeout.map { Deadline(after: $0) } ?? .never)
        core.noteWriterThread()
        return LockAcquisition(previousWriterDied: core.previousWriterDied)
    }

    /// Turns this instance's write hold into a read hold, atomically: waiting readers enter, and
    /// no writer can get in before this read hold is released.
    public func downgrade() throws {
        try core.downgrade()
    }

    /// Releases this instance's upgradable hold (when it has not upgraded).
    public func releaseUpgradable() throws {
        try core.releaseUpgradable()
    }

    /// Runs `body` holding the upgradable lock; the body may ``upgrade(timeout:)`` and
    /// ``downgrade()``. Whatever the body ends up holding is released when it returns.
    public func withUpgradableLock<R, E: Error>(timeout: Duration? = nil, _ body: () throws(E) -> R) throws -> R {
        if let timeout { try acquireUpgradable(timeout: timeout) } else { try acquireUpgradable() }
        return try runHolding(body, release: release)
    }
}
