/// What the other languages' layer (PRWLockC: the C library, and Python through it) needs beyond
/// the public API: acquisitions with one timeout argument and typed errors, so that a failed try
/// boxes no error and a C caller gets its return code without an allocation. They are inlinable
/// (and so is the uncontended path under them, down to SharedWords): each C export then contains
/// the whole fast path instead of calling across the module boundary, a call and return that
/// cost as much as a third of a read pair here.
extension RWLock {
    /// Acquires the read or write lock for a thread-bound caller.
    ///
    /// - Parameter timeoutNanoseconds: < 0 waits as long as it takes, 0 tries once, > 0 waits at
    ///   most that long on the monotonic clock.
    /// - Returns: whether a writer died holding the lock and no writer has finished since (the
    ///   owner-died notice); the lock is held either way.
    /// - Throws: ``RWLockError/timedOut`` when not had in time (a busy try too), and every error
    ///   of the public acquisitions; nothing is held then.
    @inlinable @inline(__always)
    package func acquire(write: Bool, timeoutNanoseconds: Int64) throws(RWLockError) -> Bool {
        let isTry = timeoutNanoseconds == 0
        // An autoclosure each: the clock is read only if the lock is not had at once.
        if write {
            guard try core.acquireWrite(deadline: Deadline(timeoutNanoseconds: timeoutNanoseconds), isTry: isTry) else { throw .timedOut }
            core.noteWriterThread()
        } else {
            guard try core.acquireRead(deadline: Deadline(timeoutNanoseconds: timeoutNanoseconds), isTry: isTry) else { throw .timedOut }
        }
        return core.previousWriterDied
    }

    /// ``release()`` with a typed error.
    @inlinable @inline(__always) package func releaseTyped() throws(RWLockError) { try core.release() }
    /// ``releaseRead()`` with a typed error.
    @inlinable @inline(__always) package func releaseReadTyped() throws(RWLockError) { try core.releaseRead() }
    /// ``releaseWrite()`` with a typed error.
    @inlinable @inline(__always) package func releaseWriteTyped() throws(RWLockError) { try core.releaseWrite() }

    /// How many processes this instance's death watcher has seen exit while its waiters waited
    /// for them (for tests: a death is meant to wake a wait at once, not at its next timed check).
    package var deathsSeenByWatcher: UInt32 { core.watcherDeaths }
}
