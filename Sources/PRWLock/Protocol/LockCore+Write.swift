#if canImport(Glibc)
import Glibc
#endif
import CPRWLockShim
import Synchronization

/// Write acquire and release: W1–W4 and WR1–WR5 of docs/DESIGN.md, and waking writers.
extension LockCore {
    /// W1–W4 without waiting. `claimed` tells whether this participant now owns W and must
    /// drain the readers.
    @inline(__always)
    @inlinable func tryEnterWrite(_ me: Int) -> (granted: Bool, claimed: Bool) {
        if queuedReaderSlot() != nil { return (false, false) }
        var expected: UInt32 = 0
        guard cprwlock_cas32(words.lock, &expected, UInt32(me + 1)) else { return (false, false) }
        CrashPoint.reach(.writeClaimed)
        var visited = 0
        if busyReaderSlot(visited: &visited) != nil { return (false, true) }
        CrashPoint.reach(.writeDrained)
        if visited > Self.revocationThreshold { revokeIdleReaders(me) }
        // The caller's writes to the protected data must not become visible before this flag:
        // recovery reads it to decide whether a dead writer may have left the data half-written.
        cprwlock_store32_before_later_stores(words.holdsWrite(me), 1)
        CrashPoint.reach(.writeHolding)
        return (true, true)
    }

    /// The first slot of the readers set with a queued reader (every queued reader's slot is in
    /// the set: R6).
    @inline(__always)
    @inlinable func queuedReaderSlot() -> Int? {
        words.firstSlotInReadersSet(where: { cprwlock_load32(words.waitingReaders($0)) != 0 })
    }

    /// The first slot of the readers set with a read hold (every holder's slot is in the set:
    /// R3/R4); `visited` counts the slots looked at.
    @inline(__always)
    @inlinable func busyReaderSlot(visited: inout Int) -> Int? {
        words.firstSlotInReadersSet(where: {
            visited &+= 1
            return ReaderWord.count(cprwlock_load32(words.readers($0))) != 0
        })
    }

    @inline(__always)
    @inlinable func busyReaderSlot() -> Int? {
        var visited = 0
        return busyReaderSlot(visited: &visited)
    }

    /// V1–V3: called by the owner of W, drained, when its scan of the readers set visited more
    /// than `revocationThreshold` slots: every idle slot but ours leaves the set, so processes
    /// that read once and went idle cost later writers nothing. A slot's next reader joins again
    /// (R4). Only the owner of W revokes, so revocations never overlap.
    @inline(never)
    @usableFromInline func revokeIdleReaders(_ me: Int) {
        _ = words.firstSlotInReadersSet(where: { slot in
            guard slot != me else { return false }
            // V1: BIASED out, only if the count is 0 (a reader that published since keeps it).
            var expected = ReaderWord.biased
            guard cprwlock_cas32(words.readers(slot), &expected, 0) else { return false }
            CrashPoint.reach(.writeRevoking)
            let wordEmptied = words.removeFromReadersSet(slot)  // V2
            CrashPoint.reach(.writeRevoked)
            // V3: a reader of that slot that published or queued, or biased again, between V1
            // and V2 may have found its bit still set and not set it again: put it back. The
            // queue count first, then R (found by SPIN: R first misses a queued reader that sets
            // BIASED after the R load and leaves the queue before the count's load). A queued
            // reader runs queue → load R → join → … → leave the queue: a count of 0 here means
            // it has not queued yet (it will join after V2 by itself) or has left (its BIASED is
            // then visible to the load of R that follows).
            if cprwlock_load32(words.waitingReaders(slot)) != 0 || cprwlock_load32(words.readers(slot)) != 0 {
                words.addToReadersSet(slot)
            } else if wordEmptied {
                clearSummaryBit(word: slot / 64)
            }
            return false
        })
    }

    /// V4: the word is empty, so its summary bit goes; a reader that joined the word meanwhile
    /// may have seen the summary bit still set and left it: re-check the word, put the bit back.
    func clearSummaryBit(word index: Int) {
        let bit = UInt64(1) << UInt64(index)
        _ = cprwlock_fetch_and64(words.readersSummary, ~bit)
        CrashPoint.reach(.writeSummaryCleared)
        if cprwlock_load64(words.readersSetWord(index)) != 0 { _ = cprwlock_fetch_or64(words.readersSummary, bit) }
    }

