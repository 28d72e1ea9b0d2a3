import CPRWLockShim
import Foundation
import PRWLock

/// Runs the scenarios. Multi-process scenarios start `prwlock bench-worker` processes that open
/// the same lock and coordinate through a `ControlBlock`.
struct BenchRunner {
    let settings: BenchSettings
    let progress: Bool

    func note(_ text: String) {
        if progress { FileHandle.standardError.write(Data((text + "\n").utf8)) }
    }

    func run(_ scenario: Scenario, _ kind: LockKind) throws -> BenchResult {
        var result = BenchResult(scenario: scenario.rawValue, lock: kind.rawValue, value: nil, unit: scenario.unit)
        switch scenario {
        case .uncontendedRead, .uncontendedWrite:
            let samples = try uncontended(kind, write: scenario == .uncontendedWrite)
            (result.value, result.spread) = (median(samples), spread(samples))
        case .readAttached1, .readAttached8, .readAttached64, .readAttached256, .writeAttached1, .writeAttached8, .writeAttached64, .writeAttached256:
            let (count, write) = scenario.attached!
            let samples = try uncontended(kind, write: write, attached: count)
            (result.value, result.spread) = (median(samples), spread(samples))
        case .readMostly2p, .readMostly4p, .mixed90_2p, .writeOnly2p:
            let (processes, writes): (Int, Int) = switch scenario {
            case .readMostly2p: (2, 1)
            case .readMostly4p: (4, 1)
            case .mixed90_2p: (2, 10)
            default: (2, 100)
            }
            let samples = try (0..<settings.repetitions).map { _ in try throughput(kind, processes: processes, writePercent: writes) }
            (result.value, result.spread) = (median(samples), spread(samples))
        case .handoff:
            let samples = try handoff(kind).sorted()
            result.value = percentile(samples, 0.5)
            result.p99 = percentile(samples, 0.99)
        case .writerWait:
            let (longest, starved) = try probedWait(kind, probingWrite: true)
            result.value = longest
            if starved { result.note = "starved: a writer waited past the \(settings.writerCapMilliseconds) ms cap" }
        case .readerWait:
            let (longest, starved) = try probedWait(kind, probingWrite: false)
            result.value = longest
            if starved { result.note = "starved: a reader waited past the \(settings.writerCapMilliseconds) ms cap" }
        case .recovery:
            let samples = try recovery(kind)
            if samples.isEmpty {
                result.note = "never (waited \(settings.recoveryCapMilliseconds) ms)"
            } else {
                (result.value, result.spread) = (median(samples), spread(samples))
            }
        case .waiterCPU:
            result.value = try waiterCPU(kind)
        case .memory:
            let spec = try ContenderFactory.create(kind, tag: tag(kind))
            defer { ContenderFactory.destroy(kind, spec: spec) }
            result.value = Double(ContenderFactory.sharedBytes(kind, spec: spec))
            if kind == .flock || kind == .ofd { result.note = "kernel lock state, no shared memory" }
        }
        return result
    }

    private func tag(_ kind: LockKind) -> String { "\(getpid())-\(kind.rawValue)-\(UInt32.random(in: 0 ... .max))" }

    // MARK: Uncontended

