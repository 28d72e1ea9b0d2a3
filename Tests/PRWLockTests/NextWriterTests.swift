import Foundation
import PRWLock
import Testing

/// NEXT (docs/DESIGN.md, "Write acquire"): the first writer that has to wait takes W's NEXT
/// place, and from then on no other writer gets the lock before it.
@Suite(.serialized) struct NextWriterTests {
    @Test func noWriterGetsInBeforeTheNextWriter() throws {
        let lock = try RWLock()
        let other = try RWLock(handle: lock.handle)  // a second participant, in this process
        try lock.acquireWrite()
        let next = try Worker(["hold", lock.handle.description, "write", "0.3"])
        let nextBy = monotonicSeconds() + 10
        while try lock.status().nextWriterPID != next.pid && monotonicSeconds() < nextBy { usleep(1000) }
        let status = try lock.status()
        #expect(status.nextWriterPID == next.pid && status.upgraderPID == nil, "\(status)")
        #expect(status.description.contains("next writer: pid \(next.pid)"), "\(status.description)")
        try lock.releaseWrite()
        // Racing from this process, already running, `other` would often win the CAS against a
        // process that must first wake up; NEXT makes it wait for that process's whole hold.
        try other.acquireWrite(timeout: .seconds(10))
        #expect(next.output.contains("acquired"), "a writer got in before the next writer")
        try other.releaseWrite()
        #expect(next.waitForLine(startingWith: "released") != nil)
    }

    @Test func aNextWriterThatTimesOutLetsTheOthersIn() throws {
        let lock = try RWLock()
        let other = try RWLock(handle: lock.handle)
        try lock.acquireWrite()
        let next = try Worker(["timed", lock.handle.description, "write", "200"])
        #expect(next.waitForLine(startingWith: "timedout") != nil)
        #expect(try lock.status().nextWriterPID == nil)
        try lock.releaseWrite()
        #expect(try other.tryAcquireWrite())  // NEXT was given up: W is free
        try other.releaseWrite()
    }
}
