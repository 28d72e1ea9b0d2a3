import CPRWLockShim

/// Pointers to the words of a mapped segment. This is the one place that turns offsets into
/// pointers; everything above it works with these typed accessors.
///
/// Slot numbers passed here come from this process (its own slot, a loop over `slotCount`)
/// or from `slot(fromOwner:)`/`attachedSlots`, which check values read from shared memory
/// against `slotCount` before they are used.
@usableFromInline struct SharedWords: @unchecked Sendable {
    // @unchecked: a plain pointer into a MAP_SHARED mapping that lives as long as the
    // `MappedSegment` owning it; all access to the words is atomic.
    @usableFromInline let base: UnsafeMutableRawPointer
    @usableFromInline let slotCount: Int

    init(base: UnsafeMutableRawPointer, geometry: SegmentGeometry) {
        self.base = base
        self.slotCount = geometry.slotCount
    }

    @inline(__always)
    @inlinable func word(_ offset: Int) -> UnsafeMutablePointer<UInt32> {
        (base + offset).assumingMemoryBound(to: UInt32.self)
    }

    /// W, the lock word (futex).
    @inlinable var lock: UnsafeMutablePointer<UInt32> { word(SegmentLayout.lockWordOffset) }
    /// E, the writer event word (futex).
    @inlinable var event: UnsafeMutablePointer<UInt32> { word(SegmentLayout.eventWordOffset) }
    /// 1 while the previous writer died holding the lock.
    @inlinable var ownerDied: UnsafeMutablePointer<UInt32> { word(SegmentLayout.ownerDiedOffset) }

    @inline(__always)
    @inlinable func slotWord(_ slot: Int, _ field: Int) -> UnsafeMutablePointer<UInt32> {
        precondition(slot >= 0 && slot < slotCount, "slot index out of range")
        return word(SegmentLayout.slotsOffset + slot * SegmentLayout.slotStride + field)
    }

    @inlinable @inline(__always) func readers(_ slot: Int) -> UnsafeMutablePointer<UInt32> { slotWord(slot, SegmentLayout.readersField) }
    @inlinable @inline(__always) func waitingReaders(_ slot: Int) -> UnsafeMutablePointer<UInt32> { slotWord(slot, SegmentLayout.waitingReadersField) }
    @inlinable @inline(__always) func waitingWriters(_ slot: Int) -> UnsafeMutablePointer<UInt32> { slotWord(slot, SegmentLayout.waitingWritersField) }
    @inlinable @inline(__always) func holdsWrite(_ slot: Int) -> UnsafeMutablePointer<UInt32> { slotWord(slot, SegmentLayout.holdsWriteField) }
    @inlinable @inline(__always) func state(_ slot: Int) -> UnsafeMutablePointer<UInt32> { slotWord(slot, SegmentLayout.stateField) }
    @inlinable @inline(__always) func pid(_ slot: Int) -> UnsafeMutablePointer<UInt32> { slotWord(slot, SegmentLayout.pidField) }
    @inlinable @inline(__always) func holdsUpgradable(_ slot: Int) -> UnsafeMutablePointer<UInt32> { slotWord(slot, SegmentLayout.holdsUpgradableField) }
    func pidNamespace(_ slot: Int) -> UnsafeMutablePointer<UInt32> { slotWord(slot, SegmentLayout.pidNamespaceField) }
    func outerPID(_ slot: Int) -> UnsafeMutablePointer<UInt32> { slotWord(slot, SegmentLayout.outerPIDField) }

    /// Word `index` of the attached bitmap (bit s of word s / 64: slot s has an owner).
    @inline(__always)
    @inlinable func bitmapWord(_ index: Int) -> UnsafeMutablePointer<UInt64> {
        (base + SegmentLayout.bitmapOffset + index * 8).assumingMemoryBound(to: UInt64.self)
    }

    /// Word `index` of the readers set (bit s of word s / 64: slot s may have readers).
    @inline(__always)
    @inlinable func readersSetWord(_ index: Int) -> UnsafeMutablePointer<UInt64> {
        (base + SegmentLayout.readersSetOffset + index * 8).assumingMemoryBound(to: UInt64.self)
    }

    @inlinable var bitmapWordsInUse: Int { (slotCount + 63) / 64 }

    /// The writer's slot recorded in a lock word, checked against `slotCount`.
    /// Returns nil when no writer owns it; throws when the value cannot be a slot.
    @inline(__always)
    func slot(fromOwner word: UInt32) throws(RWLockError) -> Int? {
        try slot(plusOne: LockWord.owner(word), role: "writer")
    }

