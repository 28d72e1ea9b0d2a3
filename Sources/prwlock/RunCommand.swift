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

            If the previous writer died holding the lock, the data it guards may be half-written: \
            prwlock says so on stderr and runs the command with PRWLOCK_PREVIOUS_WRITER_DIED=1 in \
            its environment (0 otherwise). A --write command that exits 0 is taken to have repaired \
            the data, and the notice is cleared; one that fails leaves the notice for the next \
            writer. A --write command that dies of a signal is a writer that died holding the \
            lock: the next writer is told. --repair CMD runs CMD (with sh -c, under the same hold) first, and the command \
            only if CMD exits 0; --fail-if-writer-died exits 65 (EX_DATAERR) without running \
            anything. The notice stays until a command or a repair succeeds.

            Examples, each with its flock(1) counterpart:
              prwlock run --write --timeout 5 deploy -- ./deploy.sh
                flock -w 5 /tmp/deploy.lock ./deploy.sh
              prwlock run --read --nonblock cache -- ./report
                flock -s -n /tmp/cache.lock ./report
              prwlock run --write --repair ./fsck-data.sh deploy -- ./deploy.sh
                (no counterpart: flock is never told that a holder died)
            """)

    @Flag(name: .long, help: "Take a read (shared) lock.") var read = false
    @Flag(name: .long, help: "Take the write (exclusive) lock.") var write = false
    // .unconditional: `--timeout -1` reaches validate() and is refused there, not taken for an option.
    @Option(parsing: .unconditional, help: "Give up after this many seconds (fractions allowed).") var timeout: Double?
    @Flag(help: "Give up at once if the lock is held.") var nonblock = false
    @Option(help: ArgumentHelp(
        "If the previous writer died holding the lock, first run this shell command (sh -c) under the same hold; run the command only if it exits 0.",
        valueName: "cmd"))
    var repair: String?
    @Flag(help: "If the previous writer died holding the lock, run nothing and exit 65, leaving the notice for a writer that repairs.")
    var failIfWriterDied = false
    @Option(help: ArgumentHelp("Take the lock on this PostgreSQL server instead (PostgresRWLock), e.g. postgres://app@db/app.", valueName: "url"))
    var postgres: String?
    @OptionGroup var lock: LockNameArgument
    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.") var command: [String] = []

    /// The variable the command finds in its environment: "1" when the previous writer died
    /// holding the lock (and no --repair has repaired the data yet), else "0".
    static let noticeVariable = "PRWLOCK_PREVIOUS_WRITER_DIED"
    /// `--fail-if-writer-died`'s exit status: EX_DATAERR.
    static let writerDiedStatus: Int32 = 65

    func validate() throws {
        guard read != write else {
            // The parser runs validate() before it reports unknown options, so `--wrte` would get
            // this message instead of its own: name it here.
            if let unknown = Self.unknownOption(in: CommandLine.arguments) {
                throw ValidationError("unknown option '\(unknown)'" + (Self.nearestOption(to: unknown).map { " (did you mean '\($0)'?)" } ?? ""))
            }
            throw ValidationError("say --read or --write (one of them)")
        }
        guard !(nonblock && timeout != nil) else { throw ValidationError("--nonblock and --timeout exclude each other") }
        if let timeout, !(timeout >= 0 && timeout.isFinite) {
            throw ValidationError("--timeout must be 0 or more seconds, not \(timeout)")
        }
        guard !command.isEmpty else { throw ValidationError("give the command to run after --") }
        guard repair == nil || !failIfWriterDied else { throw ValidationError("--repair and --fail-if-writer-died exclude each other") }
        if repair != nil && !write { throw ValidationError("--repair needs --write: only a writer may change the data") }
        if repair?.isEmpty == true { throw ValidationError("--repair needs a command") }
        if postgres != nil {
            if repair != nil || failIfWriterDied {
                throw ValidationError("--repair and --fail-if-writer-died need a shared-memory lock: PostgresRWLock is never told that a writer died")
            }
            try PostgresCommands.checkAvailable()
        }
    }

    func run() throws {
        if let postgres {
            unsetenv(Self.noticeVariable)  // nobody is told on PostgreSQL; don't pass on an outer run's value
            throw ExitCode(try PostgresCommands.run(
                url: postgres, name: lock.name, write: write, nonblock: nonblock, timeout: timeout, command: command))
        }
        // Optional so that `abandon` can drop it: see there.
        var opened: RWLock? = try RWLock(name: lock.name)
        let acquired: Bool
        do {
            switch (write, nonblock, timeout) {
            case (true, true, _): acquired = try opened!.tryAcquireWrite()
            case (false, true, _): acquired = try opened!.tryAcquireRead()
            case (true, false, let seconds?): _ = try opened!.acquireWrite(timeout: .nanoseconds(Int64(seconds * 1e9))); acquired = true
            case (false, false, let seconds?): _ = try opened!.acquireRead(timeout: .nanoseconds(Int64(seconds * 1e9))); acquired = true
            case (true, false, nil): _ = try opened!.acquireWrite(); acquired = true
            case (false, false, nil): _ = try opened!.acquireRead(); acquired = true
            }
        } catch RWLockError.timedOut {
            acquired = false
        }
        guard acquired else {
            standardError("prwlock: lock '\(lock.name)' is busy (\(Self.holders(of: opened!))); gave up \(nonblock ? "at once (--nonblock)" : "after \(timeout ?? 0) s")")
            throw ExitCode(75)
        }

        // Held. While held, the notice cannot change: only a writer clears it, and a death is
        // recorded only by recovering a writer's hold.
        var told = opened!.previousWriterDied
        if told {
            standardError("prwlock: the previous writer of '\(lock.name)' died holding the lock: the data it guards may be half-written")
            if failIfWriterDied {
                standardError("prwlock: nothing run (--fail-if-writer-died); the notice stays for a writer that repairs")
                abandon(&opened)
                throw ExitCode(Self.writerDiedStatus)
            }
            if let repair {
                standardError("prwlock: repairing: sh -c \(Self.quoted(repair))")
                setenv(Self.noticeVariable, "1", 1)
                let status = Self.runChildWhileHolding(["/bin/sh", "-c", repair]).status
                guard status == 0 else {
                    standardError("prwlock: the repair failed (status \(status)); the command was not run, and the notice stays for the next writer")
                    abandon(&opened)
                    throw ExitCode(status)
                }
                standardError("prwlock: repaired; running the command")
                told = false  // the data is whole again: the command is an ordinary writer
            } else {
                standardError("prwlock: running the command with \(Self.noticeVariable)=1: "
                    + (write ? "it should check and repair the data" : "it should not trust the data until a writer repairs it"))
            }
        }
        setenv(Self.noticeVariable, told ? "1" : "0", 1)
        let (status, signal) = Self.runChildWhileHolding(command)
        if write, let signal {
            // It stopped wherever it was, as a SIGKILLed writer does: the data may be half-written.
            standardError("prwlock: the command died of signal \(signal) holding the write lock; the next writer is told")
            abandon(&opened)
        } else if write && told && status != 0 {
            standardError("prwlock: the command was told and failed (status \(status)); the notice stays for the next writer")
            abandon(&opened)
        } else if write {
            try opened!.releaseWrite()  // clears the notice, if it was set: a command or a repair fixed the data
        } else {
            try opened!.releaseRead()
        }
        throw ExitCode(status)
    }

    /// `runChild`, with a command that could not be started (127, 126) as its status rather than
    /// thrown: the caller still holds the lock and must decide how to let go of it (thrown, the
    /// RWLock would be dropped holding the write lock, which sets the notice as a death does).
    static func runChildWhileHolding(_ arguments: [String]) -> (status: Int32, signal: Int32?) {
        do {
            return try runChildToEnd(arguments)
        } catch {
            return ((error as? ExitCode)?.rawValue ?? 1, nil)
        }
    }

    /// Lets go of the write hold without clearing the owner-died notice. The public API has no
    /// such release, but an `RWLock` deinitialised while it holds the write lock detaches as a
    /// death would: its hold is abandoned, the notice is set (it was already), and waiters are
    /// woken at once. `opened` must be the only reference to the lock.
    private func abandon(_ opened: inout RWLock?) {
        if !write {
            try? opened?.releaseRead()  // a reader changes nothing: its release leaves the notice as it was
        }
        opened = nil
    }

    static let flags = ["--read", "--write", "--nonblock", "--fail-if-writer-died", "--help", "-h"]
    static let optionsWithValue = ["--timeout", "--repair", "--postgres"]
    static var options: [String] { flags + optionsWithValue }

    /// The first option before `--` in `arguments` (the whole command line) that `run` does not
    /// know, if any.
    static func unknownOption(in arguments: [String]) -> String? {
        guard let start = arguments.firstIndex(of: "run") else { return nil }
        var index = start + 1
        while index < arguments.count, arguments[index] != "--" {
            let token = arguments[index]
            index += 1
            guard token.hasPrefix("-"), token != "-" else { continue }
            let name = String(token.split(separator: "=", maxSplits: 1)[0])
            if optionsWithValue.contains(name) {
                if !token.contains("=") { index += 1 }  // its value
            } else if !flags.contains(name) {
                return token
            }
        }
        return nil
    }

    /// The option `text` is most likely a misspelling of: at most two edits away.
    static func nearestOption(to text: String) -> String? {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            var row = Array(0...b.count)
            for i in 1...max(1, a.count) where !a.isEmpty {
                var previous = row[0]
                row[0] = i
                for j in stride(from: 1, through: b.count, by: 1) {
                    let substitution = previous + (a[i - 1] == b[j - 1] ? 0 : 1)
                    previous = row[j]
                    row[j] = min(substitution, row[j] + 1, row[j - 1] + 1)
                }
            }
            return a.isEmpty ? b.count : row[b.count]
        }
        let typed = Array(text.split(separator: "=", maxSplits: 1).first.map(String.init) ?? text)
        return options.map { ($0, distance(typed, Array($0))) }.filter { $0.1 <= 2 }.min { $0.1 < $1.1 }?.0
    }

    /// `text` in single quotes for a message, as sh would read it.
    static func quoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// "held by writer pid 12; readers pid 3 (×2)" for the busy message.
    static func holders(of lock: RWLock) -> String {
        guard let status = try? lock.status() else { return "holders unknown" }
        var parts: [String] = []
        if let writerPID = status.writerPID {
            let who = status.writer?.pidDescription ?? "pid \(writerPID)"
            parts.append("\(status.writerHolds ? "held for writing" : "claimed for writing") by \(who)")
        }
        let readers = status.participants.filter { $0.readers > 0 && $0.isAlive && !$0.isSelf }
        if !readers.isEmpty {
            parts.append("read by " + readers.map { $0.pidDescription + ($0.readers > 1 ? " (×\($0.readers))" : "") }.joined(separator: ", "))
        }
        if status.waitingWriters + status.waitingReaders > 0 {
            parts.append("\(status.waitingWriters) writer(s) and \(status.waitingReaders) reader(s) waiting")
        }
        return parts.isEmpty ? "no holder seen any more" : parts.joined(separator: "; ")
    }

    /// Runs `arguments` to completion, passing signals on; returns its exit status, or 128+N.
    static func runChild(_ arguments: [String]) throws -> Int32 {
        try runChildToEnd(arguments).status
    }

    /// `runChild`, and the signal that ended the command, if one did.
    static func runChildToEnd(_ arguments: [String]) throws -> (status: Int32, signal: Int32?) {
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
        return signal == 0 ? ((status >> 8) & 0xff, nil) : (128 + signal, signal)
    }
}

func standardError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
