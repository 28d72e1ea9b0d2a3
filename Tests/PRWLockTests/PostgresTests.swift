import Foundation
import PRWLock
import Testing

/// Where the PostgreSQL tests find their server: `eval "$(.ci/postgres start)"` sets it.
/// `.ci/run` also sets PRWLOCK_REQUIRE_POSTGRES=1, so that there they cannot be skipped.
enum TestServer {
    static let url = ProcessInfo.processInfo.environment["PRWLOCK_POSTGRES_URL"]
    static let isRequired = ProcessInfo.processInfo.environment["PRWLOCK_REQUIRE_POSTGRES"] == "1"
    static let shouldRun = url != nil || isRequired
}

@Test func thePostgreSQLTestsAreBuiltAndRunWhereRequired() {
    guard TestServer.isRequired else { return }
    #if PostgreSQL
    #expect(TestServer.url != nil, "PRWLOCK_REQUIRE_POSTGRES=1 but PRWLOCK_POSTGRES_URL is not set: run eval \"$(.ci/postgres start)\"")
    #else
    Issue.record("PRWLOCK_REQUIRE_POSTGRES=1 but the tests were built without the PostgreSQL trait: swift test --traits PostgreSQL")
    #endif
}

/// Says, in every test run, what the PostgreSQL tests did: plain `swift test` does not build them,
/// and its pass must not be taken for the whole suite's. Reported as a skipped test, with the
/// command that runs them and what it costs.
@Test(.disabled(if: TestServer.notBuiltReason != nil, TestServer.notBuiltReason.map { Comment(rawValue: $0) }))
func thePostgreSQLTestsWereBuilt() {}

extension TestServer {
    /// Why the PostgreSQL tests are not in this build, or nil if they are (then the suites that
    /// need a server say themselves whether they were skipped for want of one).
    static var notBuiltReason: String? {
        #if PostgreSQL
        return nil
        #else
        return "\(postgreSQLTestCount.map(String.init) ?? "the") PostgreSQL tests were left out of this build: "
            + "eval \"$(.ci/postgres start)\" (a throwaway server), then swift test --no-parallel --traits PostgreSQL, "
            + "which also compiles postgres-nio and swift-nio-ssl (8-9 minutes more on 2 cores, the first time)"
        #endif
    }

