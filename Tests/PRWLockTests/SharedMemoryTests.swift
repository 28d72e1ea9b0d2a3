import Foundation
import PRWLock
import Testing

struct Counters: BitwiseCopyable, Equatable {
    var hits = 0
    var misses = 0
}

@Suite(.serialized) struct SharedMemoryTests {
    @Test func theTypedFormsReadAndChangeOneValue() throws {
        let name = uniqueLockName()
        defer { try? RWLock.remove(name: name) }
        let lock = try RWLock(name: name, sharedMemorySize: MemoryLayout<Counters>.size)
        #expect(lock.sharedMemorySize == MemoryLayout<Counters>.size)
        try lock.withWriteLocked(Counters.self) { $0.hits += 1 }
        let hits = try lock.withReadLocked(Counters.self) { $0.hits }
        #expect(hits == 1)
        // Another instance (another participant) sees the same memory.
        let other = try RWLock(name: name)
        #expect(try other.withReadLocked(Counters.self) { $0 } == Counters(hits: 1, misses: 0))
        try other.withWriteLockedMemory { bytes in bytes.storeBytes(of: 7, toByteOffset: 8, as: Int.self) }
        #expect(try lock.withReadLockedMemory(timeout: .seconds(1)) { $0.load(fromByteOffset: 8, as: Int.self) } == 7)
    }

    @Test func processesShareTheGuardedMemory() throws {
        let lock = try RWLock(sharedMemorySize: 64)
        let workers = try (0..<3).map { _ in try Worker(["shared-add", lock.handle.description, "2000"]) }
        for worker in workers { #expect(worker.waitForExit() == 0, "\(worker.output)") }
        // Every increment was made under the write lock in some process: none was lost.
        #expect(try lock.withReadLocked(UInt64.self) { $0 } == 6000)
    }

    @Test func sizesMustAgreeAndTypesMustFit() throws {
        let name = uniqueLockName()
        defer { try? RWLock.remove(name: name) }
        let lock = try RWLock(name: name, sharedMemorySize: 64)
        #expect(throws: RWLockError.sharedMemorySizeMismatch(existing: 64, requested: 128)) {
            try RWLock(name: name, sharedMemorySize: 128)
        }
        #expect(try RWLock(name: name).sharedMemorySize == 64)  // 0 accepts whatever it has
        struct Big: BitwiseCopyable { var a: (Int, Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0, 0) }
        #expect(throws: RWLockError.self) { try lock.withReadLocked(Big.self) { _ in } }
        #expect(throws: RWLockError.self) { try RWLock(sharedMemorySize: -1) }
        #expect(try RWLock().sharedMemorySize == 0)
    }
}
