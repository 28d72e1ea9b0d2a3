import ArgumentParser
import Foundation
import PRWLock

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show who holds and who waits for a named lock.")

    @OptionGroup var lock: LockNameArgument

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        let opened: RWLock
        do {
            opened = try RWLock(name: lock.name, createIfMissing: false)
        } catch RWLockError.notFound {
            throw ValidationError("no lock named '\(lock.name)' exists")
        }
        let status = try opened.status()
        // This command is itself attached while it looks; leave it out of what it reports.
        let others = status.participants.filter { !$0.isSelf }
        if json {
            let object: [String: Any] = [
                "name": lock.name,
                "readers": status.readers,
                "writerPID": status.writerPID.map { Int($0) } as Any,
                "writerHolds": status.writerHolds,
                "waitingReaders": status.waitingReaders,
                "waitingWriters": status.waitingWriters,
                "previousWriterDied": status.previousWriterDied,
                "capacity": status.capacity,
                "nameIsCurrent": status.nameIsCurrent as Any,
                "participants": others.map { p in
                    ["pid": Int(p.pid), "slot": p.slot, "readers": p.readers, "holdsWrite": p.holdsWrite,
                     "waitingReaders": p.waitingReaders, "waitingWriters": p.waitingWriters, "alive": p.isAlive] as [String: Any]
                },
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("lock \(lock.name)")
            print(status.description.split(separator: "\n").filter { !$0.contains("this process") }.joined(separator: "\n"))
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
            throw ValidationError("no lock named '\(lock.name)' exists")
        }
    }
}
