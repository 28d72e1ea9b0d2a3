#if canImport(Glibc)
import Glibc
#endif
import CPRWLockShim
import Logging

/// Liveness checks and recovery: "Death and recovery" in docs/DESIGN.md.
extension LockCore {
    /// Checks slot `slot`'s liveness token; if its owner is dead, clears everything it held.
    /// Returns true when it cleared something.
    func recoverIfDead(_ slot: Int) throws(RWLockError) -> Bool {
        try withSlowPath { () throws(RWLockError) -> Bool in
            guard let me = fastSlot, slot != me else { return false }
            let token = binding.pointee.token_fd
            let result = cprwlock_ofd_trylock(token, Int64(slot))
            if result == EAGAIN || result == EACCES { return false }  // its owner is alive
            guard result == 0 else { throw .system(operation: "fcntl(F_OFD_SETLK)", errno: result) }
            // We hold the slot lock: no live process owns the slot, and no other recoverer runs.
            defer { _ = cprwlock_ofd_unlock(token, Int64(slot)) }
            guard slotHasState(slot) else { return false }
            CrashPoint.reach(.recoverySlotLocked)
            let pid = cprwlock_load32(words.pid(slot))
            let wasWriting = LockWord.owner(cprwlock_load32(words.lock)) == UInt32(slot + 1) && cprwlock_load32(words.holdsWrite(slot)) != 0
            let readers = ReaderWord.count(cprwlock_load32(words.readers(slot)))
            clear(slot, recovering: true)
            logger?.warning("prwlock: recovered the lock from a dead process", metadata: [
                "pid": "\(pid)", "slot": "\(slot)", "heldWrite": "\(wasWriting)", "readHolds": "\(readers)",
            ])
            return true
        }
    }

    /// Whether a slot whose slot lock we hold has anything to clear: an attached owner (who must
    /// be dead), or leftovers that only a corrupt segment can have.
    private func slotHasState(_ slot: Int) -> Bool {
        if cprwlock_load32(words.state(slot)) != 0 { return true }
        let word = cprwlock_load32(words.lock)
        if LockWord.owner(word) == UInt32(slot + 1) || LockWord.upgrader(word) == UInt32(slot + 1) { return true }
        if cprwlock_load64(words.bitmapWord(slot / 64)) & (UInt64(1) << UInt64(slot % 64)) != 0 { return true }
        if words.isInReadersSet(slot) { return true }
        return cprwlock_load32(words.readers(slot)) != 0 || cprwlock_load32(words.waitingReaders(slot)) != 0
    }

    /// Recovery steps 1–4. The caller holds slot `slot`'s slot lock (or is its owner, detaching).
    /// `recovering` marks the crash points of recovery (attach and detach clear slots too).
    func clear(_ slot: Int, recovering: Bool = false) {
        var word = cprwlock_load32(words.lock)
        if LockWord.owner(word) == UInt32(slot + 1) {
            if cprwlock_load32(words.holdsWrite(slot)) != 0 {
                cprwlock_store32(words.ownerDied, 1)  // before W is released: the next writer sees it
            }
            repairReadersSet()
            if recovering { CrashPoint.reach(.recoveryRepairedSet) }
            while LockWord.owner(word) == UInt32(slot + 1) {
                // Another writer's NEXT stays; the dead slot's own NEXT goes with its OWNER.
                let next = LockWord.upgrader(word) == UInt32(slot + 1) ? 0 : word & LockWord.upgraderMask
                if cprwlock_cas32(words.lock, &word, next) {
                    if word & LockWord.readersSleeping != 0 { wakeReaders() }
                    break
                }
            }
        }
        // Its NEXT: an upgradable hold, or a place as the next writer (whoever owns W now).
        while LockWord.upgrader(word) == UInt32(slot + 1) && LockWord.owner(word) != UInt32(slot + 1) {
            if cprwlock_cas32(words.lock, &word, word & ~LockWord.upgraderMask) { break }
        }
        if recovering { CrashPoint.reach(.recoveryWriterCleared) }
        cprwlock_store32(words.readers(slot), 0)
        cprwlock_store32(words.waitingReaders(slot), 0)
        cprwlock_store32(words.waitingWriters(slot), 0)
        cprwlock_store32(words.holdsWrite(slot), 0)
        cprwlock_store32(words.holdsUpgradable(slot), 0)
        words.removeFromReadersSet(slot)  // after its words are 0: the invariant holds throughout
        if recovering { CrashPoint.reach(.recoveryReadersCleared) }
        words.clearAttached(slot)
        if recovering { CrashPoint.reach(.recoveryDetached) }
        cprwlock_store32(words.pid(slot), 0)
        cprwlock_store32(words.pidNamespace(slot), 0)
        cprwlock_store32(words.outerPID(slot), 0)
        cprwlock_store32(words.state(slot), 0)
        wakeWriters()
    }

    /// C1's repair: an owner of W that died inside a revocation (between V2 and V3) may have left
    /// a slot with readers, or a bias, out of the readers set. Before its W is released, every
    /// such slot goes back in; a slot put back needlessly only costs writers a look.
    private func repairReadersSet() {
        // The queue count before R, as in V3 and for the same reason.
        for slot in 0..<words.slotCount
        where cprwlock_load32(words.waitingReaders(slot)) != 0 || cprwlock_load32(words.readers(slot)) != 0 {
            words.addToReadersSet(slot)
        }
        // A death inside V4 (summary bit cleared, re-check not done).
        for index in 0..<words.bitmapWordsInUse where cprwlock_load64(words.readersSetWord(index)) != 0 {
            words.markInSummary(word: index)
        }
    }

    /// The writer in the way and, when `queued` says there are some, the slots with queued readers.
    func blockingSlots(owner: Int?, queued: Int?) -> [Int] {
        var slots = owner.map { [$0] } ?? []
        if queued != nil {
            slots += words.slotsInReadersSet().filter { cprwlock_load32(words.waitingReaders($0)) != 0 }
        }
        return slots
    }

    /// The slots of the readers set with read holds.
    func busyReaderSlots() -> [Int] {
        words.slotsInReadersSet().filter { ReaderWord.count(cprwlock_load32(words.readers($0))) != 0 }
    }

    /// Checks the writer in the way and the slots with queued readers.
    func recoverDeadBlockers(owner: Int?, queued: Int?) throws(RWLockError) -> Bool {
        try recoverIfDead(anyOf: blockingSlots(owner: owner, queued: queued))
    }

    /// Checks every slot that has readers.
    func recoverDeadReaders() throws(RWLockError) -> Bool {
        try recoverIfDead(anyOf: busyReaderSlots())
    }

    private func recoverIfDead(anyOf slots: [Int]) throws(RWLockError) -> Bool {
        var recovered = false
        for slot in slots { recovered = try recoverIfDead(slot) || recovered }
        return recovered
    }
}

extension LockCore {
    /// Logs a wait that took longer than `slowAcquisitionNanoseconds` (debug level), whether it
    /// ended in the lock, a timeout or an error.
    func logIfSlow(_ mode: String, since start: Int64) {
        guard let logger else { return }
        let waited = Deadline.now() - start
        if waited > Self.slowAcquisitionNanoseconds {
            logger.debug("prwlock: slow \(mode) acquisition", metadata: ["waitedMilliseconds": "\(waited / 1_000_000)"])
        }
    }
}
