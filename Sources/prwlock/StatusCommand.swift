import ArgumentParser
import Foundation
import PRWLock

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show who holds, who waits for, and who died holding a named lock.")

    @OptionGroup var lock: LockNameArgument
    @Flag(help: "Print JSON instead of text.") var json = false
    @Option(help: ArgumentHelp("Show the PostgresRWLock of this name on this PostgreSQL server instead.", valueName: "url"))
    var postgres: String?

    func validate() throws {
        if postgres != nil { try PostgresCommands.checkAvailable() }
    }

    func run() throws {
        if let postgres {
            return try PostgresCommands.status(url: postgres, name: lock.name, json: json)
        }
        // Without attaching: this takes no process slot, so it also works on a full lock.
        let status: RWLock.Status
        do {
            status = try RWLock.status(name: lock.name)
        } catch RWLockError.notFound {
            standardError("prwlock: no lock named '\(lock.name)' exists (see `prwlock list`)")
            throw ExitCode(1)
        }
        let report = LockReport(name: lock.name, status: status)
        if json {
            print(try report.json())
        } else {
            print(report.text)
        }
    }
}

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the named locks on this machine, one line each.")

    @Flag(help: "Print JSON instead of text.") var json = false

    func run() throws {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: "/dev/shm")) ?? [])
            .filter { $0.hasPrefix("prwlock.") }
            .map { String($0.dropFirst("prwlock.".count)) }
            .sorted()
        var rows: [[String: Any]] = []
        var lines: [String] = []
        for name in names {
            do {
                let report = LockReport(name: name, status: try RWLock.status(name: name))
                rows.append(report.object)
                lines.append(report.line)
            } catch {
                rows.append(["name": name, "error": "\(error)"])
                lines.append("\(padded(name, 24))  not usable: \(error)")
            }
        }
        if json {
            let data = try JSONSerialization.data(withJSONObject: rows, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else if lines.isEmpty {
            print("no named locks (the first `prwlock run --write NAME -- COMMAND`, or RWLock(name:), creates one)")
        } else {
            for line in lines { print(line) }
        }
    }
}

struct RemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove a named lock's name; processes that have it open keep using it.")

    @OptionGroup var lock: LockNameArgument

    func run() throws {
        do {
            try RWLock.remove(name: lock.name)
        } catch RWLockError.notFound {
            standardError("prwlock: no lock named '\(lock.name)' exists")
            throw ExitCode(1)
        }
    }
}

/// A lock's status as the commands show it.
struct LockReport {
    let name: String
    let status: RWLock.Status

    var object: [String: Any] {
        [
            "name": name,
            "readers": status.readers,
            "writerPID": status.writerPID.map { Int($0) } as Any,
            "writerHolds": status.writerHolds,
            "upgraderPID": status.upgraderPID.map { Int($0) } as Any,
            "nextWriterPID": status.nextWriterPID.map { Int($0) } as Any,
            "waitingReaders": status.waitingReaders,
            "waitingWriters": status.waitingWriters,
            "previousWriterDied": status.previousWriterDied,
            "capacity": status.capacity,
            "nameIsCurrent": status.nameIsCurrent as Any,
            "processes": status.participants.map { p in
                [
                    "pid": Int(p.pid), "slot": p.slot, "readers": p.readers, "holdsWrite": p.holdsWrite,
                    "waitingReaders": p.waitingReaders, "waitingWriters": p.waitingWriters, "alive": p.isAlive,
                ].merging(Self.namespaceFields(p.pidNamespace)) { $1 } as [String: Any]
            },
        ]
    }

    /// A process in another PID namespace: "pidNamespace" (its inode) and, when it was found,
    /// "pidHere". Nothing for one in ours.
    static func namespaceFields(_ namespace: RWLock.Status.PIDNamespace) -> [String: Any] {
        guard case let .other(inode, pidHere) = namespace else { return [:] }
        return ["pidNamespace": Int(inode), "pidHere": pidHere.map { Int($0) } as Any]
    }

    func json() throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    /// One line, for `list`.
    var line: String {
        var text = "\(padded(name, 24))  \(status.summary)"
        if status.waitingWriters + status.waitingReaders > 0 {
            text += "; waiting: \(status.waitingWriters) writer(s), \(status.waitingReaders) reader(s)"
        }
        text += "; \(status.participants.filter(\.isAlive).count) process(es)"
        if status.previousWriterDied { text += "; previous writer died" }
        return text
    }

    /// Several lines, for `status`.
    var text: String { "lock \(name): \(status.description)" }
}

/// `text` followed by spaces up to `width` (never cut short).
func padded(_ text: String, _ width: Int) -> String {
    text + String(repeating: " ", count: max(0, width - text.count))
}
