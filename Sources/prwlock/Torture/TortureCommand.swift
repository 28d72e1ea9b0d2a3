import ArgumentParser
import CPRWLockShim
import Foundation
import PRWLock

struct TortureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "torture",
        abstract: "Hammer one lock from many processes while SIGKILLing them at random, and check every invariant.",
        discussion: """
            N worker processes run random read, write, try and timed operations on one named lock for \
            the given time; every interval a random worker (often one holding the lock) is SIGKILLed \
            and a new one started in its place. Writers stamp a canary record at the start and end of \
            each write; readers check it. Each worker marks when it is inside, so two holders that \
            overlap are caught. Exits 1 on any torn read not explained by a killed writer, any overlap, \
            or a lock that cannot be taken at the end.
            The long run: prwlock torture --processes 10 --seconds 60 --kill-every 100
            """)

    @Option(help: "Worker processes.") var processes = 6
    @Option(help: "How long to run, in seconds.") var seconds = 10.0
    @Option(help: "Kill a random worker every this many milliseconds (0: never).") var killEvery = 100
    @Option(help: "Seed for the random choices (default: random).") var seed: UInt64?
    @Flag(help: "Print the summary as JSON.") var json = false

    func validate() throws {
        guard (1...TortureState.maxWorkers).contains(processes) else {
            throw ValidationError("--processes must be 1...\(TortureState.maxWorkers)")
        }
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
        guard killEvery >= 0 else { throw ValidationError("--kill-every must be 0 or more") }
    }

    func run() throws {
        let tag = "\(getpid())"
        let name = "torture-\(tag)"
        try? RWLock.remove(name: name)
        let lock = try RWLock(name: name, maxProcesses: min(1024, processes * 4 + 8))
        defer { try? RWLock.remove(name: name) }
        let state = try TortureState.create(tag: tag)
        defer { unlink(state.path) }
        var rng = SplitMix64(seed: seed ?? UInt64.random(in: 0 ... .max))
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()

        var spawns = 0
        func spawn(_ index: Int) throws -> Process {
            let process = Process()
            process.executableURL = executable
            process.arguments = [
                "torture-worker", "--name", name, "--state", state.path, "--index", "\(index)",
                "--spawn", "\(spawns)", "--seed", "\(rng.next())",
            ]
            spawns += 1
            try process.run()
            return process
        }

        var workers = try (0..<processes).map { try spawn($0) }
        let start = Date()
        let end = start.addingTimeInterval(seconds)
        var kills = 0
        var nextKill = start.addingTimeInterval(Double(killEvery) / 1000)
        var lastReport = start
        let stderrIsTerminal = isatty(2) == 1
        while Date() < end {
            usleep(2000)
            if killEvery > 0 && Date() >= nextKill && spawns < TortureState.maxSpawns - processes {
                // Half the kills aim at a worker inside the lock, so holders die mid-hold.
                let holders = (0..<processes).filter { cprwlock_load64(state.inside($0)) != 0 }
                let victim = !holders.isEmpty && rng.next() % 2 == 0
                    ? holders[Int(rng.next() % UInt64(holders.count))]
                    : Int.random(in: 0..<processes, using: &rng)
                kill(workers[victim].processIdentifier, SIGKILL)
                workers[victim].waitUntilExit()
                workers[victim] = try spawn(victim)
                kills += 1
                nextKill = nextKill.addingTimeInterval(Double(killEvery) / 1000)
            }
            // On a terminal, one line rewritten each second; in a log, a plain line every 5 s.
            if !json && Date().timeIntervalSince(lastReport) >= (stderrIsTerminal ? 1 : 5) {
                lastReport = Date()
                let ops = state.total(.operations, spawns: spawns)
                let line = String(format: "%5.0f s of %.0f  %10lld operations  %6d kills  %4lld violations",
                    Date().timeIntervalSince(start), seconds, ops, kills,
                    state.total(.tornReads, spawns: spawns) + state.total(.overlaps, spawns: spawns))
                FileHandle.standardError.write(Data((stderrIsTerminal ? "\r" + line : line + "\n").utf8))
            }
        }
        cprwlock_store32(state.stop, 1)
        for worker in workers { worker.waitUntilExit() }
        if !json && stderrIsTerminal { FileHandle.standardError.write(Data("\n".utf8)) }

        // The lock must still be usable by a newcomer, promptly.
        let finalStart = cprwlock_monotonic_ns()
        var finalOK = true
        do {
            try lock.acquireWrite(timeout: .seconds(2))
            try lock.releaseWrite()
        } catch {
            finalOK = false
        }
        let finalMilliseconds = Double(cprwlock_monotonic_ns() - finalStart) / 1e6

        let summary: [String: Any] = [
            "processes": processes, "seconds": seconds, "killEveryMilliseconds": killEvery,
            "operations": state.total(.operations, spawns: spawns), "kills": kills, "spawns": spawns,
            "tornReads": state.total(.tornReads, spawns: spawns),
            "tornReadsAfterKilledWriter": state.total(.explainedTornReads, spawns: spawns),
            "repairs": state.total(.repairs, spawns: spawns),
            "overlaps": state.total(.overlaps, spawns: spawns),
            "timeouts": state.total(.timeouts, spawns: spawns),
            "tryFailures": state.total(.tryFailures, spawns: spawns),
            "longestAcquisitionMilliseconds": Double(state.maximum(.longestAcquireNanoseconds, spawns: spawns)) / 1e6,
            "finalAcquireMilliseconds": finalMilliseconds, "finalAcquireOK": finalOK,
        ]
        let violations = (summary["tornReads"] as! Int64) + (summary["overlaps"] as! Int64) + (finalOK ? 0 : 1)
        if json {
            let data = try JSONSerialization.data(withJSONObject: summary.merging(["violations": violations]) { a, _ in a }, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("""
                torture: \(processes) processes × \(seconds) s, a kill every \(killEvery) ms
                  operations                     \(summary["operations"]!)
                  kills (workers SIGKILLed)      \(kills)
                  torn reads (violations)        \(summary["tornReads"]!)
                  torn reads after a killed writer, announced by the notice: \(summary["tornReadsAfterKilledWriter"]!)
                  repairs by writers told of a dead writer: \(summary["repairs"]!)
                  overlapping holders            \(summary["overlaps"]!)
                  timeouts (timed operations)    \(summary["timeouts"]!)
                  try failures                   \(summary["tryFailures"]!)
                  longest acquisition            \(String(format: "%.1f", summary["longestAcquisitionMilliseconds"] as! Double)) ms
                  final write acquisition        \(finalOK ? String(format: "%.1f ms", finalMilliseconds) : "FAILED")
                \(violations == 0 ? "PASS: no violation" : "FAIL: \(violations) violation(s)")
                """)
        }
        if violations != 0 { throw ExitCode(1) }
    }
}