    /// The deadline is made only when the lock is not had at once: an uncontended timed
    /// acquisition reads no clock.
    @inlinable @inline(__always)
    func acquireWrite(deadline: @autoclosure () -> Deadline, isTry: Bool) throws(RWLockError) -> Bool {
        if let me = fastSlot {
            let attempt = tryEnterWrite(me)
            if attempt.granted { return true }
            return try acquireWriteSlow(me, claimed: attempt.claimed, deadline: deadline(), isTry: isTry)
        }
        return try acquireWriteSlow(currentSlot(), claimed: false, deadline: deadline(), isTry: isTry)
    }

    @inline(never)
    @usableFromInline func acquireWriteSlow(_ me: Int, claimed: Bool, deadline: Deadline, isTry: Bool) throws(RWLockError) -> Bool {
        var clock = WaitClock(deadline: deadline, core: self)
        defer { clock.stopWatching() }
        if claimed { return try drain(me, clock: &clock, isTry: isTry) }
        if !isTry { try checkNotWaitingForItself(until: deadline) }
        _ = cprwlock_fetch_add32(words.waitingWriters(me), 1)
        CrashPoint.reach(.writeQueued)
        let started = Deadline.now()
        defer {
            _ = cprwlock_fetch_sub32(words.waitingWriters(me), 1)
            logIfSlow("write", since: started)
        }
        var deferringSince: Int64?
        var phaseEndChecked = false
        var checkedOnce = false
        // WS1: as soon as NEXT is free, a waiting writer takes it (CAS), and from then on no other
        // writer can claim before it: fast-path claims need W == 0 and other waiters wait for
        // NEXT. WS2: the writer that is NEXT claims when the owner has released and no reader is
        // queued behind that owner (for at most one reader phase; a try neither takes NEXT nor
        // defers). NEXT shares W's bits with the upgradable holder (UPGRADER); the slot's
        // holdsUpgradable flag tells them apart.
        var isNext = false
        defer { if isNext { abandonNext(me) } }  // a way out without the lock (claiming clears it)
        func blockers() throws(RWLockError) -> (word: UInt32, owner: Int?, queued: Int?) {
            let word = cprwlock_load32(words.lock)
            if LockWord.isMalformed(word) {
                throw .corruptSegment("lock word 0x\(String(word, radix: 16)) has flags set but no writer")
            }
            let owner = try words.slot(fromOwner: word)
            let next = try words.slot(fromUpgrader: word)
            if isNext && next != me { isNext = false }  // recovery or our own upgraded release cleared it
            if owner != nil { return (word, owner, nil) }
            if let next, next != me || !isNext { return (word, next, nil) }  // an upgradable holder or another NEXT
            guard !isTry, let queued = queuedReaderSlot() else { return (word, nil, nil) }
            let now = Deadline.now()
            let since = deferringSince ?? now
            deferringSince = since
            if now - since < Self.readerPhaseNanoseconds { return (word, nil, queued) }
            if !phaseEndChecked {
                // Readers still queued after a whole phase may be dead: a dead queued reader would
                // otherwise cost every later writer a phase, and it is recovered only here.
                phaseEndChecked = true
                _ = try recoverDeadBlockers(owner: nil, queued: queued)
            }
            return (word, nil, nil)
        }
        while true {
            let (word, owner, queued) = try blockers()
            if owner == nil && queued == nil {
                // Claim: from W == 0, or from NEXT == us (clearing it in the same CAS).
                var expected = isNext ? word : 0
                if cprwlock_cas32(words.lock, &expected, UInt32(me + 1)) {
                    isNext = false
                    CrashPoint.reach(.writeClaimed)
                    break
                }
                continue
            }
            if isTry {
                if !checkedOnce, try recoverDeadBlockers(owner: owner, queued: queued) {
                    checkedOnce = true
                    continue
                }
                return false
            }
            if !isNext && LockWord.upgrader(word) == 0 {
                var expected = word
                if cprwlock_cas32(words.lock, &expected, word | LockWord.upgraderBits(me)) {
                    isNext = true
                    CrashPoint.reach(.writeNext)
                }
                continue
            }
            let event = prepareToWaitOnEvent()
            // Re-check after announcing ourselves: every change from now on bumps E.
            let again = try blockers()
            if again.owner == nil && again.queued == nil { continue }
            if !isNext && LockWord.upgrader(again.word) == 0 { continue }
            // The phase bounds the sleep only while this writer defers to queued readers: past
            // its end, a writer waiting for another writer must sleep, not spin (found by SPIN).
            let phaseEnd = again.queued != nil ? (deferringSince ?? 0) &+ Self.readerPhaseNanoseconds : .max
            CrashPoint.reach(.writeSleeping)
            switch clock.sleep(on: words.event, expecting: event, wakeBy: phaseEnd) {
            case .again:
                continue
            case .checkLiveness:
                _ = try clock.checkLiveness(of: blockingSlots(owner: again.owner, queued: again.queued))
            case .deadlinePassed:
                if try recoverDeadBlockers(owner: again.owner, queued: again.queued) { continue }
                throw .timedOut
            case .cancelled:
                throw .cancelled
            }
        }
        return try drain(me, clock: &clock, isTry: isTry)
    }

