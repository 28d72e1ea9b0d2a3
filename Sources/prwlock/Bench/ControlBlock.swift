import CPRWLockShim
import Foundation

/// Shared memory through which the benchmark's parent starts, stops and reads its worker
/// processes, and the 64-byte record that the workers read and write under the lock.
struct ControlBlock: @unchecked Sendable {
    // @unchecked: a pointer into a MAP_SHARED file; all shared fields are accessed atomically.
    static let size = 1 << 16
    static let maxWorkers = 32
    static let maxSamples = 4096

    let path: String
    let base: UnsafeMutableRawPointer

    static func create(tag: String) throws -> ControlBlock {
        let path = "/dev/shm/prwlock-bench-\(tag)-control"
        try SharedFile.create(path, size: size)
        return try ControlBlock(path: path)
    }

    init(path: String) throws {
        self.path = path
        self.base = try SharedFile.map(path, size: Self.size)
    }

    func remove() { unlink(path) }

    private func word(_ offset: Int) -> UnsafeMutablePointer<UInt32> { (base + offset).assumingMemoryBound(to: UInt32.self) }

    var go: UnsafeMutablePointer<UInt32> { word(0) }
    var stop: UnsafeMutablePointer<UInt32> { word(4) }
    var ready: UnsafeMutablePointer<UInt32> { word(8) }
    var phase: UnsafeMutablePointer<UInt32> { word(12) }
    var parentPhase: UnsafeMutablePointer<UInt32> { word(16) }

    /// Per-worker results: three 64-bit values on the worker's own line.
    func result(_ worker: Int, _ field: Int) -> UnsafeMutablePointer<Int64> {
        precondition(worker < Self.maxWorkers && field < 8)
        return (base + 1024 + worker * 64 + field * 8).assumingMemoryBound(to: Int64.self)
    }

    /// The record the lock protects: eight 64-bit words.
    var record: UnsafeMutablePointer<UInt64> { (base + 4096).assumingMemoryBound(to: UInt64.self) }

    /// The instant the parent released the lock, for the hand-off scenario.
    var releasedAt: UnsafeMutablePointer<Int64> { (base + 8192).assumingMemoryBound(to: Int64.self) }

    func sample(_ index: Int) -> UnsafeMutablePointer<Int64> {
        precondition(index < Self.maxSamples)
        return (base + 16384 + index * 8).assumingMemoryBound(to: Int64.self)
    }

    func waitUntil(_ word: UnsafeMutablePointer<UInt32>, atLeast value: UInt32, timeoutSeconds: Double = 30) -> Bool {
        let end = cprwlock_monotonic_ns() + Int64(timeoutSeconds * 1e9)
        while cprwlock_load32(word) < value {
            if cprwlock_monotonic_ns() > end { return false }
            usleep(50)
        }
        return true
    }
}

/// The zeroed files in /dev/shm through which the tool's processes (bench, torture, demo) share
/// counters and records.
enum SharedFile {
    static func create(_ path: String, size: Int) throws {
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw BenchError("cannot create \(path)") }
        defer { close(fd) }
        guard ftruncate(fd, off_t(size)) == 0 else { throw BenchError("cannot size \(path)") }
    }

    static func map(_ path: String, size: Int) throws -> UnsafeMutableRawPointer {
        let fd = open(path, O_RDWR)
        guard fd >= 0 else { throw BenchError("cannot open \(path)") }
        defer { close(fd) }
        guard let address = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), address != MAP_FAILED else {
            throw BenchError("cannot map \(path)")
        }
        return address
    }
}
