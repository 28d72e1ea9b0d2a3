import Foundation
import PRWLock
import Synchronization
import Testing

/// A thread that holds the write lock and waits for the lock again gets `wouldDeadlock` at once,
/// as pthread_rwlock returns EDEADLK; every other thread, and every try, behaves as before.
@Suite struct SelfDeadlockTests {
    @Test func theWriterThreadAskingAgainIsRefusedAtOnce() throws {
        let lock = try RWLock()
        try lock.acquireWrite()
        let start = ContinuousClock.now
        #expect(throws: RWLockError.wouldDeadlock) { try lock.acquireWrite() }
        #expect(throws: RWLockError.wouldDeadlock) { try lock.acquireRead() }
        #expect(throws: RWLockError.wouldDeadlock) { try lock.acquireWrite(timeout: .seconds(30)) }
        #expect(throws: RWLockError.wouldDeadlock) { try lock.acquireRead(timeout: .seconds(30)) }
        #expect(throws: RWLockError.wouldDeadlock) { try lock.withReadLock {} }
        #expect(ContinuousClock.now - start < .seconds(10))  // not after the 30 s timeouts
        #expect(try lock.tryAcquireWrite() == false)  // a try just fails, and so does a zero timeout
        #expect(throws: RWLockError.timedOut) { try lock.acquireWrite(timeout: .zero) }
        #expect(throws: RWLockError.timedOut) { try lock.acquireRead(timeout: .zero) }
        #expect(try lock.tryAcquireRead() == false)
        #expect(lock.isWriteLocked)  // the refused waits changed nothing
        try lock.releaseWrite()
        #expect(throws: RWLockError.notHeld) { try lock.releaseWrite() }
        try lock.acquireRead()  // after the release, the same thread waits as anyone
        try lock.acquireRead()
        try lock.releaseRead()
        try lock.releaseRead()
    }

    @Test func nestedScopedFormsThrowInsteadOfHanging() throws {
        let lock = try RWLock()
        #expect(throws: RWLockError.wouldDeadlock) {
            try lock.withWriteLock { try lock.withWriteLock {} }
        }
        #expect(try lock.tryAcquireWrite())  // the outer scope released on the way out
        try lock.release()
    }

    @Test func anotherThreadOfTheProcessStillWaits() throws {
        let lock = try RWLock()
        try lock.acquireWrite()
        let outcome = Mutex<String?>(nil)
        let thread = Thread {
            do {
                try lock.acquireWrite(timeout: .milliseconds(50))
                outcome.withLock { $0 = "acquired" }
            } catch {
                outcome.withLock { $0 = "\(error)" }
            }
        }
        thread.start()
        while outcome.withLock({ $0 == nil }) { usleep(1000) }
        // Not wouldDeadlock: that thread does not hold the lock, so it waits and times out.
        #expect(outcome.withLock { $0 } == RWLockError.timedOut.description)
        try lock.releaseWrite()
    }

    @Test func aReleaseOnAnotherThreadClearsTheRecord() throws {
        let lock = try RWLock()
        try lock.acquireWrite()
        let released = Mutex(false)
        let thread = Thread {
            try? lock.releaseWrite()
            released.withLock { $0 = true }
        }
        thread.start()
        while !released.withLock({ $0 }) { usleep(1000) }
        try lock.acquireRead(timeout: .seconds(10))  // this thread no longer holds write
        try lock.releaseRead()
        // Taken by one thread and downgraded: a read hold, so waits are allowed again.
        try lock.acquireWrite()
        try lock.downgrade()
        try lock.acquireRead(timeout: .seconds(10))
        try lock.releaseRead()
        try lock.releaseRead()
    }

    @Test func anUpgradedHoldIsAWriteHold() throws {
        let lock = try RWLock()
        try lock.acquireUpgradable()
        try lock.upgrade()
        #expect(throws: RWLockError.wouldDeadlock) { try lock.acquireRead() }
        try lock.releaseWrite()
    }

    @Test func theDescriptionSaysWhatToDo() {
        #expect(RWLockError.wouldDeadlock.description.contains("release it first"))
    }
}
