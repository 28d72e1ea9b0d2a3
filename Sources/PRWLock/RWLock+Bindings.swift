/// What the other languages' layer (PRWLockC: the C library, and Python through it) needs beyond
/// the public API: acquisitions with one timeout argument and typed errors, so that a failed try
/// boxes no error and a C caller gets its return code without an allocation.
extension RWLock {
    /// Acquires the read or write lock for a thread-bound caller.
    ///
    /// - Parameter timeoutNanoseconds: < 0 waits as long as it takes, 0 tries once, > 0 waits at
    ///   most that long on the monotonic clock.
    /// - Returns: whether a writer died holding the lock and no writer has finished since (the
    ///   owner-died notice); the lock is held either way.
    /// - Throws: ``RWLockError/timedOut`` when not had in time (a busy try too), and every error
    ///   of the public acquisitions; nothing is held then.
    package func acquire(write: Bool, timeoutNanoseconds: Int64) throws(RWLockError) -> Bool {
        let isTry = timeoutNanoseconds == 0
        let deadline = timeoutNanoseconds > 0 ? Deadline(after: .nanoseconds(timeoutNanoseconds)) : .never
        if write {
            guard try core.acquireWrite(deadline: deadline, isTry: isTry) else { throw .timedOut }
            core.noteWriterThread()
        } else {
            guard try core.acquireRead(deadline: deadline, isTry: isTry) else { throw .timedOut }
        }
        return core.previousWriterDied
    }

    /// ``release()``, ``releaseRead()`` and ``releaseWrite()`` with typed errors.
    package func release(write: Bool?) throws(RWLockError) {
        switch write {
        case nil: try core.release()
        case true?: try core.releaseWrite()
        case false?: try core.releaseRead()
        }
    }
}