    /// The tests this file builds only with the trait: those after its `#if PostgreSQL`.
    static var postgreSQLTestCount: Int? {
        guard let source = try? String(contentsOfFile: #filePath, encoding: .utf8),
              let start = source.range(of: "\n#if PostgreSQL\n")
        else { return nil }
        return source[start.upperBound...].split(separator: "\n").filter { $0.trimmingCharacters(in: .whitespaces).hasPrefix("@Test") }.count
    }
}

#if PostgreSQL
import Logging
import PostgresNIO
@testable import PRWLockPostgres

/// Application code written once, against the protocol: it runs on both locks below.
private func addOne(to counter: SharedTally, under lock: some ReaderWriterLock) async throws -> Int {
    let before = try await lock.withReadLock { counter.value }
    try await lock.withWriteLock(timeout: .seconds(10)) {
        await Task.yield()
        counter.value += 1
    }
    return before
}

private final class SharedTally: @unchecked Sendable {
    var value = 0
    var inside = 0
    var overlaps = 0
}

/// The issue's contract, compiled verbatim (not run: there is no server at that address).
private func contractSpellings() async throws {
    let lock = try await PostgresRWLock(name: "inventory", url: "postgres://app@127.0.0.1:5432/app")
    try await lock.withReadLock { /* ... */ }
    try await lock.withWriteLock(timeout: .seconds(1)) { /* ... */ }   // throws RWLockError.timedOut
}

/// What pg_locks says about a key, read on a connection of the test's own.
private struct AdvisoryRow: Equatable {
    let pid: Int32
    let mode: String
    let granted: Bool
}

private func withTestConnection<R>(_ body: (PostgresConnection) async throws -> R) async throws -> R {
    let configuration = try ConnectionURL.configuration(from: try #require(TestServer.url))
    let logger = Logger.silent
    let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
    do {
        let result = try await body(connection)
        try await connection.close()
        return result
    } catch {
        try? await connection.close()
        throw error
    }
}

private func advisoryRows(_ key: PostgresLockKey) async throws -> [AdvisoryRow] {
    try await withTestConnection { connection in
        let logger = Logger.silent
        let rows = try await connection.query("""
            SELECT pid, mode, granted FROM pg_locks WHERE locktype = 'advisory'
                AND classid = \(Int64(key.classID))::oid AND objid = \(Int64(key.objectID))::oid AND objsubid = 1
            """, logger: logger)
        var result: [AdvisoryRow] = []
        for try await (pid, mode, granted) in rows.decode((Int32, String, Bool).self) {
            result.append(AdvisoryRow(pid: pid, mode: mode, granted: granted))
        }
        return result
    }
}

/// Polls `condition` for up to `seconds`; returns whether it became true.
private func eventually(within seconds: Double = 5, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let end = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < end {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

@Suite struct PostgresLockKeyTests {
    @Test func theNameHashIsFixed() {
        // FNV-1a 64 test vectors: the key of a name must never change between versions.
        #expect(PostgresLockKey(name: "").value == Int64(bitPattern: 0xcbf2_9ce4_8422_2325))
        #expect(PostgresLockKey(name: "a").value == Int64(bitPattern: 0xaf63_dc4c_8601_ec8c))
        #expect(PostgresLockKey(name: "foobar").value == Int64(bitPattern: 0x8594_4171_f739_67e8))
        #expect(PostgresLockKey(name: "inventory") != PostgresLockKey(name: "inventorz"))
        let key = PostgresLockKey(Int64(bitPattern: 0x1234_5678_9abc_def0))
        #expect(key.classID == 0x1234_5678 && key.objectID == 0x9abc_def0)
    }

    @Test func badURLsAreRefusedWithWhatToDo() async throws {
        let cases: [(String, String)] = [
            ("http://app@localhost/app", "scheme"),
            ("postgres://localhost/app", "no user"),
            ("postgres://app@/app", "no host"),
            ("postgres://app@localhost/app?sslmode=maybe", "sslmode"),
            ("postgres://app@localhost/app?colour=blue", "unknown parameter"),
            ("postgres://app@localhost/app?host=relative/dir", "absolute path"),
        ]
        for (url, expected) in cases {
            do {
                _ = try await PostgresRWLock(name: "x", url: url)
                Issue.record("\(url) was accepted")
            } catch let error as RWLockError {
                guard case let .invalidArgument(message) = error else { Issue.record("\(error)"); continue }
                #expect(message.contains(expected), "\(message)")
            }
        }
        let withPassword = ConnectionURL.redacted("postgres://app:secret@localhost/app")
        #expect(!withPassword.contains("secret"))
        // Percent-escapes are decoded once: "%40" is "@", "%2541" is "%41".
        let escaped = try ConnectionURL.configuration(from: "postgres://us%40er:p%2541ss@localhost/db?sslmode=disable")
        #expect(escaped.username == "us@er" && escaped.password == "p%41ss")
    }

    @Test func anUnreachableServerIsAConnectionFailure() async throws {
        // Port 1 on loopback: nothing listens there.
        await #expect(throws: RWLockError.self) {
            _ = try await PostgresRWLock(name: "x", url: "postgres://app@127.0.0.1:1/app?sslmode=disable&connect_timeout=5")
        }
        do {
            _ = try await PostgresRWLock(name: "x", url: "postgres://app@127.0.0.1:1/app?sslmode=disable")
        } catch let error as RWLockError {
            guard case .connectionFailed = error else { Issue.record("\(error)"); return }
            #expect(error.description.contains("check the URL"))
        }
    }
}

/// Against a real server (a throwaway cluster `.ci/run` starts), with real processes.
@Suite(.serialized, .enabled(if: TestServer.shouldRun, "set PRWLOCK_POSTGRES_URL: eval \"$(.ci/postgres start)\""))
struct PostgresLockTests {
    let url = TestServer.url ?? "postgres://unset@127.0.0.1:1/unset"

    @Test func twoProcessesOnTwoConnectionsExcludeEachOther() async throws {
        let name = uniqueLockName()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(name).count").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        // Each worker reads the count, sleeps 1 ms, writes it plus one: without exclusion,
        // increments are lost.
        let workers = try (0..<2).map { _ in try Worker(["pg-counter", url, name, file, "60"]) }
        for worker in workers { #expect(await worker.line(startingWith: "ready") != nil) }
        #expect(FileManager.default.createFile(atPath: file + ".go", contents: nil))  // both start together
        defer { try? FileManager.default.removeItem(atPath: file + ".go") }
        for worker in workers { #expect(await worker.exitStatus(timeout: 120) == 0, "\(worker.output)") }
        let count = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(count == "120")

        // And a holder in another process keeps this process out, in both modes.
        let holder = try Worker(["pg-hold", url, name, "write", "4"])
        #expect(await holder.line(startingWith: "acquired") != nil)
        let lock = try await PostgresRWLock(name: name, url: url)
        #expect(try await lock.tryAcquireRead() == false)
        #expect(try await lock.tryAcquireWrite() == false)
        try await lock.withWriteLock(timeout: .seconds(60)) {}  // waits for the holder's release
        #expect(await holder.line(startingWith: "released", timeout: 10) != nil, "had it before the holder released")
        await lock.close()
    }

    @Test func readersShareAcrossProcessesAndAWaitingWriterHoldsBackNewReaders() async throws {
        let name = uniqueLockName()
        let reader = try Worker(["pg-hold", url, name, "read", "600"])  // killed below
        #expect(await reader.line(startingWith: "acquired") != nil)
        let lock = try await PostgresRWLock(name: name, url: url)
        #expect(try await lock.tryAcquireRead())  // shared with the other process
        let other = try await PostgresRWLock(name: name, url: url)
        #expect(try await other.tryAcquireWrite() == false)
        try await lock.releaseRead()

        // A writer waits on the server for the reader; a reader that comes after it waits too.
        let writer = Task { try await other.withWriteLock(timeout: .seconds(30)) { ContinuousClock.now } }
        #expect(try await eventually { try await advisoryRows(other.key).contains { !$0.granted } })
        let late = try Worker(["pg-timed", url, name, "read", "500"])
        #expect(await late.line(startingWith: "timedout") != nil, "\(late.output)")
        reader.kill()  // the reader's death lets the writer in
        _ = try await writer.value
        await lock.close()
        await other.close()
    }

    @Test func aSIGKILLedHolderFreesTheLockWithinASecond() async throws {
        let name = uniqueLockName()
        let holder = try Worker(["pg-hold", url, name, "write", "600"])
        #expect(await holder.line(startingWith: "acquired") != nil)
        let lock = try await PostgresRWLock(name: name, url: url)
        let waiter = Task { try await lock.withWriteLock(timeout: .seconds(30)) { ContinuousClock.now } }
        #expect(try await eventually { try await advisoryRows(lock.key).contains { !$0.granted } })
        let killed = ContinuousClock.now
        holder.kill()
        let acquired = try await waiter.value
        #expect(acquired - killed < .seconds(1), "took \(acquired - killed)")
        await lock.close()
    }

    @Test func aTimeoutEndsTheWaitOnTheServerAndLeavesNothingInPgLocks() async throws {
        let name = uniqueLockName()
        let holder = try Worker(["pg-hold", url, name, "write", "600"])  // killed below
        #expect(await holder.line(startingWith: "acquired") != nil)
        let lock = try await PostgresRWLock(name: name, url: url)
        for write in [true, false] {
            let start = ContinuousClock.now
            await #expect(throws: RWLockError.timedOut) {
                if write { try await lock.acquireWrite(timeout: .milliseconds(300)) } else { try await lock.acquireRead(timeout: .milliseconds(300)) }
            }
            #expect(ContinuousClock.now - start >= .milliseconds(300))
            // The holder's row only: no waiting request and no lock of this session remain.
            let rows = try await advisoryRows(lock.key)
            #expect(rows.count == 1 && rows[0].granted && rows[0].mode == "ExclusiveLock", "\(rows)")
        }
        // The session is still usable afterwards.
        holder.kill()
        try await lock.withWriteLock(timeout: .seconds(10)) {}
        #expect(try await advisoryRows(lock.key).isEmpty)
        await lock.close()
    }

    @Test func cancellingAWaitingTaskEndsItsWaitOnTheServer() async throws {
        let name = uniqueLockName()
        let holder = try Worker(["pg-hold", url, name, "write", "30"])
        #expect(await holder.line(startingWith: "acquired") != nil)
        let lock = try await PostgresRWLock(name: name, url: url)
        let waiter = Task { try await lock.acquireWrite() }
        #expect(try await eventually { try await advisoryRows(lock.key).contains { !$0.granted } })
        let cancelled = ContinuousClock.now
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(ContinuousClock.now - cancelled < .seconds(5))
        #expect(try await eventually { try await advisoryRows(lock.key).allSatisfy(\.granted) })
        // Nothing held here: the lock is still usable once the holder is gone.
        holder.kill()
        try await lock.withReadLock(timeout: .seconds(10)) {}
        await lock.close()
    }

    @Test func tasksOfOneProcessExcludeEachOtherThroughOneSession() async throws {
        let lock = try await PostgresRWLock(name: uniqueLockName(), url: url)
        let counter = SharedTally()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    for _ in 0..<5 {
                        try await lock.withWriteLock {
                            counter.inside += 1
                            if counter.inside > 1 { counter.overlaps += 1 }
                            try await Task.sleep(for: .milliseconds(1))
                            counter.value += 1
                            counter.inside -= 1
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(counter.value == 100 && counter.overlaps == 0)

        // Readers of one process share: two tasks hold at once.
        let bothInside = try await withThrowingTaskGroup(of: Bool.self) { group in
            let gate = SharedTally()
            for _ in 0..<2 {
                group.addTask {
                    try await lock.withReadLock(timeout: .seconds(10)) {
                        gate.inside += 1
                        let end = ContinuousClock.now + .seconds(5)
                        while gate.inside < 2, ContinuousClock.now < end { try await Task.sleep(for: .milliseconds(2)) }
                        return gate.inside == 2
                    }
                }
            }
            return try await group.reduce(true) { $0 && $1 }
        }
        #expect(bothInside)
        // A read hold older than the join window is still joined when nobody waits on the server.
        try await lock.acquireRead()
        try await Task.sleep(for: .milliseconds(50))
        #expect(try await lock.tryAcquireRead())
        try await lock.releaseRead()
        try await lock.releaseRead()
        #expect(try await advisoryRows(lock.key).isEmpty)
        await lock.close()
    }

    @Test func aLostConnectionIsReportedAsTheLockLost() async throws {
        let lock = try await PostgresRWLock(name: uniqueLockName(), url: url)
        try await lock.acquireWrite()
        let holderPID = try #require(try await advisoryRows(lock.key).first?.pid)
        try await withTestConnection { connection in
            let logger = Logger.silent
            _ = try await connection.query("SELECT pg_terminate_backend(\(holderPID))", logger: logger).collect()
        }
        // Another process can take the lock now; the holder is told at its release.
        let other = try await PostgresRWLock(name: lock.name!, url: url)
        try await other.withWriteLock(timeout: .seconds(10)) {}
        do {
            try await lock.releaseWrite()
            Issue.record("the release of a lost hold succeeded")
        } catch let error as RWLockError {
            guard case .lockLost = error else { Issue.record("\(error)"); return }
        }
        // The next acquisition connects again.
        try await lock.withWriteLock(timeout: .seconds(10)) {}
        await #expect(throws: RWLockError.notHeld) { try await lock.releaseRead() }
        await lock.close()
        await other.close()
    }

    @Test func aKilledWaitingProcessLeavesTheServersQueue() async throws {
        let name = uniqueLockName()
        let lock = try await PostgresRWLock(name: name, url: url)
        try await lock.acquireWrite()
        let waiter = try Worker(["pg-timed", url, name, "write", "600000"])
        #expect(try await eventually(within: 30) { try await advisoryRows(lock.key).contains { !$0.granted } })
        waiter.kill()
        // client_connection_check_interval (500 ms) makes the waiting backend notice its client
        // is gone; without it the request would stay queued until granted.
        #expect(try await eventually(within: 10) { try await advisoryRows(lock.key).allSatisfy(\.granted) })
        try await lock.releaseWrite()
        await lock.close()
    }

    @Test func verifyHeldAsksTheServer() async throws {
        let lock = try await PostgresRWLock(name: uniqueLockName(), url: url)
        await #expect(throws: RWLockError.notHeld) { try await lock.verifyHeld() }
        try await lock.acquireRead()
        try await lock.verifyHeld()
        let backend = try #require(try await advisoryRows(lock.key).first?.pid)
        try await withTestConnection { connection in
            _ = try await connection.query("SELECT pg_terminate_backend(\(backend))", logger: .silent).collect()
        }
        do {
            try await lock.verifyHeld()
            Issue.record("verifyHeld() passed after the server ended the session")
        } catch let error as RWLockError {
            guard case .lockLost = error else { Issue.record("\(error)"); return }
        }
        await #expect(throws: RWLockError.self) { try await lock.releaseRead() }
        await lock.close()
    }

    @Test func tlsAsLibpqDoes() async throws {
        let ssl = try await withTestConnection { connection in
            try await connection.query("SHOW ssl", logger: .silent).collect().first?.decode(String.self)
        }
        try #require(ssl == "on", "the test cluster has TLS off: start it with .ci/postgres")
        // A self-signed certificate: prefer and require encrypt without checking it...
        for mode in ["prefer", "require"] {
            let tlsURL = url.replacingOccurrences(of: "sslmode=disable", with: "sslmode=\(mode)")
            let lock = try await PostgresRWLock(name: uniqueLockName(), url: tlsURL)
            try await lock.withWriteLock(timeout: .seconds(10)) {}
            await lock.close()
        }
        // ...verify-full refuses it.
        let strict = url.replacingOccurrences(of: "sslmode=disable", with: "sslmode=verify-full")
        do {
            _ = try await PostgresRWLock(name: uniqueLockName(), url: strict)
            Issue.record("verify-full accepted a self-signed certificate")
        } catch let error as RWLockError {
            guard case .connectionFailed = error else { Issue.record("\(error)"); return }
        }
    }

    @Test func theBenchMeasuresThePostgreSQLLock() throws {
        let run = try CommandLineTests.Run([
            "bench", "--quick", "--json", "--scenarios", "uncontended-read,uncontended-write", "--locks", "prwlock",
            "--postgres", url,
        ])
        let (status, stdout, stderr) = run.finish()
        #expect(status == 0, "\(stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any]
        let results = try #require(report?["results"] as? [[String: Any]])
        for lock in ["postgres", "prwlock-async"] {
            for scenario in ["uncontended-read", "uncontended-write"] {
                let row = results.first { $0["lock"] as? String == lock && $0["scenario"] as? String == scenario }
                #expect((row?["value"] as? Double ?? 0) > 0, "\(lock) \(scenario): \(String(describing: row))")
            }
        }
    }

    @Test func theCommandRunsUnderAndShowsThePostgreSQLLock() throws {
        let name = uniqueLockName()
        let holder = try CommandLineTests.Run(["run", "--postgres", url, "--write", name, "--", "sleep", "600"])
        var shown = ""
        let end = monotonicSeconds() + 20
        while monotonicSeconds() < end, !shown.contains("holds  write") {
            shown = try CommandLineTests.Run(["status", "--postgres", url, name]).finish().stdout
            usleep(50_000)
        }
        #expect(shown.contains("held for writing by prwlock "), "\(shown)")
        let busy = try CommandLineTests.Run(["run", "--postgres", url, "--read", "--nonblock", name, "--", "true"]).finish()
        #expect(busy.status == 75)
        #expect(busy.stderr.contains("is busy (held for writing by prwlock "), "\(busy.stderr)")
        let json = try CommandLineTests.Run(["status", "--postgres", url, "--json", name]).finish().stdout
        #expect(json.contains("\"mode\":\"write\""), "\(json)")
        kill(holder.process.processIdentifier, SIGTERM)  // passed on to sleep, which dies of it
        #expect(holder.finish().status == 128 + SIGTERM)
        #expect(try CommandLineTests.Run(["run", "--postgres", url, "--read", name, "--", "sh", "-c", "exit 7"]).finish().status == 7)
        #expect(try CommandLineTests.Run(["status", "--postgres", url, name]).finish().stdout.contains(": free"))
    }

    @Test func theSameCodeRunsOnBothLocks() async throws {
        let counter = SharedTally()
        let shared = try RWLock()
        let postgres = try await PostgresRWLock(name: uniqueLockName(), url: url)
        #expect(try await addOne(to: counter, under: shared) == 0)
        #expect(try await addOne(to: counter, under: postgres) == 1)
        #expect(counter.value == 2)
        try await restock(postgres)  // the README's example, on the real server
        for lock in [shared, postgres] as [any ReaderWriterLock] {
            #expect(try await lock.withWriteLockIfAvailable { 7 } == 7)
            _ = try await lock.acquireRead(timeout: nil)
            #expect(try await lock.withWriteLockIfAvailable { 7 } == nil)
            try await lock.releaseRead()
        }
        await postgres.close()
    }
}

/// Regressions from an independent review of the session protocol: each failed before its fix.
@Suite(.serialized, .enabled(if: TestServer.shouldRun, "set PRWLOCK_POSTGRES_URL: eval \"$(.ci/postgres start)\""))
struct PostgresReviewRegressionTests {
    let url = TestServer.url ?? "postgres://unset@127.0.0.1:1/unset"

    private func execute(_ sql: String) async throws {
        try await withTestConnection { connection in
            _ = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: .silent).collect()
        }
    }

    @Test func aDoubleReleaseIsNotHeldAndQueuedWritersStayAlone() async throws {
        let lock = try await PostgresRWLock(name: uniqueLockName(), url: url)
        try await lock.acquireWrite()
        let tally = SharedTally()
        let writers = (0..<2).map { _ in
            Task {
                try await lock.withWriteLock(timeout: .seconds(30)) {
                    tally.inside += 1
                    tally.overlaps = max(tally.overlaps, tally.inside)
                    try await Task.sleep(for: .milliseconds(200))
                    tally.inside -= 1
                }
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        let releases = (0..<2).map { _ in Task { try await lock.releaseWrite() } }  // at once: misuse
        var notHeld = 0
        for release in releases {
            if case let .failure(error) = await release.result {
                #expect(error as? RWLockError == .notHeld, "\(error)")
                notHeld += 1
            }
        }
        #expect(notHeld == 1)
        for writer in writers { try await writer.value }
        #expect(tally.overlaps == 1, "writers inside at once: \(tally.overlaps)")
        await lock.close()
    }

    @Test func aConnectionLostDuringTheLastReleaseLeavesNothingHeld() async throws {
        for round in 0..<10 {
            let lock = try await PostgresRWLock(name: uniqueLockName(), url: url)
            try await lock.acquireWrite()
            let backend = try #require(try await advisoryRows(lock.key).first?.pid)
            // Only a server process of this machine may be signalled (not whatever has that PID
            // here when the server is elsewhere).
            let command = try? String(contentsOfFile: "/proc/\(backend)/comm", encoding: .utf8)
            try #require(command?.hasPrefix("postgres") == true, "this test needs the PostgreSQL server on this machine")
            try #require(kill(backend, SIGSTOP) == 0, "cannot signal the server's processes: run the tests as root or as the server's user")
            let release = Task { try await lock.releaseWrite() }
            try await Task.sleep(for: .milliseconds(100))
            if round % 2 == 0 {
                kill(backend, SIGTERM); kill(backend, SIGCONT)
            } else {
                kill(backend, SIGCONT); kill(backend, SIGTERM)
            }
            _ = try? await release.value
            // A new hold, on a new connection, is released normally and completely.
            try await lock.acquireWrite(timeout: .seconds(10))
            try await lock.releaseWrite()
            #expect(try await advisoryRows(lock.key).isEmpty, "round \(round)")
            await lock.close()
        }
    }

    @Test func readersOfOneProcessDoNotStarveAWriterElsewhere() async throws {
        let name = uniqueLockName()
        let readers = try await PostgresRWLock(name: name, url: url)
        let writer = try await PostgresRWLock(name: name, url: url)
        let stop = SharedTally()
        // Two tasks whose 50 ms reads overlap without a gap, for as long as the test runs.
        let tasks = (0..<2).map { index in
            Task {
                try await Task.sleep(for: .milliseconds(25 * index))
                while stop.value == 0 {
                    try await readers.withReadLock { try await Task.sleep(for: .milliseconds(50)) }
                }
            }
        }
        try await Task.sleep(for: .milliseconds(200))
        try await writer.withWriteLock(timeout: .seconds(10)) {}
        stop.value = 1
        for task in tasks { try await task.value }
        await readers.close()
        await writer.close()
    }

    @Test func aRolesTimeoutsDoNotEndWaitsOrHolds() async throws {
        let role = "prwlock_short_timeouts"
        try await execute("DROP ROLE IF EXISTS \(role)")
        try await execute("CREATE ROLE \(role) LOGIN")
        try await execute("ALTER ROLE \(role) SET statement_timeout = '300ms'")
        try await execute("ALTER ROLE \(role) SET idle_session_timeout = '500ms'")
        defer { Task { try? await execute("DROP ROLE IF EXISTS \(role)") } }
        let name = uniqueLockName()
        let roleURL = try #require(URLComponents(string: url)).with(user: role)
        let holder = try await PostgresRWLock(name: name, url: url)
        let lock = try await PostgresRWLock(name: name, url: roleURL)
        try await holder.acquireWrite()
        let waiter = Task { try await lock.acquireWrite() }  // untimed: must outlast statement_timeout
        try await Task.sleep(for: .milliseconds(800))
        try await holder.releaseWrite()
        #expect(try await waiter.value.previousWriterDied == false)
        try await Task.sleep(for: .milliseconds(1000))  // idle while holding: longer than idle_session_timeout
        #expect(try await holder.tryAcquireWrite() == false)
        try await lock.releaseWrite()
        await holder.close()
        await lock.close()
    }

    @Test func aTimeoutLongerThanTheServerTakesIsStillAWait() async throws {
        let name = uniqueLockName()
        let lock = try await PostgresRWLock(name: name, url: url)
        let other = try await PostgresRWLock(name: name, url: url)
        try await other.acquireWrite()
        let waiter = Task { try await lock.acquireWrite(timeout: .seconds(30 * 86_400)) }  // over Int32.max ms
        try await Task.sleep(for: .milliseconds(300))
        try await other.releaseWrite()
        #expect(try await waiter.value.previousWriterDied == false)
        try await lock.releaseWrite()
        await lock.close()
        await other.close()
    }
}

extension URLComponents {
    fileprivate func with(user: String) -> String {
        var copy = self
        copy.user = user
        return copy.string!
    }
}

#endif
