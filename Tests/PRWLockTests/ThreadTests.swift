import Foundation
import PRWLock
import Synchronization
import Testing

/// Threads of one process exclude each other exactly as processes do.
@Suite struct ThreadTests {
    @Test func readersHoldTogether() throws {
        let lock = try RWLock()
        let inside = Atomic<Int>(0)
        let allMet = Atomic<Int>(0)
        let group = DispatchGroup()
        for _ in 0..<4 {
            group.enter()
            Thread.detachNewThread {  // real threads: a concurrentPerform pool has only one per core
                try! lock.withReadLock {
                    inside.add(1, ordering: .sequentiallyConsistent)
                    // Every reader waits until all four are inside at once: only possible if reads share.
                    let end = monotonicSeconds() + 20
                    while inside.load(ordering: .sequentiallyConsistent) < 4 && monotonicSeconds() < end { usleep(100) }
                    if inside.load(ordering: .sequentiallyConsistent) == 4 { allMet.add(1, ordering: .sequentiallyConsistent) }
                }
                group.leave()
            }
        }
        group.wait()
        #expect(allMet.load(ordering: .sequentiallyConsistent) == 4)
    }

    @Test func writersExcludeEveryoneAndTheirStoresAreSeen() throws {
        let lock = try RWLock()
        let readersInside = Atomic<Int>(0)
        let writersInside = Atomic<Int>(0)
        let overlaps = Atomic<Int>(0)
        let torn = Atomic<Int>(0)
        // A record written without atomics: only the lock orders these accesses.
        let record = UnsafeMutablePointer<Int>.allocate(capacity: 8)
        record.initialize(repeating: 0, count: 8)
        defer { record.deallocate() }
        nonisolated(unsafe) let shared = record
        DispatchQueue.concurrentPerform(iterations: 6) { thread in
            for i in 0..<3000 {
                if (i + thread) % 5 == 0 {
                    try! lock.withWriteLock {
                        if writersInside.add(1, ordering: .sequentiallyConsistent).newValue != 1
                            || readersInside.load(ordering: .sequentiallyConsistent) != 0 { overlaps.add(1, ordering: .relaxed) }
                        let next = shared[0] + 1
                        for k in 0..<8 { shared[k] = next }
                        writersInside.subtract(1, ordering: .sequentiallyConsistent)
                    }
                } else {
                    try! lock.withReadLock {
                        readersInside.add(1, ordering: .sequentiallyConsistent)
                        if writersInside.load(ordering: .sequentiallyConsistent) != 0 { overlaps.add(1, ordering: .relaxed) }
                        let first = shared[0]
                        for k in 1..<8 where shared[k] != first { torn.add(1, ordering: .relaxed) }
                        readersInside.subtract(1, ordering: .sequentiallyConsistent)
                    }
                }
            }
        }
        #expect(overlaps.load(ordering: .relaxed) == 0)
        #expect(torn.load(ordering: .relaxed) == 0)
        #expect(record[0] == 6 * 3000 / 5)  // every write happened exactly once
    }

    @Test func releaseMayRunOnAnotherThread() throws {
        let lock = try RWLock()
        try lock.acquireWrite()
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var failure: Error?
        Thread.detachNewThread {
            do { try lock.release() } catch { failure = error }
            done.signal()
        }
        done.wait()
        #expect(failure == nil)
        #expect(try lock.tryAcquireWrite())
        try lock.release()
    }

    @Test func timeoutsAreNeverEarlyAndReturnSoonAfter() throws {
        let lock = try RWLock()
        let other = try RWLock(handle: lock.handle)  // a second participant
        try lock.acquireWrite()
        for (label, attempt) in [
            ("read", { try other.acquireRead(timeout: .milliseconds(250)) }),
            ("write", { try other.acquireWrite(timeout: .milliseconds(250)) }),
        ] as [(String, () throws -> LockAcquisition)] {
            let start = monotonicSeconds()
            #expect(throws: RWLockError.timedOut, "\(label)") { _ = try attempt() }
            let elapsed = monotonicSeconds() - start
            #expect(elapsed >= 0.25, "\(label) returned early after \(elapsed) s")
            #expect(elapsed < 5, "\(label) returned \(elapsed) s late")
        }
        // Zero and negative timeouts: one attempt, no wait.
        #expect(throws: RWLockError.timedOut) { try other.acquireRead(timeout: .zero) }
        #expect(throws: RWLockError.timedOut) { try other.acquireWrite(timeout: .milliseconds(-5)) }
        try lock.release()
        try other.acquireWrite(timeout: .zero)
        try other.release()
    }

    @Test func aTimedOutWriterLetsQueuedReadersIn() throws {
        // glibc's tst-rwlock: a writer that gives up must wake the readers queued behind it.
        let lock = try RWLock()
        let writer = try RWLock(handle: lock.handle)
        let reader = try RWLock(handle: lock.handle)
        try lock.acquireRead()  // keeps the writer draining
        let readerGotIn = Atomic<Bool>(false)
        let writerDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            _ = try? writer.acquireWrite(timeout: .milliseconds(400))  // claims, then times out
            writerDone.signal()
        }
        usleep(100_000)  // the writer has claimed; new readers now queue
        let readerDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            if (try? reader.acquireRead(timeout: .seconds(20))) != nil {
                readerGotIn.store(true, ordering: .sequentiallyConsistent)
                try? reader.release()
            }
            readerDone.signal()
        }
        writerDone.wait()
        #expect(readerDone.wait(timeout: .now() + 20) == .success)
        let gotIn = readerGotIn.load(ordering: .sequentiallyConsistent)
        #expect(gotIn)
        try lock.release()
    }

    @Test func tryReportsWithoutWaiting() throws {
        let lock = try RWLock()
        let other = try RWLock(handle: lock.handle)
        try lock.acquireRead()
        #expect(try other.tryAcquireRead())
        #expect(try other.tryAcquireWrite() == false)
        try other.release()
        try lock.release()
        try lock.acquireWrite()
        #expect(try other.tryAcquireRead() == false)
        #expect(try other.tryAcquireWrite() == false)
        try lock.release()
        #expect(try other.tryAcquireWrite())
        try other.release()
    }

    @Test func aWaitingWriterGetsInWhileReadersOverlap() throws {
        let lock = try RWLock()
        let stop = Atomic<Bool>(false)
        let readers = DispatchGroup()
        for _ in 0..<2 {
            readers.enter()
            Thread.detachNewThread {
                let reader = try! RWLock(handle: lock.handle)
                while !stop.load(ordering: .relaxed) {
                    _ = try! reader.withReadLock { usleep(2000) }
                }
                readers.leave()
            }
        }
        usleep(50_000)
        let writer = try RWLock(handle: lock.handle)
        for _ in 0..<20 {
            try writer.acquireWrite(timeout: .seconds(10))
            try writer.release()
        }
        stop.store(true, ordering: .relaxed)
        readers.wait()
    }
}
