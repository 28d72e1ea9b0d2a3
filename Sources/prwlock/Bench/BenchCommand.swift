import ArgumentParser
import CPRWLockShim
import Foundation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure prwlock against process-shared pthread_rwlock, flock and OFD locks in one run.",
        discussion: """
            Contenders are processes (not threads), unpinned; every figure is the median of the \
            repetitions, with the spread (max − min) beside it. Progress goes to stderr, one line \
            per measurement, with the time elapsed and an estimate of the time left (a quick run \
            takes under a minute, a full one about 5). Build with -c release first: \
            swift run -c release prwlock bench
            Scenarios: \(Scenario.allCases.map(\.rawValue).joined(separator: ", ")).
            """)

    @Flag(help: "Short runs (under a minute in all).")
    var quick = false

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Flag(help: "Print the table one column per lock (about 150 columns wide) instead of one line per lock.")
    var wide = false

    @Option(help: "Comma-separated scenarios to run (default: all).")
    var scenarios: String?

    @Option(help: "Comma-separated locks to compare (default: all): prwlock, pthread, pthread-writer, flock, ofd.")
    var locks: String?

    @Option(help: ArgumentHelp(
        "Also measure PostgresRWLock (uncontended-read and -write, as selected) on this server (e.g. postgres://prwlock@127.0.0.1:55432/postgres?sslmode=disable).",
        valueName: "url"))
    var postgres: String?

    @Option(help: "Also draw read-mostly throughput against process count (1, 2, 4, 8) as an SVG file.")
    var svg: String?

    @Option(help: ArgumentHelp(
        "Also draw the write pair's cost against the processes attached (the write-attached-N scenarios of this run) as an SVG file.",
        valueName: "svg"))
    var attachedSvg: String?

    func validate() throws {
        _ = try selectedScenarios()
        _ = try selectedLocks()
        if postgres != nil { try PostgresCommands.checkAvailable() }
        if attachedSvg != nil, try !selectedScenarios().contains(where: { $0.attached?.write == true }) {
            throw ValidationError("--attached-svg draws the write-attached-N scenarios: select at least one (e.g. --scenarios write-attached-1,write-attached-8,write-attached-64,write-attached-256)")
        }
    }

    func selectedScenarios() throws -> [Scenario] {
        guard let scenarios else { return Scenario.allCases }
        return try scenarios.split(separator: ",").map {
            guard let s = Scenario(rawValue: String($0)) else { throw ValidationError("unknown scenario '\($0)'") }
            return s
        }
    }

    func selectedLocks() throws -> [LockKind] {
        guard let locks else { return LockKind.allCases }
        return try locks.split(separator: ",").map {
            guard let k = LockKind(rawValue: String($0)) else { throw ValidationError("unknown lock '\($0)'") }
            return k
        }
    }

    func run() throws {
        let settings: BenchSettings = quick ? .quick : .full
        let runner = BenchRunner(settings: settings, progress: !json)
        var progress = BenchProgress(scenarios: try selectedScenarios(), locks: try selectedLocks(), settings: settings)
        var results: [BenchResult] = []
        runner.note(progress.opening)
        for (scenario, kind) in progress.steps {
            let result = try runner.run(scenario, kind)
            results.append(result)
            runner.note(progress.finished(result))
        }
        if let postgres {
            if !json { runner.note("PostgresRWLock at \(postgres): uncontended acquire+release pairs") }
            results += try PostgresBench.run(url: postgres, quick: quick, scenarios: try selectedScenarios(), locks: try selectedLocks())
        }
        if json {
            let report = BenchReport(machine: .current(quick: quick), results: results)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            let table = BenchTable(results: results, repetitions: settings.repetitions)
            print(wide ? table.renderWide() : table.render())
            print(MachineInfo.current(quick: quick).summary)
        }
        if let attachedSvg {
            try ScalingChart.attached(results).svg().write(toFile: attachedSvg, atomically: true, encoding: .utf8)
            if !json { print("chart written to \(attachedSvg)") }
        }
        if let svg {
            let points = try runner.scaling(locks: try selectedLocks())
            try ScalingChart(points: points).svg().write(toFile: svg, atomically: true, encoding: .utf8)
            if !json { print("chart written to \(svg)") }
        }
    }
}

enum Scenario: String, CaseIterable, Codable {
    case uncontendedRead = "uncontended-read"
    case uncontendedWrite = "uncontended-write"
    // Uncontended pairs with N participants attached and idle (capacity 1024): what a read and a
    // write cost as a pre-fork server grows.
    case readAttached1 = "read-attached-1", readAttached8 = "read-attached-8"
    case readAttached64 = "read-attached-64", readAttached256 = "read-attached-256"
    case writeAttached1 = "write-attached-1", writeAttached8 = "write-attached-8"
    case writeAttached64 = "write-attached-64", writeAttached256 = "write-attached-256"
    case readMostly2p = "read-mostly-2p"
    case readMostly4p = "read-mostly-4p"
    case mixed90_2p = "mixed-90-2p"
    case writeOnly2p = "write-only-2p"
    case handoff
    case writerWait = "writer-wait"
    case readerWait = "reader-wait"
    case recovery
    /// The CPU a waiter uses while it waits for a live holder (its liveness checks), in percent
    /// of one core: what recovery's promptness costs.
    case waiterCPU = "waiter-cpu"
    case memory

