import ArgumentParser
import CPRWLockShim
import Foundation

/// One process of a benchmark scenario, started by `prwlock bench`. Not for direct use.
struct BenchWorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-worker",
        abstract: "One process of a `prwlock bench` scenario (started by the benchmark).",
        shouldDisplay: false)

    enum Role: String, ExpressibleByArgument {
        case mix, readerHold = "reader-hold", writerHold = "writer-hold", writerProbe = "writer-probe"
        case readerProbe = "reader-probe", holder, waiter, handoffWaiter = "handoff-waiter", attach
    }

    @Option var kind: LockKind
    @Option var spec: String
    @Option var control: String
    @Option var role: Role
    @Option var index: Int = 0
    @Option(help: "mix: percent of operations that write.") var writePercent: Int = 1
    @Option(help: "reader-hold and writer-hold: microseconds per hold.") var holdMicroseconds: Int = 1000
    @Option(help: "writer-probe, reader-probe and handoff-waiter: how many times; attach: how many participants.") var count: Int = 10
    @Option(help: "writer-probe and reader-probe: give up after this many milliseconds per attempt.") var capMilliseconds: Int = 1000

    func run() throws {
        let block = try ControlBlock(path: control)
        let lock = try ContenderFactory.open(kind, spec: spec)
        switch role {
        case .mix: runMix(lock, block)
        case .readerHold: runHold(lock, block, write: false)
        case .writerHold: runHold(lock, block, write: true)
        case .writerProbe: runProbe(lock, block, write: true)
        case .readerProbe: runProbe(lock, block, write: false)
        case .attach: try runAttach(lock, block)
        case .holder: runHolder(lock, block)
        case .waiter: runWaiter(lock, block)
        case .handoffWaiter: runHandoffWaiter(lock, block)
        }
    }

    private func startTogether(_ block: ControlBlock) {
        _ = cprwlock_fetch_add32(block.ready, 1)
        _ = block.waitUntil(block.go, atLeast: 1, timeoutSeconds: 60)
    }

    /// Random reads and writes of the record until told to stop; reports operations.
    private func runMix(_ lock: any BenchLock, _ block: ControlBlock) {
        startTogether(block)
        var state = UInt64(0x9E37_79B9_7F4A_7C15) &+ UInt64(index) &* 0xBF58_476D_1CE4_E5B9
        var ops: Int64 = 0
        var checksum: UInt64 = 0
        let threshold = UInt64(writePercent) * (UInt64.max / 100)
        while true {
            // Check the stop flag every 256 operations: a load of a shared line is not free.
            if ops & 255 == 0 && cprwlock_load32_relaxed(block.stop) != 0 { break }
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            if state < threshold {
                lock.lockWrite()
                for i in 0..<8 { block.record[i] = block.record[i] &+ 1 }
                lock.unlockWrite()
            } else {
                lock.lockRead()
                for i in 0..<8 { checksum &+= block.record[i] }
                lock.unlockRead()
            }
            ops += 1
        }
        block.result(index, 0).pointee = ops
        block.result(index, 1).pointee = Int64(bitPattern: checksum)
    }

    /// Holds read (or write) for `holdMicroseconds`, again and again, until told to stop.
    private func runHold(_ lock: any BenchLock, _ block: ControlBlock, write: Bool) {
        startTogether(block)
        let hold = Int64(holdMicroseconds) * 1000
        var holds: Int64 = 0
        while cprwlock_load32_relaxed(block.stop) == 0 {
            if write { lock.lockWrite() } else { lock.lockRead() }
            let end = cprwlock_monotonic_ns() + hold
            while cprwlock_monotonic_ns() < end { cprwlock_cpu_relax() }
            if write { lock.unlockWrite() } else { lock.unlockRead() }
            holds += 1
        }
        block.result(index, 0).pointee = holds
    }

    /// Takes the write (or read) lock `count` times while the other side keeps it busy; records
    /// the longest wait (ns) in field 0, attempts completed in 1, -1 in 2 if an attempt passed the
    /// cap, the current attempt's start in 4, and 1 in 3 when done.
    private func runProbe(_ lock: any BenchLock, _ block: ControlBlock, write: Bool) {
        startTogether(block)
        usleep(20_000)  // let the holders' holds overlap first
        var longest: Int64 = 0
        for attempt in 0..<count {
            let start = cprwlock_monotonic_ns()
            block.result(index, 4).pointee = start  // the parent caps locks that have no timeout
            let deadline = start + Int64(capMilliseconds) * 1_000_000
            guard write ? lock.lockWrite(deadline: deadline) : lock.lockRead(deadline: deadline) else {
                block.result(index, 2).pointee = -1
                break
            }
            longest = max(longest, cprwlock_monotonic_ns() - start)
            if write { lock.unlockWrite() } else { lock.unlockRead() }
            block.result(index, 0).pointee = longest
            block.result(index, 1).pointee = Int64(attempt + 1)
            usleep(2000)
        }
        block.result(index, 3).pointee = 1  // done
    }

    /// Attaches `count` participants (this one's open lock and `count - 1` more) and keeps them
    /// attached, idle, until told to stop.
    private func runAttach(_ first: any BenchLock, _ block: ControlBlock) throws {
        let others = try (1..<max(1, count)).map { _ in try ContenderFactory.open(kind, spec: spec) }
        _ = cprwlock_fetch_add32(block.ready, 1)
        while cprwlock_load32_relaxed(block.stop) == 0 { usleep(5000) }
        withExtendedLifetime((first, others)) {}
    }

    /// Takes the write lock and holds it until killed.
    private func runHolder(_ lock: any BenchLock, _ block: ControlBlock) {
        lock.lockWrite()
        _ = cprwlock_fetch_add32(block.ready, 1)
        while true { sleep(60) }
    }

    /// Announces it is about to wait, then takes the write lock and records when it got it.
    private func runWaiter(_ lock: any BenchLock, _ block: ControlBlock) {
        _ = cprwlock_fetch_add32(block.ready, 1)
        lock.lockWrite()
        block.result(index, 0).pointee = cprwlock_monotonic_ns()
        lock.unlockWrite()
    }

    /// Hand-off: blocks on the lock the parent holds, and records the time from the parent's
    /// release to its own acquisition, `count` times.
    private func runHandoffWaiter(_ lock: any BenchLock, _ block: ControlBlock) {
        for round in 0..<count {
            _ = block.waitUntil(block.parentPhase, atLeast: UInt32(round + 1))  // the parent holds the lock
            cprwlock_store32(block.phase, UInt32(2 * round + 1))             // about to block
            lock.lockWrite()
            let acquired = cprwlock_monotonic_ns()
            // The parent wrote releasedAt before releasing: the lock orders it before this read.
            block.sample(round).pointee = acquired - block.releasedAt.pointee
            lock.unlockWrite()
            cprwlock_store32(block.phase, UInt32(2 * round + 2))             // done with this round
        }
    }
}
