import CPRWLockShim

/// The version-2 layout of a lock's shared memory. `docs/DESIGN.md` has the same table.
///
/// Everything here is arithmetic on offsets; `SharedWords` turns offsets into pointers.
@usableFromInline enum SegmentLayout {
    /// "PRWLOCK1", read as a native-endian 64-bit integer.
    static let magic: UInt64 = 0x314B_434F_4C57_5250
    /// 2 since protocol 2 (the readers set). A segment of another version is refused: two
    /// protocols cannot share one lock.
    static let version: UInt32 = 2
    static let lineSize = 64
    static let headerSize = 64

    // Header fields.
    static let magicOffset = 0
    static let versionOffset = 8
    static let headerSizeOffset = 12
    static let slotCountOffset = 16
    static let slotStrideOffset = 20
    static let totalSizeOffset = 24
    static let slotsOffsetOffset = 32
    static let sharedMemoryOffsetOffset = 40
    static let sharedMemorySizeOffset = 48

    // The lock's words, each on its own line (see DESIGN.md, "Shared-memory layout").
    @usableFromInline static let lockWordOffset = 64
    @usableFromInline static let ownerDiedOffset = 68
    @usableFromInline static let eventWordOffset = 128
    @usableFromInline static let bitmapOffset = 192
    static let bitmapWordCount = 16
    /// The readers set: bit s set when slot s may have readers (a hold, a queued reader, or a
    /// bias). Writers look only at the slots in it. Same shape as the attached bitmap.
    @usableFromInline static let readersSetOffset = 320
    /// The readers set's summary: bit i set when word i of the set may be non-zero, so that a
    /// writer loads one word, not sixteen, when few slots read. Cleared only by the owner of W.
    @usableFromInline static let readersSummaryOffset = 448

    // Slots.
    @usableFromInline static let slotsOffset = 512
    @usableFromInline static let slotStride = 64
    static let maximumSlots = bitmapWordCount * 64
    static let defaultSlots = 128

    // Fields of a slot, from its start.
    @usableFromInline static let readersField = 0
    @usableFromInline static let waitingReadersField = 4
    @usableFromInline static let waitingWritersField = 8
    @usableFromInline static let holdsWriteField = 12
    @usableFromInline static let stateField = 16
    @usableFromInline static let pidField = 20
    /// The inode of the owner's PID namespace (/proc/self/ns/pid; 0: not recorded), and its PID
    /// in the namespace of the /proc it read (NSpid's first field): for display only.
    static let pidNamespaceField = 24
    static let outerPIDField = 28
    /// 1 while this participant holds the upgradable lock: W's UPGRADER bits are then its
    /// upgradable hold, not a writer waiting as NEXT.
    @usableFromInline static let holdsUpgradableField = 32

    /// The largest guarded shared-memory region a lock may carry.
    static let maximumSharedMemory = 1 << 30

    /// Where the slots end: the guarded region starts here (64-byte aligned).
    static func slotsEnd(slotCount: Int) -> Int {
        slotsOffset + slotCount * slotStride
    }
}

/// The bits of the lock word W.
@usableFromInline enum LockWord {
    /// Writer's slot + 1; 0 when no writer has claimed the lock.
    @usableFromInline static let ownerMask: UInt32 = 0xFFFF
    /// NEXT, in bits 16...26: the slot + 1 of the upgradable holder or of the writer waiting to
    /// write next (the slot's holdsUpgradable flag tells which); 0 when there is none. Readers
    /// ignore it; writers claim only from W == 0, or from NEXT == themselves.
    @usableFromInline static let upgraderShift: UInt32 = 16
    @usableFromInline static let upgraderMask: UInt32 = 0x7FF << 16
    /// Set (by CAS, only on an owned value) when at least one reader sleeps on W.
    @usableFromInline static let readersSleeping: UInt32 = 1 << 31

    @inline(__always)
    @inlinable static func owner(_ word: UInt32) -> UInt32 { word & ownerMask }

    @inline(__always)
    @inlinable static func upgrader(_ word: UInt32) -> UInt32 { (word & upgraderMask) >> upgraderShift }

    @inline(__always)
    static func upgraderBits(_ slot: Int) -> UInt32 { UInt32(slot + 1) << upgraderShift }

    /// Bits that no valid lock word has: 27...30 always, and READERS_SLEEPING without an owner.
    @inline(__always)
    static func isMalformed(_ word: UInt32) -> Bool {
        word & 0x7800_0000 != 0 || (owner(word) == 0 && word & readersSleeping != 0)
    }
}

/// The bits of a slot's readers word R.
@usableFromInline enum ReaderWord {
    /// The slot's read holds, and readers between publishing (R1) and backing off.
    @usableFromInline static let countMask: UInt32 = 0x7FFF_FFFF
    /// BIASED: the slot is in the readers set, so a reader whose increment returns this bit may
    /// enter without touching the set (R3). Set by the slot's own readers (B2, after the set's
    /// bit); cleared only by a revoking writer (V1), with a CAS that fails unless the count is 0.
    @usableFromInline static let biased: UInt32 = 1 << 31

    @inline(__always)
    @inlinable static func count(_ word: UInt32) -> UInt32 { word & countMask }
}

