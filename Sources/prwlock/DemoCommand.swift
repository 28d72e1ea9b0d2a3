import ArgumentParser
import CPRWLockShim
import Foundation
import PRWLock

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Watch readers and writers share a lock, then see a writer SIGKILLed mid-write and the others carry on.",
        discussion: """
            Starts reader and writer processes on a named lock that guards a shared record. Half-way \
            through, one writer is SIGKILLed while it holds the lock with the record half written: \
            the others take over within milliseconds, and the next writer is told the previous one \
            died, repairs the record, and carries on. Exits 0 when no read was torn (other than those \
            the notice announced), no two holders overlapped, and the recovery happened.
            """)

    @Option(help: "Reader processes.") var readers = 3
    @Option(help: "Writer processes.") var writers = 2
    @Option(help: "How long to run, in seconds.") var seconds = 10.0

    func validate() throws {
        guard readers >= 0, writers >= 1, readers + writers <= TortureState.maxWorkers else {
            throw ValidationError("use at least 1 writer and at most \(TortureState.maxWorkers) processes in all")
        }
        guard seconds >= 1 else { throw ValidationError("--seconds must be at least 1") }
    }

    func run() throws {
        let tty = isatty(1) == 1
        func bold(_ text: String) -> String { tty ? "\u{1B}[1m\(text)\u{1B}[0m" : text }
        func colour(_ text: String, ok: Bool) -> String { tty ? "\u{1B}[\(ok ? 32 : 31)m\(text)\u{1B}[0m" : text }

        let tag = "\(getpid())"
        let name = "demo-\(tag)"
        try? RWLock.remove(name: name)
        _ = try RWLock(name: name)  // created; the workers open it by name
        defer { try? RWLock.remove(name: name) }
        let state = try TortureState.create(tag: "demo-\(tag)")
        defer { unlink(state.path) }
        let demo = DemoWords(state: state)

        print(bold("prwlock demo") + ": \(readers) readers and \(writers) writers share the lock '\(name)' for \(seconds) s")
        print("half-way, a writer is SIGKILLed while it holds the lock with the shared record half written")
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var workers: [Process] = []
        for index in 0..<(readers + writers) {
            let process = Process()
            process.executableURL = executable
            process.arguments = ["demo-worker", "--name", name, "--state", state.path, "--index", "\(index)",
                                 "--role", index < readers ? "reader" : "writer"]
            try process.run()
            workers.append(process)
        }

        let start = Date()
        let victim = readers  // the first writer
        var killedAt: Int64 = 0
        var lastPrint = Date.distantPast
        var lastOps = (reads: Int64(0), writes: Int64(0))
        var lastTime = start
        while Date().timeIntervalSince(start) < seconds {
            usleep(20_000)
            let elapsed = Date().timeIntervalSince(start)
            if killedAt == 0 && elapsed >= seconds / 2 {
                // Ask the victim to stop half-way through a write, wait until it does, and kill it.
                cprwlock_store64(demo.victimRequest, UInt64(victim + 1))
                let deadline = Date().addingTimeInterval(5)
                while cprwlock_load64(demo.victimHolding) == 0 && Date() < deadline { usleep(100) }
                killedAt = cprwlock_monotonic_ns()
                cprwlock_store64(demo.killedAt, UInt64(killedAt))
                kill(workers[victim].processIdentifier, SIGKILL)
                workers[victim].waitUntilExit()
                if tty { print("") }  // keep the progress line above this one
                print("  SIGKILLed writer pid \(workers[victim].processIdentifier) while it held the lock")
            }
            if Date().timeIntervalSince(lastPrint) >= (tty ? 0.2 : 2) {
                let reads = (0..<readers).reduce(Int64(0)) { $0 + state.counter($1, .operations).pointee }
                let writes = (readers..<(readers + writers)).reduce(Int64(0)) { $0 + state.counter($1, .operations).pointee }
                let interval = Date().timeIntervalSince(lastTime)
                let longest = Double((0..<(readers + writers)).map { state.counter($0, .longestAcquireNanoseconds).pointee }.max() ?? 0) / 1e6
                var line = String(format: "%4.1f s  reads %8.0f/s  writes %7.0f/s  longest wait %6.2f ms", elapsed,
                                  Double(reads - lastOps.reads) / interval, Double(writes - lastOps.writes) / interval, longest)
                if killedAt != 0 {
                    let first = Int64(bitPattern: cprwlock_load64(demo.firstAcquisitionAfterKill))
                    line += first > 0 ? String(format: "  | writer killed: others got in after %.2f ms", Double(first - killedAt) / 1e6)
                                      : "  | writer killed: waiting for recovery"
                }
                if tty { FileHandle.standardOutput.write(Data(("\r" + line).utf8)) } else { print("  " + line) }
                lastOps = (reads, writes)
                lastTime = Date()
                lastPrint = Date()
            }
        }
        cprwlock_store32(state.stop, 1)
        for worker in workers where worker.isRunning { worker.waitUntilExit() }
        if tty { print("") }

        let spawns = readers + writers
        let torn = state.total(.tornReads, spawns: spawns)
        let announced = state.total(.explainedTornReads, spawns: spawns)
        let overlaps = state.total(.overlaps, spawns: spawns)
        let repairs = state.total(.repairs, spawns: spawns)
        let first = Int64(bitPattern: cprwlock_load64(demo.firstAcquisitionAfterKill))
        let recoveryMilliseconds = first > 0 && killedAt > 0 ? Double(first - killedAt) / 1e6 : nil
        let readOps = (0..<readers).reduce(Int64(0)) { $0 + state.counter($1, .operations).pointee }
        let writeOps = state.total(.operations, spawns: spawns) - readOps
        let noticePID = cprwlock_load64(demo.noticeSeenBy)

        print(bold("summary"))
        print("  operations        \(readOps) reads, \(writeOps) writes")
        print("  longest wait      " + String(format: "%.2f ms", Double(state.maximum(.longestAcquireNanoseconds, spawns: spawns)) / 1e6))
        print("  torn reads        " + colour("\(torn)", ok: torn == 0) + (announced > 0 ? " (and \(announced) announced by the notice, as designed)" : ""))
        print("  overlaps          " + colour("\(overlaps)", ok: overlaps == 0))
        print("  recovery          " + (recoveryMilliseconds.map { colour(String(format: "the others got in %.2f ms after the SIGKILL", $0), ok: $0 < 1000) } ?? colour("never", ok: false)))
        print("  owner-died notice " + (noticePID != 0 ? colour("writer pid \(noticePID) was told and repaired the record (\(repairs) repair\(repairs == 1 ? "" : "s"))", ok: true) : colour("no writer was told", ok: false)))
        let ok = torn == 0 && overlaps == 0 && (recoveryMilliseconds ?? .infinity) < 1000 && noticePID != 0
        print(ok ? colour("every invariant held", ok: true) : colour("an invariant broke", ok: false))
        if !ok { throw ExitCode(1) }
    }
}

