#if canImport(Glibc)
import Glibc
#endif
import CPRWLockShim

/// Read acquire and release: R1–R7 and RR1–RR2 of docs/DESIGN.md, and the bias (B1–B2).
extension LockCore {
    /// R1–R3: publish in our own slot, then look for a writer. A slot in the readers set
    /// (BIASED) enters at once; otherwise R4 joins the set first. On failure the publication is
    /// undone (and a draining writer woken if our slot became empty).
    @inline(__always)
    @inlinable func tryEnterRead(_ me: Int) -> Bool {
        let previous = cprwlock_fetch_add32(words.readers(me), 1)
        CrashPoint.reach(.readPublished)
        let word = cprwlock_load32(words.lock)
        // One comparison for "BIASED and the count below the limit": without BIASED the
        // subtraction wraps to 2^31 or more.
        if LockWord.owner(word) == 0 && previous &- ReaderWord.biased < Self.maximumReadHolds {
            CrashPoint.reach(.readGranted)
            return true
        }
        return tryEnterReadUnbiased(me, previous: previous, word: word)
    }

    /// R4–R5, out of line: the slot was not BIASED (a writer revoked it, or it never read), or a
    /// writer was in the way. Joins the readers set and looks at W again; else backs off.
    @inline(never)
    @usableFromInline func tryEnterReadUnbiased(_ me: Int, previous: UInt32, word: UInt32) -> Bool {
        if LockWord.owner(word) == 0 && previous & ReaderWord.biased == 0 && ReaderWord.count(previous) < Self.maximumReadHolds {
            bias(me)
            // R4: a writer that claims W after this load scans a set that has our slot in it.
            if LockWord.owner(cprwlock_load32(words.lock)) == 0 {
                CrashPoint.reach(.readGranted)
                return true
            }
        }
        let left = ReaderWord.count(cprwlock_fetch_sub32(words.readers(me), 1)) - 1
        CrashPoint.reach(.readBackedOff)
        if left == 0 && LockWord.owner(cprwlock_load32(words.lock)) != 0 { wakeWriters() }
        return false
    }

    /// B1–B2: put our slot in the readers set, then mark the slot BIASED. The order keeps the
    /// invariant "BIASED implies the slot's bit in the set" (docs/DESIGN.md, "The readers set").
    func bias(_ me: Int) {
        words.addToReadersSet(me)
        CrashPoint.reach(.readJoinedSet)
        _ = cprwlock_fetch_or32(words.readers(me), ReaderWord.biased)
    }

    /// The deadline is made only when the lock is not had at once (see acquireWrite).
    @inlinable @inline(__always)
    func acquireRead(deadline: @autoclosure () -> Deadline, isTry: Bool) throws(RWLockError) -> Bool {
        if let me = fastSlot, tryEnterRead(me) { return true }
        return try acquireReadSlow(deadline: deadline(), isTry: isTry)
    }

    @inline(never)
    @usableFromInline func acquireReadSlow(deadline: Deadline, isTry: Bool) throws(RWLockError) -> Bool {
        let me = try currentSlot()
        if tryEnterRead(me) { return true }  // the first attempt of a child that just re-attached
        try checkReadHoldLimit(me)
        if !isTry { try checkNotWaitingForItself(until: deadline) }
        if isTry {
            // One liveness check of the writer in the way, so that callers who only ever try are
            // not locked out forever by a dead writer.
            if let owner = try words.slot(fromOwner: cprwlock_load32(words.lock)), try recoverIfDead(owner) {
                return tryEnterRead(me)
            }
            return false
        }
        // R6: queue. Writers defer to queued readers for one reader phase after each write, and
        // they look for queued readers in the readers set only: be in it (a revoker that took
        // BIASED away before this load re-adds the slot when it sees our queue count, V3).
        _ = cprwlock_fetch_add32(words.waitingReaders(me), 1)
        CrashPoint.reach(.readQueued)
        if cprwlock_load32(words.readers(me)) & ReaderWord.biased == 0 { bias(me) }
        let started = Deadline.now()
        defer {
            _ = cprwlock_fetch_sub32(words.waitingReaders(me), 1)
            wakeWriters()  // a writer may be deferring to this reader
            logIfSlow("read", since: started)
        }
        var clock = WaitClock(deadline: deadline, core: self)
        defer { clock.stopWatching() }
        while true {
            var word = cprwlock_load32(words.lock)
            guard let owner = try words.slot(fromOwner: word) else {
                if tryEnterRead(me) { return true }
                try checkReadHoldLimit(me)
                continue
            }
            if word & LockWord.readersSleeping == 0 {
                var expected = word
                guard cprwlock_cas32(words.lock, &expected, word | LockWord.readersSleeping) else { continue }
                word |= LockWord.readersSleeping
            }
            CrashPoint.reach(.readSleeping)
            switch clock.sleep(on: words.lock, expecting: word) {
            case .again:
                continue
            case .checkLiveness:
                _ = try clock.checkLiveness(of: [owner])
            case .deadlinePassed:
                if try recoverIfDead(owner) { continue }
                throw .timedOut
            case .cancelled:
                throw .cancelled
            }
        }
    }

    private func checkReadHoldLimit(_ me: Int) throws(RWLockError) {
        if ReaderWord.count(cprwlock_load32(words.readers(me))) >= Self.maximumReadHolds {
            throw .tooManyReaders(limit: Int(Self.maximumReadHolds))
        }
    }

    /// RR1–RR2. Refuses to go below zero: a release without a read hold throws and changes nothing.
    /// BIASED stays: the slot stays in the readers set until a writer finds it idle (V1).
    @inlinable @inline(__always)
    func releaseRead() throws(RWLockError) {
        guard let me = fastSlot else { throw .notHeld }  // a forked child inherits no holds
        try releaseRead(me)
    }

    @inline(__always)
    @inlinable func releaseRead(_ me: Int) throws(RWLockError) {
        let readers = words.readers(me)
        var current = cprwlock_load32_relaxed(readers)
        repeat {
            if ReaderWord.count(current) == 0 { throw .notHeld }
        } while !cprwlock_cas32(readers, &current, current - 1)
        CrashPoint.reach(.readReleased)
        if ReaderWord.count(current) == 1 && LockWord.owner(cprwlock_load32(words.lock)) != 0 {
            wakeWriters()  // a writer may be draining
        }
    }

    /// Releases this participant's write hold if it has one, else its upgradable hold, else one of
    /// its read holds.
    @inlinable @inline(__always)
    func release() throws(RWLockError) {
        guard let me = fastSlot else { throw .notHeld }  // a forked child inherits no holds
        let word = cprwlock_load32_relaxed(words.lock)
        if LockWord.owner(word) == UInt32(me + 1), releaseWrite(me) { return }
        if LockWord.upgrader(word) == UInt32(me + 1), releaseUpgradable(me) { return }
        try releaseRead(me)
    }
}
