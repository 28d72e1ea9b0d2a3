import Foundation
import PRWLock
import Testing

/// The real `prwlock` binary: exit statuses, output formats, and the lock it holds for a command.
@Suite(.serialized) struct CommandLineTests {
    /// A started `prwlock` process (or `executable`) with its stdout and stderr collected.
    final class Run: @unchecked Sendable {
        let process = Process()
        let out = Pipe()
        let err = Pipe()

        init(_ arguments: [String], executable: URL = ToolsTests.prwlock) throws {
            process.executableURL = executable
            process.arguments = arguments
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = out
            process.standardError = err
            try process.run()
        }

        /// Waits for the end; returns the exit status and both outputs.
        func finish() -> (status: Int32, stdout: String, stderr: String) {
            let stdout = out.fileHandleForReading.readDataToEndOfFile()
            let stderr = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
        }
    }

    func prwlock(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try Run(arguments).finish()
    }

    /// Waits until `lock` shows a holder (read or write) other than this process.
    func waitUntilHeld(_ lock: RWLock) throws {
        let end = monotonicSeconds() + 20
        while monotonicSeconds() < end {
            let status = try lock.status()
            if status.writerHolds || status.participants.contains(where: { !$0.isSelf && $0.readers > 0 }) { return }
            usleep(5000)
        }
        Issue.record("the lock was never held")
    }

    @Test func theCommandsExitStatusIsPassedThrough() throws {
        let name = uniqueLockName()
        defer { try? RWLock.remove(name: name) }
        #expect(try prwlock(["run", "--write", name, "--", "sh", "-c", "exit 7"]).status == 7)
        #expect(try prwlock(["run", "--read", name, "--", "true"]).status == 0)
        #expect(try prwlock(["run", "--write", name, "--", "sh", "-c", "kill -TERM $$"]).status == 128 + SIGTERM)
        #expect(try toldRun(name).status == 0)  // clears the notice that death left
        #expect(try prwlock(["run", "--write", name, "--", "/nonexistent/command"]).status == 127)
        // A command that could not be started changed nothing: no owner-died notice.
        #expect(try noticeIsSet(name) == false)
    }

    @Test func aBusyLockExits75AtOnceNamingTheHolder() throws {
        let name = uniqueLockName()
        let lock = try RWLock(name: name)
        defer { try? RWLock.remove(name: name) }
        try lock.acquireWrite()
        let nonblock = try prwlock(["run", "--write", "--nonblock", name, "--", "true"])
        #expect(nonblock.status == 75)
        #expect(nonblock.stderr.contains("pid \(getpid())"), "\(nonblock.stderr)")
        let start = monotonicSeconds()
        let timed = try prwlock(["run", "--read", "--timeout", "0.3", name, "--", "true"])
        #expect(timed.status == 75)
        #expect(monotonicSeconds() - start >= 0.3)
        #expect(timed.stderr.split(separator: "\n").count == 1, "one line: \(timed.stderr)")
        try lock.releaseWrite()
        #expect(try prwlock(["run", "--write", "--nonblock", name, "--", "true"]).status == 0)
    }