/// The demo's own words in the torture state file (the region between the stop flag and the
/// inside markers).
struct DemoWords {
    let state: TortureState
    private func word(_ index: Int) -> UnsafeMutablePointer<UInt64> { (state.base + 512 + index * 8).assumingMemoryBound(to: UInt64.self) }
    /// Worker index + 1 of the writer asked to stop half-way through its next write.
    var victimRequest: UnsafeMutablePointer<UInt64> { word(0) }
    /// The victim's pid once it holds the lock with the record half written.
    var victimHolding: UnsafeMutablePointer<UInt64> { word(1) }
    var killedAt: UnsafeMutablePointer<UInt64> { word(2) }
    /// When the first process got the lock after the kill (CLOCK_MONOTONIC ns).
    var firstAcquisitionAfterKill: UnsafeMutablePointer<UInt64> { word(3) }
    /// The pid of the first writer told that the previous writer died.
    var noticeSeenBy: UnsafeMutablePointer<UInt64> { word(4) }
}

/// One demo process. Not for direct use.
struct DemoWorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "demo-worker", abstract: "One process of `prwlock demo`.", shouldDisplay: false)

    @Option var name: String
    @Option var state: String
    @Option var index: Int
    @Option var role: String

    func run() throws {
        let shared = try TortureState(path: state)
        let demo = DemoWords(state: shared)
        let lock = try RWLock(name: name, createIfMissing: false)
        let writer = role == "writer"
        let marker = UInt64(getpid()) << 2 | (writer ? 2 : 1)
        func count(_ counter: TortureState.Counter) { shared.counter(index, counter).pointee += 1 }
        while cprwlock_load32_relaxed(shared.stop) == 0 {
            let start = cprwlock_monotonic_ns()
            let acquisition = writer ? try lock.acquireWrite() : try lock.acquireRead()
            let now = cprwlock_monotonic_ns()
            if now - start > shared.counter(index, .longestAcquireNanoseconds).pointee {
                shared.counter(index, .longestAcquireNanoseconds).pointee = now - start
            }
            let killedAt = cprwlock_load64(demo.killedAt)
            if killedAt != 0 && UInt64(now) > killedAt {
                _ = cprwlock_cas64(demo.firstAcquisitionAfterKill, 0, UInt64(now))
            }
            cprwlock_store64(shared.inside(index), marker)
            if shared.overlapsSomeone(index: index, writing: writer) { count(.overlaps) }
            if writer {
                if acquisition.previousWriterDied {
                    count(.repairs)
                    _ = cprwlock_cas64(demo.noticeSeenBy, 0, UInt64(getpid()))
                }
                let sequence = cprwlock_load32(shared.canary(0)) &+ 1
                for word in 0..<TortureState.canaryWords {
                    cprwlock_store32(shared.canary(word), sequence)
                    if word == TortureState.canaryWords / 2 {
                        if cprwlock_load64(demo.victimRequest) == UInt64(index + 1) {
                            cprwlock_store64(demo.victimHolding, UInt64(getpid()))
                            while true { sleep(60) }  // hold, half written, until SIGKILLed
                        }
                        usleep(200)
                    }
                }
            } else {
                let first = cprwlock_load32(shared.canary(0))
                let torn = (1..<TortureState.canaryWords).contains { cprwlock_load32(shared.canary($0)) != first }
                if torn { count(acquisition.previousWriterDied ? .explainedTornReads : .tornReads) }
                usleep(100)
            }
            cprwlock_store64(shared.inside(index), 0)
            if writer { try lock.releaseWrite() } else { try lock.releaseRead() }
            count(.operations)
            if writer { usleep(1000) }
        }
    }
}
