import Foundation

/// How long a bench run will take, said before it starts and refined after each measurement:
/// "[7/50] read-mostly-2p prwlock: 101.6 M/s   1:02 elapsed, about 3:10 left".
struct BenchProgress {
    let steps: [(scenario: Scenario, kind: LockKind)]
    let settings: BenchSettings
    let start = Date()
    private(set) var done = 0

    init(scenarios: [Scenario], locks: [LockKind], settings: BenchSettings) {
        steps = scenarios.flatMap { scenario in locks.map { (scenario, $0) } }
        self.settings = settings
    }

    /// Seconds one measurement is expected to take, from the settings (a rough model of each
    /// scenario's sleeps, rounds and process starts); only the proportions between steps matter
    /// once the run is under way.
    func expectedSeconds(_ scenario: Scenario, _ kind: LockKind) -> Double {
        let s = settings
        let processStart = 0.05
        let neverRecovers = kind == .pthread || kind == .pthreadWriter
        switch scenario {
        case .uncontendedRead, .uncontendedWrite:
            let perOperation = kind == .flock || kind == .ofd ? 1e-6 / 10 : 25e-9
            return Double(s.uncontendedIterations * (s.repetitions + 1)) * perOperation + 0.05
        case .readAttached1, .readAttached8, .readAttached64, .readAttached256, .writeAttached1, .writeAttached8, .writeAttached64, .writeAttached256:
            let perOperation = kind == .flock || kind == .ofd ? 1e-6 / 10 : 25e-9 + 1e-9 * Double(scenario.attached!.count)
            return Double(s.uncontendedIterations / 10 * (s.repetitions + 1)) * perOperation + (kind == .prwlock ? processStart * 4 : 0.05)
        case .readMostly2p, .mixed90_2p, .writeOnly2p, .readMostly4p:
            return Double(s.repetitions) * (s.throughputSeconds + 3 * processStart)
        case .handoff:
            return Double(s.handoffRounds) * 0.0012 + processStart
        case .writerWait:
            // pthread's default kind starves the writer until the cap.
            return (kind == .pthread ? Double(s.writerCapMilliseconds) / 1000 : Double(s.writerProbes) * 0.002) + 3 * processStart
        case .readerWait:
            // pthread's writer-preferring kind starves the reader until the cap.
            return (kind == .pthreadWriter ? Double(s.writerCapMilliseconds) / 1000 : Double(s.writerProbes) * 0.002) + 3 * processStart
        case .recovery:
            return neverRecovers ? Double(s.recoveryCapMilliseconds) / 1000 + 0.15 : Double(s.recoveryRounds) * 0.15
        case .waiterCPU:
            return s.waiterCPUSeconds + 0.1 + 3 * processStart
        case .memory:
            return 0.01
        }
    }

    var expectedTotal: Double { steps.reduce(0) { $0 + expectedSeconds($1.scenario, $1.kind) } }

    /// The line said before the first measurement.
    var opening: String {
        let scenarios = Set(steps.map(\.scenario)).count, locks = Set(steps.map(\.kind)).count
        return "prwlock bench: \(steps.count) measurements (\(scenarios) scenario(s) × \(locks) lock(s)), about \(Self.duration(expectedTotal)) in all"
    }

    /// Records the measurement just finished; returns its progress line.
    mutating func finished(_ result: BenchResult) -> String {
        done += 1
        let elapsed = Date().timeIntervalSince(start)
        let expectedDone = steps.prefix(done).reduce(0) { $0 + expectedSeconds($1.scenario, $1.kind) }
        let expectedLeft = expectedTotal - expectedDone
        // The model's remaining time, scaled by how fast this machine has been so far; the
        // scale is trusted in proportion as a fifth of the expected work is done (the first,
        // short steps alone would make a wild guess).
        let speed = expectedDone > 0 ? elapsed / expectedDone : 1
        let trust = min(1, expectedDone / max(0.2 * expectedTotal, .leastNonzeroMagnitude))
        let left = expectedLeft * (1 + trust * (speed - 1))
        let position = "[\(done)/\(steps.count)]"
        let tail = done == steps.count
            ? "\(Self.duration(elapsed)) in all"
            : "\(Self.duration(elapsed)) elapsed, about \(Self.duration(left)) left"
        return "\(position) \(result.scenario) \(result.lock): \(result.formattedValue)   \(tail)"
    }

    /// "0:45", "4:02".
    static func duration(_ seconds: Double) -> String {
        let whole = Int(max(0, seconds).rounded())
        return String(format: "%d:%02d", whole / 60, whole % 60)
    }
}
