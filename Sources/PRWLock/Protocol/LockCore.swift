#if canImport(Glibc)
import Glibc
#endif
import CPRWLockShim
import Synchronization

/// One participant of a shared lock: the protocol of docs/DESIGN.md run against one mapped
/// segment from one process. `RWLock` is its public face.
///
/// The fast paths (`tryEnterRead`, `tryEnterWrite`, `releaseRead`, `releaseWrite`) touch only
/// shared words and the process-private binding; everything that may sleep, recover a dead
/// participant or attach is out of line.
final class LockCore: @unchecked Sendable {
    // @unchecked: `binding` is process-private C memory whose `slot` is read atomically on every
    // operation and written only under `slowPath` (or by the atfork child handler, when only one
    // thread exists); everything else is immutable or lives in the shared segment.
    let segment: MappedSegment
    let words: SharedWords
    private let binding: UnsafeMutablePointer<cprwlock_binding>
    private let bindingSlot: UnsafeMutablePointer<UInt32>
    /// Serialises attaching and recovery inside this process (its threads share one token
    /// description, so the kernel's slot lock does not exclude them from each other).
    private let slowPath = Mutex(())

    /// A wait is cut into slices this long; after each, the waiter checks whom it waits for.
    static let waitSliceNanoseconds: Int64 = 5_000_000
    /// The most read holds one participant may have at once.
    static let maximumReadHolds: UInt32 = 1 << 30

    init(segment: MappedSegment) throws(RWLockError) {
        guard let binding = cprwlock_binding_create() else {
            throw .system(operation: "malloc", errno: ENOMEM)
        }
        self.segment = segment
        self.words = segment.words
        self.binding = binding
        self.bindingSlot = UnsafeMutableRawPointer(binding)
            .advanced(by: MemoryLayout<cprwlock_binding>.offset(of: \cprwlock_binding.slot)!)
            .assumingMemoryBound(to: UInt32.self)
        // Every stored property is set, so if attaching throws, deinit runs and frees the binding.
        try slowPath.withLock { _ throws(RWLockError) in try attachLocked() }
    }

    deinit {
        slowPath.withLock { _ in detachLocked() }
        cprwlock_binding_destroy(binding)
    }

    // MARK: - Own slot

    /// This participant's slot, or nil in a forked child that has not re-attached yet (the atfork
    /// handler invalidated the slot it inherited). One relaxed load: the fast paths' only check.
    @inline(__always)
    var fastSlot: Int? {
        let slot = cprwlock_load32_relaxed(bindingSlot)
        return slot < UInt32(truncatingIfNeeded: words.slotCount) ? Int(slot) : nil
    }

    /// This participant's slot; attaches afresh in a forked child.
    func currentSlot() throws(RWLockError) -> Int {
        if let slot = fastSlot { return slot }
        return try reattach()
    }

    @inline(never)
    private func reattach() throws(RWLockError) -> Int {
        try slowPath.withLock { _ throws(RWLockError) in
            let slot = cprwlock_load32(bindingSlot)
            if slot < UInt32(words.slotCount) { return Int(slot) }
            try attachLocked()
            return Int(cprwlock_load32(bindingSlot))
        }
    }

    var tokenDescriptor: Int32 { binding.pointee.token_fd }

    /// The slot this process uses, if attached (for status and tests).
    var attachedSlot: Int? {
        let slot = cprwlock_load32(bindingSlot)
        return slot < UInt32(words.slotCount) ? Int(slot) : nil
    }

    // MARK: - Read

    /// R1–R3: publish, then look for a writer. Returns false when the slow path must run.
    @inline(__always)
    func tryEnterRead(_ me: Int) -> Bool {
        let previous = cprwlock_fetch_add32(words.readers(me), 1)
        if LockWord.owner(cprwlock_load32(words.lock)) == 0 && previous < Self.maximumReadHolds {
            return true
        }
        backOffRead(me)
        return false
    }

    /// Undoes a publication; wakes a draining writer when the slot became empty.
    @inline(__always)
    private func backOffRead(_ me: Int) {
        let previous = cprwlock_fetch_sub32(words.readers(me), 1)
        if previous == 1 && LockWord.owner(cprwlock_load32(words.lock)) != 0 {
            wakeWriters()
        }
    }

    @inline(__always)
    func acquireRead(deadline: Deadline, isTry: Bool) throws(RWLockError) -> Bool {
        if let me = fastSlot, tryEnterRead(me) { return true }
        return try acquireReadSlow(deadline: deadline, isTry: isTry)
    }