    /// W3 with waiting: this participant has claimed W; wait until no attached slot has readers.
    /// Every way out but success gives the claim up, so queued readers are never stranded (an
    /// upgrade that gives up keeps its upgradable hold).
    func drain(_ me: Int, clock: inout WaitClock, isTry: Bool, upgrading: Bool = false) throws(RWLockError) -> Bool {
        do throws(RWLockError) {
            var checkedOnce = false
            while true {
                var visited = 0
                if busyReaderSlot(visited: &visited) == nil {
                    CrashPoint.reach(.writeDrained)
                    if visited > Self.revocationThreshold { revokeIdleReaders(me) }
                    cprwlock_store32_before_later_stores(words.holdsWrite(me), 1)
                    CrashPoint.reach(.writeHolding)
                    return true
                }
                if isTry {
                    if !checkedOnce, try recoverDeadReaders() {
                        checkedOnce = true
                        continue
                    }
                    abandonClaim(me, keepingUpgrader: upgrading)
                    return false
                }
                let event = prepareToWaitOnEvent()
                if busyReaderSlot() == nil { continue }
                CrashPoint.reach(.writeSleeping)
                switch clock.sleep(on: words.event, expecting: event) {
                case .again:
                    continue
                case .checkLiveness:
                    _ = try clock.checkLiveness(of: busyReaderSlots())
                case .deadlinePassed:
                    if try recoverDeadReaders() { continue }
                    throw RWLockError.timedOut
                case .cancelled:
                    throw RWLockError.cancelled
                }
            }
        } catch {
            abandonClaim(me, keepingUpgrader: upgrading)
            throw error
        }
    }

    /// WR1–WR5. Returns false when this participant holds no write lock. Of threads of ours
    /// racing to release the one hold, only the one whose CAS gives W up returns true. WR2 is a
    /// plain (release) store, not an exchange: a write pair costs two atomic read-modify-writes,
    /// as pthread's does.
    @inline(__always)
    @inlinable func releaseWrite(_ me: Int) -> Bool {
        guard LockWord.owner(cprwlock_load32_relaxed(words.lock)) == UInt32(me + 1),
              cprwlock_load32_relaxed(words.holdsWrite(me)) == 1
        else { return false }
        cprwlock_store32_after_earlier_accesses(words.holdsWrite(me), 0)
        writerThread.store(0, ordering: .relaxed)  // before W is given up: the next holder records itself
        CrashPoint.reach(.writeReleaseFlagCleared)
        if cprwlock_load32_relaxed(words.ownerDied) != 0 {
            cprwlock_store32(words.ownerDied, 0)  // this writer was told at acquisition and finished
        }
        CrashPoint.reach(.writeReleaseNoticeCleared)
        return abandonClaim(me)
    }

