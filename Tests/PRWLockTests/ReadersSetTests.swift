import Foundation
import PRWLock
import Testing

/// The readers set (docs/DESIGN.md, "The readers set"): writers look only at slots that may have
/// readers; a slot joins when it reads and leaves when a writer that had to look at more than
/// eight slots finds it idle.
@Suite(.serialized) struct ReadersSetTests {
    @Test func aProcessJoinsWhenItReadsAndLeavesWhenAWriterFindsItIdle() throws {
        let writer = try RWLock()
        let reader = try RWLock(handle: writer.handle)  // a second participant in this process
        func inSet(_ lock: RWLock) throws -> Bool {
            try #require(try lock.status().participants.first { $0.isSelf }).isInReadersSet
        }
        #expect(try !inSet(reader), "a participant that never read is in the set")
        try reader.acquireRead()
        try reader.releaseRead()
        #expect(try inSet(reader))

        // Ten more idle readers in another process: the next write looks at eleven slots.
        let idle = try Worker(["idle-readers", writer.handle.description, "10"])
        try #require(idle.waitForLine(startingWith: "ready") != nil)
        #expect(try writer.status().participants.filter(\.isInReadersSet).count == 11)
        try writer.acquireWrite(timeout: .seconds(10))
        try writer.releaseWrite()
        let after = try writer.status()
        #expect(after.participants.filter(\.isInReadersSet).isEmpty, "\(after)")

        // A revoked slot reads again: it joins again, and writers see it.
        try reader.acquireRead()
        #expect(try inSet(reader))
        #expect(try writer.tryAcquireWrite() == false)
        do {
            try writer.acquireWrite(timeout: .milliseconds(50))
            Issue.record("a writer got in beside a reader that joined the set again")
        } catch RWLockError.timedOut {}
        try reader.releaseRead()
        try writer.acquireWrite(timeout: .seconds(10))
        try writer.releaseWrite()
        idle.kill()
    }

    @Test func aFewReadersStayInTheSetAcrossWrites() throws {
        // Up to the threshold, writers revoke nothing: a reader's next read costs no join.
        let writer = try RWLock()
        let readers = try (0..<3).map { _ in try RWLock(handle: writer.handle) }
        for reader in readers {
            try reader.acquireRead()
            try reader.releaseRead()
        }
        for _ in 0..<3 {
            try writer.acquireWrite(timeout: .seconds(10))
            try writer.releaseWrite()
        }
        #expect(try writer.status().participants.filter(\.isInReadersSet).count == 3)
    }

    @Test func elevenProcessesHammeringOneRecordNeverTearItWhileWritersRevoke() throws {
        // More participants than the threshold: writers revoke idle slots all the time while their
        // readers come back. The record check is the one of aSharedRecordIsNeverTorn….
        let lock = try RWLock()
        let record = SharedRecordFile()
        let workers = try (0..<11).map { _ in
            try Worker(["hammer", lock.handle.description, record.path, "2", "10"])
        }
        var totalWrites = 0
        for worker in workers {
            #expect(worker.waitForExit(timeout: 180) == 0, "\(worker.output)")
            let fields = try worker.hammerSummary()
            #expect(fields["torn"] == 0)
            #expect(fields["overlaps"] == 0)
            totalWrites += fields["writes"]!
        }
        #expect(totalWrites > 10)
        let data = try Data(contentsOf: URL(fileURLWithPath: record.path))
        #expect(Int(data.withUnsafeBytes { $0.load(as: UInt32.self) }) == totalWrites)
    }
}