    @inline(never)
    private func acquireReadSlow(deadline: Deadline, isTry: Bool) throws(RWLockError) -> Bool {
        let me = try currentSlot()
        if tryEnterRead(me) { return true }  // first attempt in a child that just re-attached
        if cprwlock_load32(words.readers(me)) >= Self.maximumReadHolds {
            throw .tooManyReaders(limit: Int(Self.maximumReadHolds))
        }
        if isTry {
            // One liveness check of the writer in the way, so try-only users never see a dead
            // writer's lock as held forever.
            if let owner = try words.slot(fromOwner: cprwlock_load32(words.lock)), try recoverIfDead(owner) {
                return tryEnterRead(me)
            }
            return false
        }
        _ = cprwlock_fetch_add32(words.waitingReaders(me), 1)
        defer {
            _ = cprwlock_fetch_sub32(words.waitingReaders(me), 1)
            wakeWriters()  // a writer may be deferring to this waiting reader
        }
        while true {
            var word = cprwlock_load32(words.lock)
            guard let owner = try words.slot(fromOwner: word) else {
                if tryEnterRead(me) { return true }
                continue
            }
            if word & LockWord.readersSleeping == 0 {
                var expected = word
                guard cprwlock_cas32(words.lock, &expected, word | LockWord.readersSleeping) else { continue }
                word |= LockWord.readersSleeping
            }
            let now = Deadline.now()
            if deadline.hasPassed(now: now) {
                if try recoverIfDead(owner) { continue }
                throw .timedOut
            }
            let result = cprwlock_futex_wait(words.lock, word, deadline.sliceEnd(slice: Self.waitSliceNanoseconds, now: now))
            if result == ETIMEDOUT { _ = try recoverIfDead(owner) }
        }
    }

    /// RR1–RR2. Refuses to go below zero, so a release without a hold throws and changes nothing.
    @inline(__always)
    func releaseRead(_ me: Int) throws(RWLockError) {
        let readers = words.readers(me)
        var current = cprwlock_load32_relaxed(readers)
        repeat {
            if current == 0 { throw .notHeld }
        } while !cprwlock_cas32(readers, &current, current - 1)
        if current == 1 && LockWord.owner(cprwlock_load32(words.lock)) != 0 {
            wakeWriters()
        }
    }

    // MARK: - Write

    /// W1–W4 without waiting. Returns nil when the slow path must run, with `claimed` telling
    /// whether this participant now owns W (and must drain).
    @inline(__always)
    private func tryEnterWrite(_ me: Int) -> (granted: Bool, claimed: Bool) {
        if words.firstAttachedSlot(where: { cprwlock_load32(words.waitingReaders($0)) != 0 }) != nil {
            return (false, false)
        }
        var expected: UInt32 = 0
        guard cprwlock_cas32(words.lock, &expected, UInt32(me + 1)) else { return (false, false) }
        if words.firstAttachedSlot(where: { cprwlock_load32(words.readers($0)) != 0 }) != nil {
            return (false, true)
        }
        cprwlock_store32_release(words.holdsWrite(me), 1)
        return (true, true)
    }

    @inline(__always)
    func acquireWrite(deadline: Deadline, isTry: Bool) throws(RWLockError) -> Bool {
        if let me = fastSlot {
            let attempt = tryEnterWrite(me)
            if attempt.granted { return true }
            return try acquireWriteSlow(me, claimed: attempt.claimed, deadline: deadline, isTry: isTry)
        }
        return try acquireWriteSlow(currentSlot(), claimed: false, deadline: deadline, isTry: isTry)
    }

    @inline(never)
    private func acquireWriteSlow(_ me: Int, claimed: Bool, deadline: Deadline, isTry: Bool) throws(RWLockError) -> Bool {
        if claimed { return try drain(me, deadline: deadline, isTry: isTry) }
        _ = cprwlock_fetch_add32(words.waitingWriters(me), 1)
        defer { _ = cprwlock_fetch_sub32(words.waitingWriters(me), 1) }
        var checkedOnce = false
        // Claim: wait until no writer owns W and no reader queued behind the last writer.
        while true {
            let owner = try words.slot(fromOwner: cprwlock_load32(words.lock))
            let queuedReader = words.firstAttachedSlot(where: { cprwlock_load32(words.waitingReaders($0)) != 0 })
            if owner == nil && queuedReader == nil {
                var expected: UInt32 = 0
                if cprwlock_cas32(words.lock, &expected, UInt32(me + 1)) { break }
                continue
            }
            if isTry {
                if !checkedOnce, try recoverDeadBlockers(owner: owner, queuedReader: queuedReader) {
                    checkedOnce = true
                    continue
                }
                return false
            }
            let event = prepareToWaitOnEvent()
            // Re-check after announcing ourselves: a change from now on bumps E.
            if LockWord.owner(cprwlock_load32(words.lock)) == 0,
               words.firstAttachedSlot(where: { cprwlock_load32(words.waitingReaders($0)) != 0 }) == nil {
                continue
            }
            let now = Deadline.now()
            if deadline.hasPassed(now: now) {
                if try recoverDeadBlockers(owner: owner, queuedReader: queuedReader) { continue }
                throw .timedOut
            }
            let result = cprwlock_futex_wait(words.event, event, deadline.sliceEnd(slice: Self.waitSliceNanoseconds, now: now))
            if result == ETIMEDOUT { _ = try recoverDeadBlockers(owner: owner, queuedReader: queuedReader) }
        }
        return try drain(me, deadline: deadline, isTry: isTry)
    }