    /// Releases the write hold, or throws `notHeld`.
    @inlinable @inline(__always)
    func releaseWrite() throws(RWLockError) {
        guard let me = fastSlot, releaseWrite(me) else { throw .notHeld }
    }

    /// Gives up W (write release, timeout, a try that found readers): readers that queued behind
    /// it are woken, and so are writers. `keepingUpgrader` keeps the upgradable hold (an upgrade
    /// that gave up); otherwise W becomes 0, which also ends an upgraded holder's upgradable hold.
    /// Returns whether this call gave W up (false: it was not ours, or another thread of ours
    /// gave it up first). NEXT stays when it is another writer's (or one of our threads' waiting
    /// to write); it goes with the write hold of an upgraded holder.
    @inline(__always)
    @discardableResult
    @inlinable func abandonClaim(_ me: Int, keepingUpgrader: Bool = false) -> Bool {
        var word = cprwlock_load32_relaxed(words.lock)
        var released = false
        let endsUpgradable = !keepingUpgrader && LockWord.upgrader(word) == UInt32(me + 1) && cprwlock_load32_relaxed(words.holdsUpgradable(me)) != 0
        if endsUpgradable { cprwlock_store32(words.holdsUpgradable(me), 0) }
        while LockWord.owner(word) == UInt32(me + 1) {
            if cprwlock_cas32(words.lock, &word, endsUpgradable ? 0 : word & LockWord.upgraderMask) {
                CrashPoint.reach(.writeReleaseReleased)
                if word & LockWord.readersSleeping != 0 { wakeReaders() }
                released = true
                break
            }
        }
        wakeWriters()
        return released
    }

    /// WN: a writer that was NEXT leaves without the lock (timeout, cancellation, an error): NEXT
    /// is freed for the writers waiting behind it.
    func abandonNext(_ me: Int) {
        // NEXT == us here is ours as the next writer: an upgradable hold of ours would have kept
        // us from taking it, and only one thread of a participant can take it.
        var word = cprwlock_load32(words.lock)
        while LockWord.upgrader(word) == UInt32(me + 1) {
            if cprwlock_cas32(words.lock, &word, word & ~LockWord.upgraderMask) {
                CrashPoint.reach(.writeNextAbandoned)
                break
            }
        }
        wakeWriters()
    }

    @inline(never)
    @usableFromInline func wakeReaders() { _ = cprwlock_futex_wake_all(words.lock) }

    /// Wakes every thread sleeping in this lock (they re-check and sleep again), so that one
    /// whose cancellation flag was just raised notices it.
    func interruptWaiters() {
        _ = cprwlock_futex_wake_all(words.lock)
        _ = cprwlock_futex_wake_all(words.event)
    }

    // MARK: - Waking writers

    /// Sets WRITERS_SLEEPING in E and returns the value to sleep on.
    func prepareToWaitOnEvent() -> UInt32 {
        var event = cprwlock_load32(words.event)
        while event & EventWord.writersSleeping == 0 {
            if cprwlock_cas32(words.event, &event, event | EventWord.writersSleeping) {
                return event | EventWord.writersSleeping
            }
        }
        return event
    }

    /// Bumps E and wakes every sleeping writer, only when one announced it sleeps.
    @inline(__always)
    @inlinable func wakeWriters() {
        let event = cprwlock_load32(words.event)
        if event & EventWord.writersSleeping != 0 { wakeSleepingWriters(event) }
    }

    @inline(never)
    @usableFromInline func wakeSleepingWriters(_ seen: UInt32) {
        var event = seen
        while event & EventWord.writersSleeping != 0 {
            if cprwlock_cas32(words.event, &event, (event &+ EventWord.increment) & ~EventWord.writersSleeping) {
                _ = cprwlock_futex_wake_all(words.event)
                return
            }
        }
    }

    /// Whether this participant holds the write lock.
    var holdsWrite: Bool {
        guard let me = fastSlot else { return false }
        return LockWord.owner(cprwlock_load32(words.lock)) == UInt32(me + 1) && cprwlock_load32(words.holdsWrite(me)) == 1
    }

    @inlinable
    var previousWriterDied: Bool { cprwlock_load32(words.ownerDied) != 0 }
}
