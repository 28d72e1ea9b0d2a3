import Foundation
import PRWLock
import Testing

/// A holder in another PID namespace is shown for what it is: its own PID ("pid 1" under
/// `unshare --pid`) with the namespace named, and its PID here when it can be found.
@Suite struct PIDNamespaceTests {
    static let unshare = ["/usr/bin/unshare", "/bin/unshare"].first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test(.enabled(if: geteuid() == 0 && unshare != nil, "needs root and unshare(1) to start a process in a new PID namespace"))
    func aWriterInAnotherPIDNamespaceIsShownAsSuch() throws {
        let name = uniqueLockName()
        let lock = try RWLock(name: name)
        defer { try? RWLock.remove(name: name) }
        // The worker runs as pid 1 of a new namespace; --kill-child ends it with unshare.
        let worker = try Worker(["hold", lock.handle.description, "write", "60"], launcher: [Self.unshare!, "--pid", "--fork", "--kill-child"])
        defer { worker.kill() }
        #expect(worker.waitForLine(startingWith: "acquired") != nil, "\(worker.output)")

        let status = try lock.status()
        let writer = try #require(status.writer)
        #expect(writer.pid == 1)
        guard case let .other(inode, pidHere) = writer.pidNamespace else {
            Issue.record("the writer was not seen in another PID namespace: \(status)")
            return
        }
        #expect(inode != 0)
        // Its PID here is a child of unshare, and it is the worker.
        let here = try #require(pidHere)
        #expect(here != 1 && here != worker.pid)
        let command = try String(contentsOfFile: "/proc/\(here)/cmdline", encoding: .utf8)
        #expect(command.contains("prwlock-test-worker"))
        #expect(status.summary == "write-locked by pid 1 in another PID namespace (pid namespace \(inode); pid \(here) here)")
        #expect(status.description.contains("pid 1 in another PID namespace"))
        // Ourselves, in our own namespace, are shown plainly.
        #expect(status.participants.first(where: \.isSelf)?.pidNamespace == .same)
    }
}