/// One torture worker process. Not for direct use.
struct TortureWorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "torture-worker", abstract: "One process of `prwlock torture`.", shouldDisplay: false)

    @Option var name: String
    @Option var state: String
    @Option var index: Int
    @Option var spawn: Int
    @Option var seed: UInt64

    func run() throws {
        let shared = try TortureState(path: state)
        let lock = try RWLock(name: name, createIfMissing: false)
        var rng = SplitMix64(seed: seed)
        let me = UInt64(getpid()) << 2
        cprwlock_store64(shared.inside(index), 0)
        func count(_ counter: TortureState.Counter, _ amount: Int64 = 1) {
            shared.counter(spawn, counter).pointee += amount
        }
        func noteWait(_ start: Int64) {
            let waited = cprwlock_monotonic_ns() - start
            if waited > shared.counter(spawn, .longestAcquireNanoseconds).pointee {
                shared.counter(spawn, .longestAcquireNanoseconds).pointee = waited
            }
        }
        while cprwlock_load32_relaxed(shared.stop) == 0 {
            let roll = rng.next() % 100
            let write = roll >= 60
            let start = cprwlock_monotonic_ns()
            // nil: not acquired; else whether the previous writer died (the notice).
            var writerDied: Bool?
            do {
                switch roll {
                case 0..<40: writerDied = try lock.acquireRead().previousWriterDied; noteWait(start)
                case 40..<50: writerDied = try lock.tryAcquireRead() ? lock.previousWriterDied : nil
                case 50..<60: writerDied = try lock.acquireRead(timeout: .milliseconds(Int64(1 + rng.next() % 20))).previousWriterDied
                case 60..<80: writerDied = try lock.acquireWrite().previousWriterDied; noteWait(start)
                case 80..<90: writerDied = try lock.tryAcquireWrite() ? lock.previousWriterDied : nil
                default: writerDied = try lock.acquireWrite(timeout: .milliseconds(Int64(1 + rng.next() % 20))).previousWriterDied
                }
            } catch RWLockError.timedOut {
                count(.timeouts)
                continue
            }
            guard let writerDied else {
                count(.tryFailures)
                continue
            }
            cprwlock_store64(shared.inside(index), me | (write ? 2 : 1))
            if shared.overlapsSomeone(index: index, writing: write) { count(.overlaps) }
            if write {
                if writerDied { count(.repairs) }
                // Stamp the start, half the data, hold (a kill now leaves the record torn), then the
                // rest and the end.
                let sequence = cprwlock_load32(shared.canary(0)) &+ 1
                for word in 0..<TortureState.canaryWords {
                    cprwlock_store32(shared.canary(word), sequence)
                    if word == TortureState.canaryWords / 2 { hold(&rng) }
                }
            } else {
                let first = cprwlock_load32(shared.canary(0))
                let torn = (1..<TortureState.canaryWords).contains { cprwlock_load32(shared.canary($0)) != first }
                if torn { count(writerDied ? .explainedTornReads : .tornReads) }
            }
            if !write { hold(&rng) }
            cprwlock_store64(shared.inside(index), 0)
            if write { try lock.releaseWrite() } else { try lock.releaseRead() }
            count(.operations)
        }
    }

    /// A quarter of holds last up to 1 ms, the rest are as short as they come.
    private func hold(_ rng: inout SplitMix64) {
        let hold = rng.next() % 400
        if hold < 100 { usleep(useconds_t(hold * 10)) }
    }

}