    /// ns per acquire+release in this process, one sample per repetition. With `attached`, the
    /// lock has `BenchSettings.attachedCapacity` slots and, for prwlock, `attached - 1` other
    /// participants attached and idle in a worker process while it is measured.
    private func uncontended(_ kind: LockKind, write: Bool, attached: Int? = nil) throws -> [Double] {
        let capacity = attached == nil ? RWLock.defaultMaxProcesses : BenchSettings.attachedCapacity
        let spec = try ContenderFactory.create(kind, tag: tag(kind), maxProcesses: capacity)
        defer { ContenderFactory.destroy(kind, spec: spec) }
        var idle: (Process, ControlBlock)?
        if kind == .prwlock, let attached, attached > 1 {
            let block = try ControlBlock.create(tag: tag(kind))
            let process = try startWorker(kind, spec, block, role: "attach", ["--count", "\(attached - 1)"])
            idle = (process, block)
            guard block.waitUntil(block.ready, atLeast: 1) else { throw BenchError("the attaching worker did not start") }
        }
        defer {
            if let (process, block) = idle {
                cprwlock_store32(block.stop, 1)
                if !wait(process, seconds: 5) { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
                block.remove()
            }
        }
        let lock = try ContenderFactory.open(kind, spec: spec)
        var iterations = kind == .flock || kind == .ofd ? settings.uncontendedIterations / 10 : settings.uncontendedIterations
        if attached != nil { iterations /= 10 }  // eight such scenarios; a write with 256 attached is slow in a debug build
        return UncontendedLoop(iterations: iterations, repetitions: settings.repetitions, write: write).measure(lock)
    }

    // MARK: Throughput

    private func throughput(_ kind: LockKind, processes: Int, writePercent: Int) throws -> Double {
        let spec = try ContenderFactory.create(kind, tag: tag(kind))
        defer { ContenderFactory.destroy(kind, spec: spec) }
        let block = try ControlBlock.create(tag: tag(kind))
        defer { block.remove() }
        let workers = try (0..<processes).map { index in
            try startWorker(kind, spec, block, role: "mix", ["--index", "\(index)", "--write-percent", "\(writePercent)"])
        }
        guard block.waitUntil(block.ready, atLeast: UInt32(processes)) else { throw BenchError("workers did not start") }
        let start = cprwlock_monotonic_ns()
        cprwlock_store32(block.go, 1)
        usleep(useconds_t(settings.throughputSeconds * 1_000_000))
        cprwlock_store32(block.stop, 1)
        let elapsed = Double(cprwlock_monotonic_ns() - start) / 1e9
        for worker in workers { worker.waitUntilExit() }
        let ops = (0..<processes).reduce(Int64(0)) { $0 + block.result($1, 0).pointee }
        return Double(ops) / elapsed
    }

    /// Read-mostly (99%) throughput for 1, 2, 4 and 8 processes, for the chart.
    func scaling(locks: [LockKind]) throws -> [ScalingChart.Point] {
        var points: [ScalingChart.Point] = []
        for kind in locks {
            for processes in [1, 2, 4, 8] {
                let samples = try (0..<settings.repetitions).map { _ in try throughput(kind, processes: processes, writePercent: 1) }
                points.append(.init(lock: kind.rawValue, processes: processes, opsPerSecond: median(samples)))
                note("  scaling \(kind.rawValue) \(processes)p: \(BenchTable.format(median(samples), unit: "ops/s"))")
            }
        }
        return points
    }

    // MARK: Hand-off

    /// µs from this process's release to a blocked waiter's acquisition in another process.
    private func handoff(_ kind: LockKind) throws -> [Double] {
        let spec = try ContenderFactory.create(kind, tag: tag(kind))
        defer { ContenderFactory.destroy(kind, spec: spec) }
        let block = try ControlBlock.create(tag: tag(kind))
        defer { block.remove() }
        let lock = try ContenderFactory.open(kind, spec: spec)
        let rounds = min(settings.handoffRounds, ControlBlock.maxSamples)
        lock.lockWrite()
        let waiter = try startWorker(kind, spec, block, role: "handoff-waiter", ["--count", "\(rounds)"])
        for round in 0..<rounds {
            cprwlock_store32(block.parentPhase, UInt32(round + 1))
            guard block.waitUntil(block.phase, atLeast: UInt32(2 * round + 1)) else { throw BenchError("hand-off waiter stalled") }
            usleep(1000)  // the waiter is now asleep in the lock
            block.releasedAt.pointee = cprwlock_monotonic_ns()
            lock.unlockWrite()
            guard block.waitUntil(block.phase, atLeast: UInt32(2 * round + 2)) else { throw BenchError("hand-off waiter stalled") }
            if round + 1 < rounds { lock.lockWrite() }
        }
        waiter.waitUntilExit()
        return (0..<rounds).map { Double(block.sample($0).pointee) / 1000 }
    }

    // MARK: Writer wait

    /// The longest wait (ms) of a writer while two reader processes keep their holds overlapping.
    /// writer-wait (`probingWrite`): the longest of the probe's write acquisitions while two
    /// readers keep overlapping holds; reader-wait: the longest of its read acquisitions while two
    /// writers hold the write lock in turn.
    private func probedWait(_ kind: LockKind, probingWrite: Bool) throws -> (Double, starved: Bool) {
        let spec = try ContenderFactory.create(kind, tag: tag(kind))
        defer { ContenderFactory.destroy(kind, spec: spec) }
        let block = try ControlBlock.create(tag: tag(kind))
        defer { block.remove() }
        let hold = probingWrite ? BenchSettings.readerHoldMicroseconds : BenchSettings.writerHoldMicroseconds
        let readers = try (0..<2).map { index in
            try startWorker(kind, spec, block, role: probingWrite ? "reader-hold" : "writer-hold", ["--index", "\(index)", "--hold-microseconds", "\(hold)"])
        }
        let probe = try startWorker(kind, spec, block, role: probingWrite ? "writer-probe" : "reader-probe", [
            "--index", "2", "--count", "\(settings.writerProbes)", "--cap-milliseconds", "\(settings.writerCapMilliseconds)",
        ])
        guard block.waitUntil(block.ready, atLeast: 3) else { throw BenchError("workers did not start") }
        cprwlock_store32(block.go, 1)
        // Locks without timeouts (flock, OFD) are capped from here: an attempt that started more
        // than the cap ago means the writer is starved.
        let cap = Int64(settings.writerCapMilliseconds) * 1_000_000
        var finished = false
        while true {
            if block.result(2, 3).pointee == 1 { finished = true; break }
            let started = block.result(2, 4).pointee
            if started > 0 && cprwlock_monotonic_ns() - started > cap + 100_000_000 { break }
            usleep(1000)
        }
        let completed = block.result(2, 1).pointee
        let starved = !finished || block.result(2, 2).pointee == -1 || completed < settings.writerProbes
        cprwlock_store32(block.stop, 1)
        if !finished { kill(probe.processIdentifier, SIGKILL) }
        probe.waitUntilExit()
        for reader in readers {
            if !wait(reader, seconds: 5) { kill(reader.processIdentifier, SIGKILL); reader.waitUntilExit() }
        }
        let longest = Double(block.result(2, 0).pointee) / 1e6
        return (starved ? max(longest, Double(settings.writerCapMilliseconds)) : longest, starved)
    }

    // MARK: Recovery

    /// ms from SIGKILL of a write holder to a blocked waiter's acquisition, per round; empty when
    /// the waiter never got the lock.
    private func recovery(_ kind: LockKind) throws -> [Double] {
        var samples: [Double] = []
        let rounds = kind == .pthread || kind == .pthreadWriter ? 1 : settings.recoveryRounds  // pthread never recovers
        for _ in 0..<rounds {
            let sample = try withWaiterBehindHolder(kind) { holder, waiter, block -> Double? in
                usleep(30_000)  // the waiter is asleep in the lock
                let killed = cprwlock_monotonic_ns()
                kill(holder.processIdentifier, SIGKILL)
                holder.waitUntilExit()
                guard wait(waiter, seconds: Double(settings.recoveryCapMilliseconds) / 1000) else { return nil }
                return Double(block.result(0, 0).pointee - killed) / 1e6
            }
            guard let sample else { return [] }
            samples.append(sample)
        }
        return samples
    }

    /// Percent of one core a waiter uses while a live holder keeps it waiting: its CPU time from
    /// /proc/PID/task/*/schedstat (nanoseconds on the CPU) over `waiterCPUSeconds`.
    private func waiterCPU(_ kind: LockKind) throws -> Double {
        try withWaiterBehindHolder(kind) { _, waiter, _ in
            usleep(50_000)  // the waiter is asleep in the lock
            let (cpu0, wall0) = (Self.cpuNanoseconds(of: waiter.processIdentifier), cprwlock_monotonic_ns())
            usleep(useconds_t(settings.waiterCPUSeconds * 1_000_000))
            let (cpu1, wall1) = (Self.cpuNanoseconds(of: waiter.processIdentifier), cprwlock_monotonic_ns())
            guard let cpu0, let cpu1 else { throw BenchError("cannot read the waiter's /proc/\(waiter.processIdentifier)/task/*/schedstat") }
            return Double(cpu1 - cpu0) / Double(wall1 - wall0) * 100
        }
    }

    /// A fresh lock, a worker holding it for write and a second worker waiting to write; both
    /// are killed afterwards if still running.
    private func withWaiterBehindHolder<T>(_ kind: LockKind, _ body: (Process, Process, ControlBlock) throws -> T) throws -> T {
        let spec = try ContenderFactory.create(kind, tag: tag(kind))
        defer { ContenderFactory.destroy(kind, spec: spec) }
        let block = try ControlBlock.create(tag: tag(kind))
        defer { block.remove() }
        var started: [Process] = []
        defer {
            for process in started where process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }
        let holder = try startWorker(kind, spec, block, role: "holder", [])
        started.append(holder)
        guard block.waitUntil(block.ready, atLeast: 1) else { throw BenchError("holder did not start") }
        let waiter = try startWorker(kind, spec, block, role: "waiter", ["--index", "0"])
        started.append(waiter)
        guard block.waitUntil(block.ready, atLeast: 2) else { throw BenchError("waiter did not start") }
        return try body(holder, waiter, block)
    }

    /// The CPU time of every thread of a process, in nanoseconds (first field of schedstat).
    private static func cpuNanoseconds(of pid: pid_t) -> Int64? {
        guard let threads = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { return nil }
        var total: Int64 = 0
        for thread in threads {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(thread)/schedstat", encoding: .utf8),
                  let first = text.split(separator: " ").first, let nanoseconds = Int64(first)
            else { return nil }
            total += nanoseconds
        }
        return total
    }

    // MARK: Helpers

    private func startWorker(_ kind: LockKind, _ spec: String, _ block: ControlBlock, role: String, _ extra: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["bench-worker", "--kind", kind.rawValue, "--spec", spec, "--control", block.path, "--role", role] + extra
        try process.run()
        return process
    }

    private func wait(_ process: Process, seconds: Double) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < end { usleep(200) }
        return !process.isRunning
    }
}

