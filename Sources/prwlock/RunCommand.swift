import ArgumentParser
import CPRWLockShim
import Foundation
import PRWLock

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a command while holding a named lock, like flock(1).",
        discussion: """
            Exits with the command's status (128+N if it died of signal N). If the lock is not had \
            in time, exits 75 (EX_TEMPFAIL) at once with one line on stderr naming the holders. \
            Signals sent to prwlock are passed on to the command; the lock is released however the \
            command ends, and if prwlock itself is killed, the lock is recovered as any dead \
            holder's is (and the command gets SIGTERM).
              prwlock run --write --timeout 5 deploy -- ./deploy.sh     (flock -w 5 /tmp/deploy.lock ./deploy.sh)
              prwlock run --read --nonblock cache -- ./report           (flock -s -n /tmp/cache.lock ./report)
            """)

    @Flag(name: .long, help: "Take a read (shared) lock.") var read = false
    @Flag(name: .long, help: "Take the write (exclusive) lock.") var write = false
    @Option(help: "Give up after this many seconds (fractions allowed).") var timeout: Double?
    @Flag(help: "Give up at once if the lock is held.") var nonblock = false
    @Option(help: ArgumentHelp("Take the lock on this PostgreSQL server instead (PostgresRWLock), e.g. postgres://app@db/app.", valueName: "url"))
    var postgres: String?
    @OptionGroup var lock: LockNameArgument
    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.") var command: [String] = []

    func validate() throws {
        guard read != write else { throw ValidationError("say --read or --write (one of them)") }
        guard !(nonblock && timeout != nil) else { throw ValidationError("--nonblock and --timeout exclude each other") }
        if let timeout, !(timeout >= 0 && timeout.isFinite) { throw ValidationError("--timeout must be a number of seconds, 0 or more") }
        guard !command.isEmpty else { throw ValidationError("give the command to run after --") }
        if postgres != nil { try PostgresCommands.checkAvailable() }
    }

    func run() throws {
        if let postgres {
            throw ExitCode(try PostgresCommands.run(
                url: postgres, name: lock.name, write: write, nonblock: nonblock, timeout: timeout, command: command))
        }
        let opened = try RWLock(name: lock.name)
        let acquired: Bool
        do {
            switch (write, nonblock, timeout) {
            case (true, true, _): acquired = try opened.tryAcquireWrite()
            case (false, true, _): acquired = try opened.tryAcquireRead()
            case (true, false, let seconds?): try opened.acquireWrite(timeout: .nanoseconds(Int64(seconds * 1e9))); acquired = true
            case (false, false, let seconds?): try opened.acquireRead(timeout: .nanoseconds(Int64(seconds * 1e9))); acquired = true
            case (true, false, nil): try opened.acquireWrite(); acquired = true
            case (false, false, nil): try opened.acquireRead(); acquired = true
            }
        } catch RWLockError.timedOut {
            acquired = false
        }
        guard acquired else {
            standardError("prwlock: lock '\(lock.name)' is busy (\(Self.holders(of: opened))); gave up \(nonblock ? "at once (--nonblock)" : "after \(timeout ?? 0) s")")
            throw ExitCode(75)
        }
        let status = try Self.runChild(command)
        if write { try opened.releaseWrite() } else { try opened.releaseRead() }
        throw ExitCode(status)
    }

    /// "held by writer pid 12; readers pid 3 (×2)" for the busy message.
    static func holders(of lock: RWLock) -> String {
        guard let status = try? lock.status() else { return "holders unknown" }
        var parts: [String] = []
        if let writer = status.writerPID { parts.append("\(status.writerHolds ? "held for writing" : "claimed for writing") by pid \(writer)") }
        let readers = status.participants.filter { $0.readers > 0 && $0.isAlive && !$0.isSelf }
        if !readers.isEmpty {
            parts.append("read by " + readers.map { "pid \($0.pid)" + ($0.readers > 1 ? " (×\($0.readers))" : "") }.joined(separator: ", "))
        }
        if status.waitingWriters + status.waitingReaders > 0 {
            parts.append("\(status.waitingWriters) writer(s) and \(status.waitingReaders) reader(s) waiting")
        }
        return parts.isEmpty ? "no holder seen any more" : parts.joined(separator: "; ")
    }

    /// Runs `arguments` to completion, passing signals on; returns its exit status, or 128+N.
    static func runChild(_ arguments: [String]) throws -> Int32 {
        var cStrings = arguments.map { strdup($0) }
        cStrings.append(nil)
        defer { for pointer in cStrings { free(pointer) } }
        let pid = cStrings.withUnsafeBufferPointer { cprwlock_spawn($0.baseAddress!, SIGTERM) }
        guard pid > 0 else {
            standardError("prwlock: cannot run '\(arguments[0])': \(String(cString: strerror(-pid)))")
            throw ExitCode(-pid == ENOENT ? 127 : 126)
        }
        cprwlock_forward_signals_to(pid)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw ExitCode(1) }
        }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}

func standardError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
