import Foundation
import PRWLock
import Testing

/// Real processes of `prwlock-test-worker` on one lock. Serialized: each test's processes get
/// the machine's two cores to themselves, which keeps the generous bounds generous.
@Suite(.serialized) struct MultiProcessTests {
    @Test func readersShareAcrossProcessesAndWritersWait() throws {
        let lock = try RWLock()
        let readers = try (0..<2).map { _ in try Worker(["hold", lock.handle.description, "read", "3"]) }
        for reader in readers { #expect(reader.waitForLine(startingWith: "acquired") != nil) }
        // Both hold at once (neither has released), so reads are shared across processes.
        #expect(readers.allSatisfy { !$0.output.contains("released") })
        #expect(try lock.tryAcquireWrite() == false)
        #expect(try lock.tryAcquireRead())
        try lock.release()
        let start = monotonicSeconds()
        try lock.acquireWrite(timeout: .seconds(30))  // waits for both readers to finish
        #expect(monotonicSeconds() - start > 0.5)
        for reader in readers { #expect(reader.waitForLine(startingWith: "released") != nil) }
        try lock.release()
    }

    @Test func aSharedRecordIsNeverTornNorHeldByTwoWriters() throws {
        let lock = try RWLock()
        let record = SharedRecordFile()
        let workers = try (0..<3).map { _ in
            try Worker(["hammer", lock.handle.description, record.path, "3", "20"])
        }
        var totalOps = 0, totalWrites = 0
        for worker in workers {
            #expect(worker.waitForExit(timeout: 120) == 0, "\(worker.output)")
            let fields = try worker.hammerSummary()
            #expect(fields["torn"] == 0)
            #expect(fields["overlaps"] == 0)
            totalOps += fields["ops"]!
            totalWrites += fields["writes"]!
        }
        #expect(totalOps > 100)
        // Every write stamped the record once: what the writers stored is what the next holder saw.
        let data = try Data(contentsOf: URL(fileURLWithPath: record.path))
        let stamped = data.withUnsafeBytes { $0.load(as: UInt32.self) }
        #expect(Int(stamped) == totalWrites)
    }

    @Test func aWriterIsNotStarvedByOverlappingReaderProcesses() throws {
        let lock = try RWLock()
        let readers = try (0..<2).map { _ in try Worker(["read-loop", lock.handle.description, "8", "20"]) }
        for reader in readers { reader.waitForLine(startingWith: "started") }
        usleep(300_000)  // the readers' holds now overlap continuously
        for _ in 0..<5 {
            try lock.acquireWrite(timeout: .seconds(10))  // pthread's default kind would wait forever
            try lock.release()
            usleep(50_000)
        }
        for reader in readers { reader.kill() }
    }

    @Test func aReaderIsNotStarvedByAStreamOfWriterProcesses() throws {
        let lock = try RWLock()
        let writers = try (0..<2).map { _ in try Worker(["write-loop", lock.handle.description, "8", "5"]) }
        for writer in writers { writer.waitForLine(startingWith: "started") }
        usleep(300_000)
        for _ in 0..<5 {
            try lock.acquireRead(timeout: .seconds(10))
            try lock.release()
            usleep(50_000)
        }
        for writer in writers { writer.kill() }
    }

    @Test func signalsNeitherShortenATimedWaitNorFakeSuccess() throws {
        let lock = try RWLock()
        try lock.acquireWrite()
        for mode in ["read", "write"] {
            let waiter = try Worker(["timed", lock.handle.description, mode, "600"])
            // Interrupt the wait with SIGUSR1 every 10 ms (the worker's handler has no SA_RESTART).
            let end = monotonicSeconds() + 1.0
            usleep(50_000)
            while monotonicSeconds() < end && waiter.process.isRunning {
                waiter.kill(SIGUSR1)
                usleep(10_000)
            }
            let line = try #require(waiter.waitForLine(startingWith: "", timeout: 30))
            let parts = line.split(separator: " ")
            #expect(parts.first == "timedout", "\(mode): \(line)")
            #expect((Int(parts.last ?? "") ?? 0) >= 600, "\(mode) returned early: \(line)")
            #expect(waiter.waitForExit() == 0)
        }
        try lock.release()
    }

    @Test func aSpawnedChildOpensAnAnonymousLockByItsHandle() throws {
        // Foundation's Process closes inherited descriptors; the memfd is close-on-exec anyway.
        let lock = try RWLock()
        try lock.acquireWrite()
        let blocked = try Worker(["try", lock.handle.description, "read"])
        #expect(blocked.waitForLine(startingWith: "") == "false")
        try lock.release()
        try lock.acquireRead()
        let viaEnvironment = try Worker(
            ["try", "env", "read"],
            environment: ["PRWLOCK_HANDLE": lock.handle.description])
        #expect(viaEnvironment.waitForLine(startingWith: "") == "true")
        let writer = try Worker(["try", lock.handle.description, "write"])
        #expect(writer.waitForLine(startingWith: "") == "false")
        try lock.release()
        let writerAfter = try Worker(["try", lock.handle.description, "write"])
        #expect(writerAfter.waitForLine(startingWith: "") == "true")
    }

    @Test func aForkedChildIsItsOwnParticipant() throws {
        let lock = try RWLock()
        let worker = try Worker(["fork-exclusion", lock.handle.description])
        // The child's read attempt timed out beside the parent's write hold (0), and after the
        // parent released, another forked child took the write lock (0).
        #expect(worker.waitForLine(startingWith: "excluded=") == "excluded=0 afterwards=0")
        #expect(worker.waitForExit() == 0)
    }

    @Test func namedLocksRaceToCreateOneLock() throws {
        let name = uniqueLockName()
        defer { try? RWLock.remove(name: name) }
        let workers = try (0..<8).map { _ in try Worker(["open-named", name]) }
        for worker in workers {
            #expect(worker.waitForExit() == 0)
            #expect(worker.output == ["ok"])
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: "/dev/shm").filter { $0.contains(".prwlock.tmp.") }
        #expect(leftovers.isEmpty, "temporary files left: \(leftovers)")
    }

    @Test func namedLocksGetExactlyTheModeAskedForWhateverTheUmask() throws {
        for (umask, permissions, expected) in [("000", "600", "mode=600"), ("077", "600", "mode=600"), ("077", "660", "mode=660")] {
            let name = uniqueLockName()
            defer { try? RWLock.remove(name: name) }
            let worker = try Worker(["create-named", name, umask, permissions])
            #expect(worker.waitForLine(startingWith: "mode=") == expected, "umask \(umask), permissions \(permissions)")
        }
    }

    @Test func theUncontendedFastPathMakesNoSystemCall() throws {
        // strace counts the worker's system calls for 100 and for 20,000 read+write pairs: the
        // difference is the fast path's, and must be zero.
        let lock = try RWLock()
        func syscalls(_ pairs: Int) throws -> [String: Int] {
            let output = FileManager.default.temporaryDirectory.appendingPathComponent("prwlock-strace-\(getpid())-\(pairs)").path
            defer { try? FileManager.default.removeItem(atPath: output) }
            let strace = Process()
            strace.executableURL = URL(fileURLWithPath: "/usr/bin/strace")
            strace.arguments = ["-f", "-c", "-o", output, Worker.executable.path, "fastpath", lock.handle.description, "\(pairs)"]
            strace.standardOutput = FileHandle.nullDevice
            try strace.run()
            strace.waitUntilExit()
            #expect(strace.terminationStatus == 0)
            var counts: [String: Int] = [:]
            for line in try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n") {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                // "% time seconds usecs/call calls [errors] syscall"
                guard fields.count >= 5, let calls = Int(fields[3]), let name = fields.last, name != "total" else { continue }
                counts[String(name)] = calls
            }
            return counts
        }
        #expect(FileManager.default.isExecutableFile(atPath: "/usr/bin/strace"), "install strace (apt-get install -y strace)")
        let few = try syscalls(100)
        #expect(few["fcntl", default: 0] > 0, "strace's summary was not parsed: \(few)")  // attaching locks a byte
        let many = try syscalls(20_000)
        #expect(few["futex", default: 0] == many["futex", default: 0], "futex calls grew with the number of operations: \(few) vs \(many)")
        #expect(few["fcntl", default: 0] == many["fcntl", default: 0])
        #expect(many.values.reduce(0, +) - few.values.reduce(0, +) < 20, "\(few) vs \(many)")
    }
}