/// The uncontended loop, generic so that each lock's calls are direct (specialised), not
/// through an existential: the figures compare the locks, not the benchmark's dispatch.
struct UncontendedLoop {
    let iterations: Int
    let repetitions: Int
    let write: Bool

    func measure(_ lock: any BenchLock) -> [Double] {
        switch lock {
        case let lock as PRWLockContender: return run(lock)
        case let lock as PthreadContender: return run(lock)
        case let lock as FlockContender: return run(lock)
        case let lock as OFDContender: return run(lock)
        default: return run(lock)
        }
    }

    @inline(never)
    private func run<L: BenchLock>(_ lock: L) -> [Double] {
        var samples: [Double] = []
        for repetition in -1..<repetitions {  // repetition -1 warms up
            let start = cprwlock_monotonic_ns()
            if write {
                for _ in 0..<iterations { lock.lockWrite(); lock.unlockWrite() }
            } else {
                for _ in 0..<iterations { lock.lockRead(); lock.unlockRead() }
            }
            let elapsed = cprwlock_monotonic_ns() - start
            if repetition >= 0 { samples.append(Double(elapsed) / Double(iterations)) }
        }
        return samples
    }
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func spread(_ values: [Double]) -> Double { (values.max() ?? 0) - (values.min() ?? 0) }

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}
