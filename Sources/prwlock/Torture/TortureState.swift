import CPRWLockShim
import Foundation

/// The shared file of a torture run: the canary record the lock protects, a stop flag, each
/// worker's "inside" marker, and per-spawn counters (a killed worker's counts survive it).
struct TortureState: @unchecked Sendable {
    // @unchecked: a pointer into a MAP_SHARED file; shared fields are accessed atomically.
    static let maxWorkers = 64
    static let maxSpawns = 1 << 16
    static let spawnStride = 64
    static let size = 8192 + maxSpawns * spawnStride

    /// Words of the canary: [0] start sequence, [1...14] data, [15] end sequence.
    static let canaryWords = 16

    let path: String
    let base: UnsafeMutableRawPointer

    static func create(tag: String) throws -> TortureState {
        let path = "/dev/shm/prwlock-torture-\(tag)"
        try SharedFile.create(path, size: size)
        return try TortureState(path: path)
    }

    init(path: String) throws {
        self.path = path
        self.base = try SharedFile.map(path, size: Self.size)
    }

    func canary(_ index: Int) -> UnsafeMutablePointer<UInt32> {
        precondition(index < Self.canaryWords)
        return (base + index * 4).assumingMemoryBound(to: UInt32.self)
    }

    var stop: UnsafeMutablePointer<UInt32> { (base + 256).assumingMemoryBound(to: UInt32.self) }

    /// Worker `index`'s marker: pid << 2 | 1 (reading) or 2 (writing); 0 outside.
    func inside(_ index: Int) -> UnsafeMutablePointer<UInt64> {
        precondition(index < Self.maxWorkers)
        return (base + 1024 + index * 64).assumingMemoryBound(to: UInt64.self)
    }

    enum Counter: Int, CaseIterable {
        case operations, tornReads, explainedTornReads, overlaps, timeouts, tryFailures, repairs, longestAcquireNanoseconds
    }

    func counter(_ spawn: Int, _ counter: Counter) -> UnsafeMutablePointer<Int64> {
        precondition(spawn < Self.maxSpawns)
        return (base + 8192 + spawn * Self.spawnStride + counter.rawValue * 8).assumingMemoryBound(to: Int64.self)
    }

    func total(_ counter: Counter, spawns: Int) -> Int64 {
        (0..<spawns).reduce(0) { $0 + self.counter($1, counter).pointee }
    }

    func maximum(_ counter: Counter, spawns: Int) -> Int64 {
        (0..<spawns).map { self.counter($0, counter).pointee }.max() ?? 0
    }
}

extension TortureState {
    /// Whether a live worker other than `index` is inside in a mode that conflicts. A marker left
    /// by a killed worker is stale: its process is gone (or a zombie), so it does not count.
    func overlapsSomeone(index: Int, writing: Bool) -> Bool {
        for other in 0..<Self.maxWorkers where other != index {
            let marker = cprwlock_load64(inside(other))
            guard marker != 0, writing || marker & 3 == 2 else { continue }
            if Self.isAlive(pid_t(truncatingIfNeeded: marker >> 2)) { return true }
        }
        return false
    }

    /// Whether `pid` can still run code. A process being torn down after SIGKILL keeps its
    /// /proc entry (and looks running) for a while after its address space and descriptors are
    /// gone: the kernel marks it PF_EXITING first. From then on it cannot touch the record, and
    /// its liveness token may already be released, so it does not count.
    static func isAlive(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")")
        else { return false }
        // After the command: state, ppid, pgrp, session, tty_nr, tpgid, flags, ...
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 6, fields[0] != "Z", fields[0] != "X", let flags = UInt64(fields[6]) else { return false }
        let exiting: UInt64 = 0x4  // PF_EXITING
        return flags & exiting == 0
    }
}

/// A small, seedable random generator (SplitMix64): runs can be replayed from their seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
