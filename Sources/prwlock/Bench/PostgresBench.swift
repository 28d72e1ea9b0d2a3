import ArgumentParser
import Dispatch
import Glibc
import PRWLock
#if PostgreSQL
import PRWLockPostgres
#endif

/// `prwlock bench --postgres URL`: what an uncontended acquire and release cost on
/// PostgresRWLock (a round trip to the server each), beside RWLock driven through the same
/// async, protocol-generic code. Each pair is timed on its own; median and p99.
enum PostgresBench {
    /// Runs the uncontended scenarios among `scenarios`; RWLock's async figures only if
    /// `prwlock` is among `locks`.
    static func run(url: String, quick: Bool, scenarios: [Scenario], locks: [LockKind]) throws -> [BenchResult] {
        #if PostgreSQL
        let iterations = quick ? 500 : 5000
        return try waitForAsync {
            let postgres = try await PostgresRWLock(name: "prwlock-bench-\(getpid())", url: url)
            let shared = try RWLock()
            var results: [BenchResult] = []
            var contenders: [(String, any ReaderWriterLock)] = [("postgres", postgres)]
            if locks.contains(.prwlock) { contenders.append(("prwlock-async", shared)) }
            for scenario in [Scenario.uncontendedRead, .uncontendedWrite] where scenarios.contains(scenario) {
                let write = scenario == .uncontendedWrite
                for (label, lock) in contenders {
                    let (median, p99) = try await pairLatencies(lock, write: write, iterations: iterations)
                    results.append(BenchResult(
                        scenario: scenario.rawValue, lock: label, value: median, unit: "ns", spread: nil, p99: p99,
                        note: label == "postgres" ? "loopback round trips" : nil))
                }
            }
            await postgres.close()
            return results
        }
        #else
        throw ValidationError(PostgresCommands.unavailable)
        #endif
    }

    /// Times `iterations` acquire+release pairs one by one, after a warm-up; returns (median, p99) in ns.
    private static func pairLatencies(_ lock: some ReaderWriterLock, write: Bool, iterations: Int) async throws -> (Double, Double) {
        var samples: [Double] = []
        samples.reserveCapacity(iterations)
        for index in 0..<(iterations + iterations / 10) {
            let start = ContinuousClock.now
            if write {
                _ = try await lock.acquireWrite(timeout: nil)
                try await lock.releaseWrite()
            } else {
                _ = try await lock.acquireRead(timeout: nil)
                try await lock.releaseRead()
            }
            let elapsed = ContinuousClock.now - start
            if index >= iterations / 10 { samples.append(Double(elapsed / .nanoseconds(1))) }
        }
        samples.sort()
        return (samples[samples.count / 2], samples[samples.count * 99 / 100])
    }
}