    @Test func twoReadRunsHoldTogether() throws {
        let name = uniqueLockName()
        defer { try? RWLock.remove(name: name) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prwlock-cli-\(getpid())-\(UInt32.random(in: 0 ... .max))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Each command announces itself, then waits (up to 10 s) for the other: possible only if
        // both hold the read lock at once.
        let script = { (me: String, other: String) in
            "touch \(dir)/\(me); for i in $(seq 200); do [ -e \(dir)/\(other) ] && exit 0; sleep 0.05; done; exit 9"
        }
        let a = try Run(["run", "--read", name, "--", "sh", "-c", script("a", "b")])
        let b = try Run(["run", "--read", name, "--", "sh", "-c", script("b", "a")])
        #expect(a.finish().status == 0)
        #expect(b.finish().status == 0)
    }

    @Test func writeRunsNeverOverlap() throws {
        let name = uniqueLockName()
        defer { try? RWLock.remove(name: name) }
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("prwlock-cli-\(getpid())-\(UInt32.random(in: 0 ... .max))").path
        // mkdir is atomic: it fails if another holder is inside.
        let script = "mkdir \(marker) || exit 9; sleep 0.05; rmdir \(marker)"
        let runs = try (0..<6).map { _ in try Run(["run", "--write", "--timeout", "30", name, "--", "sh", "-c", script]) }
        for run in runs { #expect(run.finish().status == 0) }
    }

    @Test func signalsReachTheCommand() throws {
        let name = uniqueLockName()
        let lock = try RWLock(name: name)
        defer { try? RWLock.remove(name: name) }
        // The trap kills the sleep too: it holds copies of the output pipes (inherited through
        // prwlock and sh), and finish() reads them to their end.
        let run = try Run(["run", "--write", name, "--", "sh", "-c", "trap 'kill $!; exit 42' TERM; sleep 20 & wait"])
        try waitUntilHeld(lock)
        usleep(100_000)
        kill(run.process.processIdentifier, SIGTERM)
        #expect(run.finish().status == 42)
        #expect(try lock.tryAcquireWrite())  // released when the command ended
        try lock.releaseWrite()
    }

    @Test func aKilledRunLeavesTheLockUsable() throws {
        let name = uniqueLockName()
        let lock = try RWLock(name: name)
        defer { try? RWLock.remove(name: name) }
        let run = try Run(["run", "--write", name, "--", "sleep", "30"])
        try waitUntilHeld(lock)
        kill(run.process.processIdentifier, SIGKILL)
        _ = run.finish()
        let next = try prwlock(["run", "--write", "--timeout", "10", name, "--", "true"])
        #expect(next.status == 0, "\(next.stderr)")
    }

    /// Leaves `name` with the owner-died notice the real way: a `prwlock run --write` holder is
    /// SIGKILLed while its command runs. The notice is set once someone recovers the hold.
    func killAWriterMidWrite(_ name: String, _ lock: RWLock) throws {
        let run = try Run(["run", "--write", name, "--", "sleep", "30"])
        try waitUntilHeld(lock)
        kill(run.process.processIdentifier, SIGKILL)
        _ = run.finish()
    }

    /// `status --json`'s previousWriterDied.
    func noticeIsSet(_ name: String) throws -> Bool {
        let json = try prwlock(["status", name, "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], "\(json)")
        return try #require(object["previousWriterDied"] as? Bool, "\(object)")
    }

    /// The command prints what it was told; `exit` is its status.
    func toldRun(_ name: String, _ extra: [String] = [], exit: Int = 0) throws -> (status: Int32, stdout: String, stderr: String) {
        try prwlock(["run", "--write", "--timeout", "20"] + extra + [name, "--", "sh", "-c", "echo told=$PRWLOCK_PREVIOUS_WRITER_DIED; exit \(exit)"])
    }

    @Test func aWriterKilledUnderRunIsToldToTheNextCommandWhichClearsTheNoticeBySucceeding() throws {
        let name = uniqueLockName()
        let lock = try RWLock(name: name)
        defer { try? RWLock.remove(name: name) }
        #expect(try toldRun(name).stdout == "told=0\n")
        try killAWriterMidWrite(name, lock)

        // Told, and it fails: the notice stays for the next writer.
        let failed = try toldRun(name, exit: 3)
        #expect(failed.status == 3)
        #expect(failed.stdout == "told=1\n")
        #expect(failed.stderr.contains("previous writer of '\(name)' died"), "\(failed.stderr)")
        #expect(failed.stderr.contains("the notice stays"), "\(failed.stderr)")
        #expect(try noticeIsSet(name))

        // A reader is told too, and its release leaves the notice alone.
        let reader = try prwlock(["run", "--read", "--timeout", "20", name, "--", "sh", "-c", "echo told=$PRWLOCK_PREVIOUS_WRITER_DIED"])
        #expect(reader.status == 0 && reader.stdout == "told=1\n", "\(reader)")
        #expect(try noticeIsSet(name))

        // Told, and it succeeds: it repaired the data, so the notice is cleared.
        let repaired = try toldRun(name)
        #expect(repaired.status == 0 && repaired.stdout == "told=1\n", "\(repaired)")
        #expect(try noticeIsSet(name) == false)
        let after = try toldRun(name)
        #expect(after.stdout == "told=0\n" && after.stderr.isEmpty, "\(after)")
    }

    @Test func aWriteCommandKilledUnderALiveRunIsADeadWriterToo() throws {
        let name = uniqueLockName()
        defer { try? RWLock.remove(name: name) }
        let killed = try prwlock(["run", "--write", name, "--", "sh", "-c", "kill -KILL $$"])
        #expect(killed.status == 128 + SIGKILL)
        #expect(killed.stderr.contains("died of signal 9"), "\(killed.stderr)")
        #expect(try noticeIsSet(name))
        #expect(try toldRun(name).stdout == "told=1\n")
        // A read command killed changed nothing.
        #expect(try prwlock(["run", "--read", name, "--", "sh", "-c", "kill -KILL $$"]).status == 128 + SIGKILL)
        #expect(try noticeIsSet(name) == false)
    }

    @Test func failIfWriterDiedRunsNothingAndKeepsTheNotice() throws {
        let name = uniqueLockName()
        let lock = try RWLock(name: name)
        defer { try? RWLock.remove(name: name) }
        #expect(try toldRun(name, ["--fail-if-writer-died"]).status == 0)  // nobody died: runs as usual
        try killAWriterMidWrite(name, lock)
        let refused = try toldRun(name, ["--fail-if-writer-died"])
        #expect(refused.status == 65, "\(refused)")
        #expect(refused.stdout.isEmpty, "the command must not run: \(refused.stdout)")
        #expect(refused.stderr.contains("died"), "\(refused.stderr)")
        #expect(try noticeIsSet(name))
        #expect(try lock.tryAcquireWrite())  // the hold was let go at once
        try lock.releaseWrite()
    }

    @Test func aRepairRunsFirstAndOnlyItsSuccessClearsTheNotice() throws {
        let name = uniqueLockName()
        let lock = try RWLock(name: name)
        defer { try? RWLock.remove(name: name) }
        // Nobody died: the repair does not run.
        let plain = try toldRun(name, ["--repair", "echo repairing"])
        #expect(plain.status == 0 && plain.stdout == "told=0\n", "\(plain)")
        try killAWriterMidWrite(name, lock)

        // A repair that fails: its status, the command not run, the notice kept.
        let failed = try toldRun(name, ["--repair", "echo repair=$PRWLOCK_PREVIOUS_WRITER_DIED; exit 4"])
        #expect(failed.status == 4, "\(failed)")
        #expect(failed.stdout == "repair=1\n", "\(failed)")
        #expect(failed.stderr.contains("repair failed"), "\(failed.stderr)")
        #expect(try noticeIsSet(name))

        // A repair that succeeds: then the command, as an ordinary writer, and the notice is gone
        // even though the command fails.
        let repaired = try toldRun(name, ["--repair", "echo repair=$PRWLOCK_PREVIOUS_WRITER_DIED"], exit: 5)
        #expect(repaired.status == 5, "\(repaired)")
        #expect(repaired.stdout == "repair=1\ntold=0\n", "\(repaired)")
        #expect(try noticeIsSet(name) == false)
    }

    @Test func statusAndListInBothFormats() throws {
        let name = uniqueLockName()
        let lock = try RWLock(name: name)
        defer { try? RWLock.remove(name: name) }
        try lock.acquireWrite()
        let text = try prwlock(["status", name])
        #expect(text.status == 0)
        #expect(text.stdout.contains("write-locked by pid \(getpid())"), "\(text.stdout)")
        let json = try prwlock(["status", name, "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["writerPID"] as? Int == Int(getpid()))
        #expect(object["writerHolds"] as? Bool == true)
        #expect((object["processes"] as? [[String: Any]])?.count == 1)
        try lock.releaseWrite()

        let list = try prwlock(["list"])
        #expect(list.status == 0)
        #expect(list.stdout.split(separator: "\n").contains { $0.hasPrefix(name) && $0.contains("free") }, "\(list.stdout)")
        let listJSON = try prwlock(["list", "--json"])
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(listJSON.stdout.utf8)) as? [[String: Any]])
        #expect(rows.contains { $0["name"] as? String == name })

        let missing = try prwlock(["status", name + "-missing"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no lock named"))
        #expect(try prwlock(["remove", name + "-missing"]).status == 1)
    }

    @Test func badUsageIsExplained() throws {
        let both = try prwlock(["run", "--read", "--write", "x", "--", "true"])
        #expect(both.status != 0 && both.stderr.contains("--read or --write"))
        let typo = try prwlock(["run", "--wrte", "x", "--", "true"])
        #expect(typo.status != 0 && typo.stderr.contains("--wrte") && !typo.stderr.contains("--read or --write"), "\(typo.stderr)")
        let negative = try prwlock(["run", "--write", "--timeout", "-1", "x", "--", "true"])
        #expect(negative.status != 0 && negative.stderr.contains("0 or more"), "\(negative.stderr)")
        // Not on a terminal, help is wrapped at 80 columns: the examples must not be cut.
        let help = try prwlock(["run", "--help"])
        #expect(help.stdout.contains("\n  prwlock run --write --timeout 5 deploy -- ./deploy.sh\n"), "\(help.stdout)")
        #expect(help.stdout.contains("\n    flock -w 5 /tmp/deploy.lock ./deploy.sh\n"), "\(help.stdout)")
        #expect(help.stdout.contains("PRWLOCK_PREVIOUS_WRITER_DIED"), "\(help.stdout)")
        let readRepair = try prwlock(["run", "--read", "--repair", "true", "x", "--", "true"])
        #expect(readRepair.status != 0 && readRepair.stderr.contains("--repair needs --write"), "\(readRepair.stderr)")
        let noCommand = try prwlock(["run", "--read", "x"])
        #expect(noCommand.status != 0 && noCommand.stderr.contains("command"))
        let badName = try prwlock(["status", "a/b"])
        #expect(badName.status != 0 && badName.stderr.contains("not a lock name"))
    }

    /// The README's tour, line by line as a newcomer pastes it, with the built binary for
    /// `swift run prwlock`, a lock name of its own for `inventory`, and a shorter demo.
    @Test func theReadmesFirstCommandsWorkVerbatim() throws {
        let readme = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../README.md"), encoding: .utf8)
        let blocks = readme.components(separatedBy: "```").enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
        let tour = try #require(blocks.first { $0.contains("prwlock status inventory") }, "no block with `prwlock status inventory`")
        let lines = tour.split(separator: "\n").map(String.init).filter { $0.hasPrefix("swift run prwlock ") }
        #expect(lines.count >= 4, "\(lines)")
        let name = uniqueLockName()
        defer { try? RWLock.remove(name: name) }
        var outputs: [(line: String, status: Int32, stdout: String, stderr: String)] = []
        for line in lines {
            var command = ToolsTests.prwlock.path + " " + line.dropFirst("swift run prwlock ".count)
            command = command.replacingOccurrences(of: "inventory", with: name)
            if line == "swift run prwlock demo" { command += " --seconds 2" }
            let (status, stdout, stderr) = try Run(["-c", command], executable: URL(fileURLWithPath: "/bin/sh")).finish()
            outputs.append((line, status, stdout, stderr))
        }
        for output in outputs {
            // The line whose command kills its own prwlock, as a crash would, ends as a SIGKILL does.
            #expect(output.status == (output.line.contains("kill -9") ? 128 + SIGKILL : 0), "\(output)")
        }
        let all = outputs.map(\.stdout).joined()
        #expect(all.contains("every invariant held"), "\(all)")
        #expect(all.contains("dead: recovered by the next process"), "status shows the dead writer: \(all)")
        #expect(all.contains("repair needed: 1"), "the next writer is told: \(all)")
        let lastStatus = outputs.last { $0.line.hasPrefix("swift run prwlock status ") }
        #expect(lastStatus?.stdout.contains("lock \(name): free") == true, "the notice cleared: \(lastStatus.map { $0.stdout } ?? "")")
    }

    @Test func theDemoRunsAndHoldsEveryInvariant() throws {
        let demo = try prwlock(["demo", "--seconds", "3"])
        #expect(demo.status == 0, "\(demo.stdout)\n\(demo.stderr)")
        #expect(demo.stdout.contains("every invariant held"))
        #expect(demo.stdout.contains("was told and repaired"))
    }
}