    var unit: String {
        switch self {
        case .uncontendedRead, .uncontendedWrite: return "ns"
        case .readAttached1, .readAttached8, .readAttached64, .readAttached256, .writeAttached1, .writeAttached8, .writeAttached64, .writeAttached256: return "ns"
        case .readMostly2p, .readMostly4p, .mixed90_2p, .writeOnly2p: return "ops/s"
        case .handoff: return "us"
        case .writerWait, .readerWait, .recovery: return "ms"
        case .waiterCPU: return "%"
        case .memory: return "bytes"
        }
    }

    /// For the *-attached-N scenarios: N, and whether the pair is a write.
    var attached: (count: Int, write: Bool)? {
        switch self {
        case .readAttached1: (1, false)
        case .readAttached8: (8, false)
        case .readAttached64: (64, false)
        case .readAttached256: (256, false)
        case .writeAttached1: (1, true)
        case .writeAttached8: (8, true)
        case .writeAttached64: (64, true)
        case .writeAttached256: (256, true)
        default: nil
        }
    }
}

struct BenchSettings {
    var repetitions: Int
    var uncontendedIterations: Int
    var throughputSeconds: Double
    var handoffRounds: Int
    var writerProbes: Int
    var writerCapMilliseconds: Int
    var recoveryRounds: Int
    var recoveryCapMilliseconds: Int
    /// waiter-cpu: how long the waiter's CPU time is sampled while it waits.
    var waiterCPUSeconds: Double

    /// writer-wait: each reader holds this long, and the two overlap; a fair lock lets a writer in
    /// after about one hold. reader-wait: each of two writers holds the write lock this long, in
    /// turn; a fair lock lets a reader in after about one hold.
    static let readerHoldMicroseconds = 100
    static let writerHoldMicroseconds = 100
    /// The capacity of the lock in the *-attached-N scenarios.
    static let attachedCapacity = 1024

    static let quick = BenchSettings(
        repetitions: 3, uncontendedIterations: 300_000, throughputSeconds: 0.5, handoffRounds: 100,
        writerProbes: 20, writerCapMilliseconds: 300, recoveryRounds: 3, recoveryCapMilliseconds: 1000,
        waiterCPUSeconds: 0.3)
    static let full = BenchSettings(
        repetitions: 5, uncontendedIterations: 3_000_000, throughputSeconds: 2, handoffRounds: 500,
        writerProbes: 100, writerCapMilliseconds: 2000, recoveryRounds: 7, recoveryCapMilliseconds: 2000,
        waiterCPUSeconds: 2)
}

struct BenchResult: Codable {
    var scenario: String
    var lock: String
    /// nil when the lock never got there (a starved writer, a dead holder's lock never freed).
    var value: Double?
    var unit: String
    /// max − min over the repetitions (or p99 for hand-off).
    var spread: Double?
    var p99: Double?
    var note: String?

    private enum CodingKeys: String, CodingKey { case scenario, lock, value, unit, spread, p99, note }

    /// `value` is always present: `null` when the lock never got there (pthread's recovery).
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(scenario, forKey: .scenario)
        try container.encode(lock, forKey: .lock)
        try container.encode(value, forKey: .value)
        try container.encode(unit, forKey: .unit)
        try container.encodeIfPresent(spread, forKey: .spread)
        try container.encodeIfPresent(p99, forKey: .p99)
        try container.encodeIfPresent(note, forKey: .note)
    }

    var formattedValue: String {
        guard let value else { return note ?? "never" }
        var text = BenchTable.format(value, unit: unit)
        if let p99 { text += " (p99 \(BenchTable.format(p99, unit: unit)))" }
        if let note { text += " [\(note)]" }
        return text
    }
}

struct BenchReport: Codable {
    var machine: MachineInfo
    var results: [BenchResult]
}

struct MachineInfo: Codable {
    var cores: Int
    var cpu: String
    var kernel: String
    var glibc: String
    var pinned: Bool
    var quick: Bool

    static func current(quick: Bool) -> MachineInfo {
        var name = utsname()
        uname(&name)
        let kernel = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let cpu = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("model name") })
            .map { $0.split(separator: ":", maxSplits: 1).last!.trimmingCharacters(in: .whitespaces) } ?? "unknown"
        return MachineInfo(
            cores: ProcessInfo.processInfo.activeProcessorCount, cpu: cpu, kernel: kernel,
            glibc: Self.libcVersion(), pinned: false, quick: quick)
    }

    /// glibc's version, from the confstr the C library answers (gnu_get_libc_version is not imported).
    private static func libcVersion() -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        guard confstr(Int32(_CS_GNU_LIBC_VERSION), &buffer, buffer.count) > 0 else { return "unknown" }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self).replacingOccurrences(of: "glibc ", with: "")
    }

    var summary: String {
        "\(cores) cores, \(cpu), Linux \(kernel), glibc \(glibc); processes not pinned; \(quick ? "quick" : "full") run"
    }
}