    private func recoverDeadBlockers(owner: Int?, queuedReader: Int?) throws(RWLockError) -> Bool {
        var recovered = false
        if let owner { recovered = try recoverIfDead(owner) || recovered }
        if queuedReader != nil {
            for slot in words.attachedSlots() where cprwlock_load32(words.waitingReaders(slot)) != 0 {
                recovered = try recoverIfDead(slot) || recovered
            }
        }
        return recovered
    }

    /// W3 with waiting: this participant has claimed W; wait until every slot has no readers.
    @inline(never)
    private func drain(_ me: Int, deadline: Deadline, isTry: Bool) throws(RWLockError) -> Bool {
        var checkedOnce = false
        while true {
            guard words.firstAttachedSlot(where: { cprwlock_load32(words.readers($0)) != 0 }) != nil else {
                cprwlock_store32_release(words.holdsWrite(me), 1)
                return true
            }
            if isTry {
                if !checkedOnce, try recoverDeadReaders() {
                    checkedOnce = true
                    continue
                }
                abandonClaim(me)
                return false
            }
            let event = prepareToWaitOnEvent()
            if words.firstAttachedSlot(where: { cprwlock_load32(words.readers($0)) != 0 }) == nil { continue }
            let now = Deadline.now()
            if deadline.hasPassed(now: now) {
                if try recoverDeadReaders() { continue }
                abandonClaim(me)
                throw .timedOut
            }
            let result = cprwlock_futex_wait(words.event, event, deadline.sliceEnd(slice: Self.waitSliceNanoseconds, now: now))
            if result == ETIMEDOUT { _ = try recoverDeadReaders() }
        }
    }

    private func recoverDeadReaders() throws(RWLockError) -> Bool {
        var recovered = false
        for slot in words.attachedSlots() where cprwlock_load32(words.readers(slot)) != 0 {
            recovered = try recoverIfDead(slot) || recovered
        }
        return recovered
    }

    /// Gives up a claim (write release, timeout, or a try that found readers): readers that
    /// queued behind it are woken, never stranded.
    @inline(__always)
    private func abandonClaim(_ me: Int) {
        var word = cprwlock_load32_relaxed(words.lock)
        while LockWord.owner(word) == UInt32(me + 1) {
            if cprwlock_cas32(words.lock, &word, 0) {
                if word & LockWord.readersSleeping != 0 { wakeReaders() }
                break
            }
        }
        wakeWriters()
    }

    @inline(never)
    private func wakeReaders() { _ = cprwlock_futex_wake_all(words.lock) }

    /// WR1–WR5. Returns false when this participant holds no write lock.
    @inline(__always)
    func releaseWrite(_ me: Int) -> Bool {
        guard LockWord.owner(cprwlock_load32_relaxed(words.lock)) == UInt32(me + 1),
              cprwlock_exchange32(words.holdsWrite(me), 0) == 1
        else { return false }
        if cprwlock_load32_relaxed(words.ownerDied) != 0 {
            cprwlock_store32(words.ownerDied, 0)  // this writer was told and finished normally
        }
        abandonClaim(me)
        return true
    }

    /// Releases this participant's write hold, else one of its read holds. The fast path is a
    /// read release that leaves readers behind or finds no writer waiting.
    @inline(__always)
    func release() throws(RWLockError) {
        if let me = fastSlot {
            if LockWord.owner(cprwlock_load32_relaxed(words.lock)) == UInt32(me + 1) {
                if releaseWrite(me) { return }
            } else {
                let readers = words.readers(me)
                var current = cprwlock_load32_relaxed(readers)
                if current != 0 && cprwlock_cas32(readers, &current, current - 1) {
                    if current == 1 && LockWord.owner(cprwlock_load32(words.lock)) != 0 { wakeWriters() }
                    return
                }
            }
        }
        try releaseSlow()
    }

    @inline(never)
    private func releaseSlow() throws(RWLockError) {
        let me = try currentSlot()
        if releaseWrite(me) { return }
        try releaseRead(me)
    }