    /// A slot number stored as slot + 1 (0: none), checked against `slotCount`.
    @inline(__always)
    private func slot(plusOne value: UInt32, role: String) throws(RWLockError) -> Int? {
        if value == 0 { return nil }
        let slot = Int(value) - 1
        guard slot < slotCount else {
            throw .corruptSegment("lock word names \(role) slot \(slot), but the lock has \(slotCount) slots")
        }
        return slot
    }

    /// The upgradable holder's slot recorded in a lock word, checked against `slotCount`.
    func slot(fromUpgrader word: UInt32) throws(RWLockError) -> Int? {
        try slot(plusOne: LockWord.upgrader(word), role: "upgradable")
    }

    /// The summary of the readers set (bit i: word i of the set may be non-zero).
    @inlinable var readersSummary: UnsafeMutablePointer<UInt64> {
        (base + SegmentLayout.readersSummaryOffset).assumingMemoryBound(to: UInt64.self)
    }

    /// The first attached slot for which `predicate` holds. Bits at or beyond `slotCount` are
    /// masked off, so every slot produced is in range.
    @inline(__always)
    @inlinable func firstAttachedSlot(where predicate: (Int) -> Bool) -> Int? {
        firstSlot(in: SegmentLayout.bitmapOffset, words: (UInt64(1) << UInt64(bitmapWordsInUse)) &- 1, where: predicate)
    }

    /// The first slot of the readers set for which `predicate` holds (writers look only here):
    /// the summary first, then only the words it flags. Bits at or beyond `slotCount` (and
    /// summary bits beyond the words in use) are masked off, so every slot produced is in range.
    @inline(__always)
    @inlinable func firstSlotInReadersSet(where predicate: (Int) -> Bool) -> Int? {
        let flagged = cprwlock_load64(readersSummary) & ((UInt64(1) << UInt64(bitmapWordsInUse)) &- 1)
        if flagged == 0 { return nil }
        return firstSlot(in: SegmentLayout.readersSetOffset, words: flagged, where: predicate)
    }

    /// Walks the bitmap at `bitmapOffset`, only the words whose bits are set in `words`.
    @inline(__always)
    @inlinable func firstSlot(in bitmapOffset: Int, words: UInt64, where predicate: (Int) -> Bool) -> Int? {
        var remaining = words
        while remaining != 0 {
            let index = remaining.trailingZeroBitCount
            remaining &= remaining &- 1
            var bits = cprwlock_load64((base + bitmapOffset + index * 8).assumingMemoryBound(to: UInt64.self))
            let validBits = slotCount - index * 64
            if validBits < 64 { bits &= (UInt64(1) << UInt64(validBits)) &- 1 }
            while bits != 0 {
                let slot = index * 64 + bits.trailingZeroBitCount
                if predicate(slot) { return slot }
                bits &= bits &- 1
            }
        }
        return nil
    }

    /// Every attached slot (slow paths only: it allocates).
    func attachedSlots() -> [Int] {
        var slots: [Int] = []
        _ = firstAttachedSlot(where: { slots.append($0); return false })
        return slots
    }

    /// The slots of the readers set (slow paths only: it allocates).
    func slotsInReadersSet() -> [Int] {
        var slots: [Int] = []
        _ = firstSlotInReadersSet(where: { slots.append($0); return false })
        return slots
    }

    @inline(__always)
    @inlinable func isInReadersSet(_ slot: Int) -> Bool {
        cprwlock_load64(readersSetWord(slot / 64)) & (UInt64(1) << UInt64(slot % 64)) != 0
    }

    /// B1 (and V3, and the repair): the slot's bit, then its word's summary bit.
    @usableFromInline func addToReadersSet(_ slot: Int) {
        _ = cprwlock_fetch_or64(readersSetWord(slot / 64), UInt64(1) << UInt64(slot % 64))
        markInSummary(word: slot / 64)
    }

    func markInSummary(word index: Int) {
        let bit = UInt64(1) << UInt64(index)
        if cprwlock_load64(readersSummary) & bit == 0 { _ = cprwlock_fetch_or64(readersSummary, bit) }
    }

    /// Takes the slot's bit out (its summary bit stays; only the owner of W clears those, V4).
    /// Returns whether the word is now empty.
    @discardableResult
    func removeFromReadersSet(_ slot: Int) -> Bool {
        let bit = UInt64(1) << UInt64(slot % 64)
        return cprwlock_fetch_and64(readersSetWord(slot / 64), ~bit) & ~bit == 0
    }

    func setAttached(_ slot: Int) {
        _ = cprwlock_fetch_or64(bitmapWord(slot / 64), UInt64(1) << UInt64(slot % 64))
    }

    func clearAttached(_ slot: Int) {
        _ = cprwlock_fetch_and64(bitmapWord(slot / 64), ~(UInt64(1) << UInt64(slot % 64)))
    }
}