/// The bits of the writer event word E.
@usableFromInline enum EventWord {
    /// Set when at least one writer sleeps on E.
    @usableFromInline static let writersSleeping: UInt32 = 1
    /// One step of the sequence in bits 1...31.
    @usableFromInline static let increment: UInt32 = 2
}

/// A validated header: the only values of the header the protocol ever uses, read once.
struct SegmentGeometry: Equatable {
    let slotCount: Int
    /// Bytes of the guarded region after the slots (0: none).
    var sharedMemorySize: Int = 0
    var sharedMemoryOffset: Int { SegmentLayout.slotsEnd(slotCount: slotCount) }
    var totalSize: Int { sharedMemoryOffset + sharedMemorySize }

    /// Writes a fresh header into zeroed memory of `totalSize` bytes.
    func initialize(_ base: UnsafeMutableRawPointer) {
        base.storeBytes(of: SegmentLayout.version, toByteOffset: SegmentLayout.versionOffset, as: UInt32.self)
        base.storeBytes(of: UInt32(SegmentLayout.headerSize), toByteOffset: SegmentLayout.headerSizeOffset, as: UInt32.self)
        base.storeBytes(of: UInt32(slotCount), toByteOffset: SegmentLayout.slotCountOffset, as: UInt32.self)
        base.storeBytes(of: UInt32(SegmentLayout.slotStride), toByteOffset: SegmentLayout.slotStrideOffset, as: UInt32.self)
        base.storeBytes(of: UInt64(totalSize), toByteOffset: SegmentLayout.totalSizeOffset, as: UInt64.self)
        base.storeBytes(of: UInt64(SegmentLayout.slotsOffset), toByteOffset: SegmentLayout.slotsOffsetOffset, as: UInt64.self)
        base.storeBytes(of: UInt64(sharedMemorySize == 0 ? 0 : sharedMemoryOffset), toByteOffset: SegmentLayout.sharedMemoryOffsetOffset, as: UInt64.self)
        base.storeBytes(of: UInt64(sharedMemorySize), toByteOffset: SegmentLayout.sharedMemorySizeOffset, as: UInt64.self)
        // The magic goes last: a reader of a file in the middle of this never accepts it.
        base.storeBytes(of: SegmentLayout.magic, toByteOffset: SegmentLayout.magicOffset, as: UInt64.self)
    }

    /// Validates a header read from a file of `fileSize` bytes. Writes nothing.
    static func validate(header: UnsafeRawBufferPointer, fileSize: Int) throws(RWLockError) -> SegmentGeometry {
        guard header.count >= SegmentLayout.headerSize, fileSize >= SegmentLayout.headerSize else {
            throw .corruptSegment("it is \(fileSize) bytes, shorter than a header")
        }
        func u32(_ offset: Int) -> UInt32 { header.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
        func u64(_ offset: Int) -> UInt64 { header.loadUnaligned(fromByteOffset: offset, as: UInt64.self) }
        guard u64(SegmentLayout.magicOffset) == SegmentLayout.magic else {
            throw .corruptSegment("bad magic (not a prwlock segment)")
        }
        let version = u32(SegmentLayout.versionOffset)
        guard version == SegmentLayout.version else {
            if version < SegmentLayout.version {
                throw .corruptSegment(
                    "layout version \(version), made by an older swift-prwlock whose protocol cannot share a lock with this one "
                        + "(version \(SegmentLayout.version)): stop the processes that use it, remove it "
                        + "(prwlock remove NAME, or RWLock.remove(name:)) and let this version create it again")
            }
            throw .corruptSegment("layout version \(version), made by a newer swift-prwlock; this library reads version \(SegmentLayout.version): update it")
        }
        guard u32(SegmentLayout.headerSizeOffset) == UInt32(SegmentLayout.headerSize),
              u32(SegmentLayout.slotStrideOffset) == UInt32(SegmentLayout.slotStride),
              u64(SegmentLayout.slotsOffsetOffset) == UInt64(SegmentLayout.slotsOffset)
        else {
            throw .corruptSegment("unexpected header size, slot stride or slot offset")
        }
        let slotCount = Int(u32(SegmentLayout.slotCountOffset))
        guard (1...SegmentLayout.maximumSlots).contains(slotCount) else {
            throw .corruptSegment("slot count \(slotCount) outside 1...\(SegmentLayout.maximumSlots)")
        }
        let sharedSize = u64(SegmentLayout.sharedMemorySizeOffset)
        guard sharedSize <= UInt64(SegmentLayout.maximumSharedMemory) else {
            throw .corruptSegment("shared memory size \(sharedSize) is over \(SegmentLayout.maximumSharedMemory)")
        }
        let geometry = SegmentGeometry(slotCount: slotCount, sharedMemorySize: Int(sharedSize))
        guard u64(SegmentLayout.sharedMemoryOffsetOffset) == (sharedSize == 0 ? 0 : UInt64(geometry.sharedMemoryOffset)) else {
            throw .corruptSegment("unexpected shared memory offset")
        }
        guard u64(SegmentLayout.totalSizeOffset) == UInt64(geometry.totalSize), fileSize == geometry.totalSize else {
            throw .corruptSegment("size \(fileSize) does not match \(slotCount) slots and \(sharedSize) bytes of shared memory (\(geometry.totalSize) bytes)")
        }
        return geometry
    }
}