    /// Whether this participant holds the write lock.
    var holdsWrite: Bool {
        guard let me = attachedSlot else { return false }
        return LockWord.owner(cprwlock_load32(words.lock)) == UInt32(me + 1) && cprwlock_load32(words.holdsWrite(me)) == 1
    }

    var previousWriterDied: Bool { cprwlock_load32(words.ownerDied) != 0 }

    // MARK: - Waking writers

    /// Sets WRITERS_SLEEPING in E and returns the value to sleep on.
    private func prepareToWaitOnEvent() -> UInt32 {
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
    func wakeWriters() {
        let event = cprwlock_load32(words.event)
        if event & EventWord.writersSleeping != 0 { wakeSleepingWriters(event) }
    }

    @inline(never)
    private func wakeSleepingWriters(_ seen: UInt32) {
        var event = seen
        while event & EventWord.writersSleeping != 0 {
            if cprwlock_cas32(words.event, &event, (event &+ EventWord.increment) & ~EventWord.writersSleeping) {
                _ = cprwlock_futex_wake_all(words.event)
                return
            }
        }
    }

    // MARK: - Liveness and recovery

    /// Checks slot `slot`'s liveness token; if its owner is dead, clears everything it held.
    /// Returns true when it recovered the slot.
    func recoverIfDead(_ slot: Int) throws(RWLockError) -> Bool {
        try slowPath.withLock { _ throws(RWLockError) -> Bool in
            guard let me = attachedSlot, slot != me else { return false }
            let token = binding.pointee.token_fd
            let result = cprwlock_ofd_trylock(token, Int64(slot))
            if result == EAGAIN || result == EACCES { return false }  // its owner is alive
            guard result == 0 else { throw .system(operation: "fcntl(F_OFD_SETLK)", errno: result) }
            defer { _ = cprwlock_ofd_unlock(token, Int64(slot)) }
            guard cprwlock_load32(words.state(slot)) != 0 else { return false }
            clear(slot)
            return true
        }
    }

    /// Recovery steps 1–4 of DESIGN.md. The caller holds slot `slot`'s slot lock.
    private func clear(_ slot: Int) {
        var word = cprwlock_load32(words.lock)
        if LockWord.owner(word) == UInt32(slot + 1) {
            if cprwlock_load32(words.holdsWrite(slot)) != 0 {
                cprwlock_store32(words.ownerDied, 1)  // before W is released: the next writer sees it
            }
            while LockWord.owner(word) == UInt32(slot + 1) {
                if cprwlock_cas32(words.lock, &word, 0) {
                    if word & LockWord.readersSleeping != 0 { _ = cprwlock_futex_wake_all(words.lock) }
                    break
                }
            }
        }
        cprwlock_store32(words.readers(slot), 0)
        cprwlock_store32(words.waitingReaders(slot), 0)
        cprwlock_store32(words.waitingWriters(slot), 0)
        cprwlock_store32(words.holdsWrite(slot), 0)
        words.clearAttached(slot)
        cprwlock_store32(words.pid(slot), 0)
        cprwlock_store32(words.state(slot), 0)
        wakeWriters()
    }

    // MARK: - Attach and detach

    private func attachLocked() throws(RWLockError) {
        let token = cprwlock_binding_open_token(binding, segment.fd)
        guard token >= 0 else { throw .system(operation: "open(/proc/self/fd/\(segment.fd))", errno: -token) }
        // Free slots first; then attached ones, whose owners may be dead.
        for wantFree in [true, false] {
            for slot in 0..<words.slotCount where (cprwlock_load32(words.state(slot)) == 0) == wantFree {
                let result = cprwlock_ofd_trylock(token, Int64(slot))
                if result == EAGAIN || result == EACCES { continue }
                guard result == 0 else {
                    _ = cprwlock_binding_close_token(binding)
                    throw .system(operation: "fcntl(F_OFD_SETLK)", errno: result)
                }
                if cprwlock_load32(words.state(slot)) != 0 { clear(slot) }  // its owner died
                cprwlock_store32(words.pid(slot), UInt32(bitPattern: getpid()))
                cprwlock_store32(words.state(slot), 1)
                words.setAttached(slot)
                cprwlock_store32(bindingSlot, UInt32(slot))
                return
            }
        }
        _ = cprwlock_binding_close_token(binding)
        throw .tooManyProcesses(limit: words.slotCount)
    }

    private func detachLocked() {
        let slot = cprwlock_load32(bindingSlot)
        if slot < UInt32(words.slotCount) {
            clear(Int(slot))  // a hold still open is abandoned as a death would abandon it
            cprwlock_store32(bindingSlot, CPRWLOCK_NO_SLOT)
        }
        _ = cprwlock_binding_close_token(binding)
    }
}
