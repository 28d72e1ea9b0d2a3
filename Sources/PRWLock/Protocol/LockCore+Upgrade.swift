#if canImport(Glibc)
import Glibc
#endif
import CPRWLockShim

/// Upgradable holds, upgrade and downgrade: "Upgradable holds" in docs/DESIGN.md.
///
/// The upgradable holder is recorded in W's UPGRADER bits (NEXT: a writer waiting to write next
/// uses the same bits; the slot's holdsUpgradable flag says which). Readers ignore them (they look
/// at OWNER only), so it shares the lock with readers; writers claim only from W == 0 or from
/// NEXT == themselves, so no writer can come between the upgradable holder and its upgrade.
extension LockCore {
    /// U1: wait until W has neither owner nor upgrader, then set UPGRADER = me+1.
    func acquireUpgradable(deadline: Deadline, isTry: Bool) throws(RWLockError) -> Bool {
        let me = try currentSlot()
        var clock = WaitClock(deadline: deadline, core: self)
        defer { clock.stopWatching() }
        var checkedOnce = false
        func blocker(_ word: UInt32) throws(RWLockError) -> Int? {
            if LockWord.isMalformed(word) {
                throw .corruptSegment("lock word 0x\(String(word, radix: 16)) has flags set but no writer")
            }
            if let owner = try words.slot(fromOwner: word) { return owner }
            return try words.slot(fromUpgrader: word)
        }
        while true {
            let word = cprwlock_load32(words.lock)
            guard let holder = try blocker(word) else {
                var expected = word
                if cprwlock_cas32(words.lock, &expected, word | LockWord.upgraderBits(me)) {
                    cprwlock_store32(words.holdsUpgradable(me), 1)
                    return true
                }
                continue
            }
            if isTry {
                if !checkedOnce, try recoverIfDead(holder) {
                    checkedOnce = true
                    continue
                }
                return false
            }
            let event = prepareToWaitOnEvent()
            if try blocker(cprwlock_load32(words.lock)) == nil { continue }
            switch clock.sleep(on: words.event, expecting: event) {
            case .again:
                continue
            case .checkLiveness:
                _ = try clock.checkLiveness(of: [holder])
            case .deadlinePassed:
                if try recoverIfDead(holder) { continue }
                throw .timedOut
            case .cancelled:
                throw .cancelled
            }
        }
    }

    /// U2: from an upgradable hold, claim OWNER as well (no writer can have it: writers need W == 0)
    /// and drain the readers. Giving up keeps the upgradable hold.
    func upgrade(deadline: Deadline) throws(RWLockError) {
        guard let me = fastSlot else { throw .notUpgradable }
        var word = cprwlock_load32(words.lock)
        while true {
            guard LockWord.upgrader(word) == UInt32(me + 1), LockWord.owner(word) == 0,
                  cprwlock_load32(words.holdsUpgradable(me)) != 0
            else { throw .notUpgradable }
            if cprwlock_cas32(words.lock, &word, word | UInt32(me + 1)) { break }
        }
        var clock = WaitClock(deadline: deadline, core: self)
        defer { clock.stopWatching() }
        _ = try drain(me, clock: &clock, isTry: false, upgrading: true)
    }

    /// U3: write → read without a gap: publish the read hold, then release W (and the upgradable
    /// hold an upgrade came from). A writer that claims W afterwards must drain this read.
    func downgrade() throws(RWLockError) {
        guard let me = fastSlot, LockWord.owner(cprwlock_load32(words.lock)) == UInt32(me + 1),
              cprwlock_load32(words.holdsWrite(me)) == 1
        else { throw .notHeld }
        // In the readers set before W is given up, so that the next writer sees this read.
        if cprwlock_fetch_add32(words.readers(me), 1) & ReaderWord.biased == 0 { bias(me) }
        guard releaseWrite(me) else {
            // Another thread of ours released the write hold meanwhile: undo the read.
            _ = cprwlock_fetch_sub32(words.readers(me), 1)
            throw .notHeld
        }
    }

    /// U4: clear UPGRADER if it is our upgradable hold and no upgrade is under way.
    @usableFromInline func releaseUpgradable(_ me: Int) -> Bool {
        guard cprwlock_exchange32(words.holdsUpgradable(me), 0) != 0 else { return false }
        var word = cprwlock_load32(words.lock)
        while LockWord.upgrader(word) == UInt32(me + 1) && LockWord.owner(word) == 0 {
            if cprwlock_cas32(words.lock, &word, word & ~LockWord.upgraderMask) {
                wakeWriters()
                return true
            }
        }
        cprwlock_store32(words.holdsUpgradable(me), 1)  // an upgrade is under way: still held
        return false
    }

    func releaseUpgradable() throws(RWLockError) {
        guard let me = fastSlot, releaseUpgradable(me) else { throw .notHeld }
    }
}
