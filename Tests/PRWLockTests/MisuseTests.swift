import Foundation
import PRWLock
import Testing

@Suite struct MisuseTests {
    @Test func releaseWithoutAHoldThrowsAndChangesNothing() throws {
        let lock = try RWLock()
        #expect(throws: RWLockError.notHeld) { try lock.release() }
        try lock.acquireRead()
        try lock.release()
        #expect(throws: RWLockError.notHeld) { try lock.release() }  // double release
        try lock.acquireWrite()
        try lock.release()
        #expect(throws: RWLockError.notHeld) { try lock.release() }
        // The lock is intact: a second participant can still take and share it.
        let other = try RWLock(handle: lock.handle)
        #expect(try other.tryAcquireWrite())
        #expect(throws: RWLockError.notHeld) { try lock.release() }  // other's hold is not ours
        #expect(try lock.tryAcquireRead() == false)
        try other.release()
        #expect(try lock.tryAcquireRead())
        try lock.release()
    }

    @Test func moreParticipantsThanSlotsAreRefusedUntilOneLeaves() throws {
        let lock = try RWLock(maxProcesses: 2)
        var second: RWLock? = try RWLock(handle: lock.handle)
        do {
            _ = try RWLock(handle: lock.handle)
            Issue.record("a third participant got a slot")
        } catch RWLockError.tooManyProcesses(let limit) {
            #expect(limit == 2)
        }
        try second?.acquireRead()
        second = nil  // leaving releases its slot, and the hold it still had
        let third = try RWLock(handle: lock.handle)
        #expect(try third.tryAcquireWrite())
        try third.release()
    }

    @Test func outOfRangeArgumentsAreRefused() throws {
        for count in [0, -1, 1025] {
            #expect(throws: RWLockError.self) { try RWLock(maxProcesses: count) }
        }
        #expect(throws: RWLockError.self) { try RWLock(name: uniqueLockName(), permissions: 0o4600) }
        _ = try RWLock(maxProcesses: 1024)
    }

    @Test func aHandleOfAGoneProcessIsAClearError() throws {
        let handle = try #require(RWLock.Handle("prwlock:anonymous:999999:3:1:1"))
        do {
            _ = try RWLock(handle: handle)
            Issue.record("opened a handle of a process that does not exist")
        } catch RWLockError.invalidHandle(let message) {
            #expect(message.contains("999999"))
        }
    }

    @Test func errorsSayWhatToDo() {
        let errors: [RWLockError] = [
            .timedOut, .invalidName("a/b", reason: "it contains '/'"), .notFound(name: "x"), .notHeld,
            .tooManyProcesses(limit: 2), .tooManyReaders(limit: 5), .invalidArgument("n"),
            .unsafeSegment("s"), .corruptSegment("c"), .invalidHandle("h"), .system(operation: "open", errno: ENOENT),
        ]
        for error in errors {
            #expect(error.description.count > 15, "\(error)")
        }
    }
}

@Suite struct ReadHoldLimitTests {
    @Test func moreReadHoldsThanASlotCanCountAreRefused() throws {
        // Reaching 2^30 holds by acquiring would take minutes: set this process's count to one
        // below the limit through the segment file, then take the last hold and one more.
        let name = uniqueLockName()
        let lock = try RWLock(name: name, maxProcesses: 4)
        defer { try? RWLock.remove(name: name) }
        let slot = try #require(try lock.status().participants.first { $0.isSelf }?.slot)
        let fd = open("/dev/shm/prwlock.\(name)", O_RDWR)
        defer { close(fd) }
        func setReaders(_ value: UInt32) {
            var value = value
            _ = pwrite(fd, &value, 4, off_t(512 + slot * 64))
        }
        setReaders((1 << 30) - 1)
        try lock.acquireRead()  // the 2^30-th hold
        do {
            try lock.acquireRead(timeout: .seconds(1))
            Issue.record("a hold beyond the limit was granted")
        } catch RWLockError.tooManyReaders(let limit) {
            #expect(limit == 1 << 30)
        }
        #expect(try lock.status().readers == 1 << 30)  // the refused attempt left nothing behind
        setReaders(0)
        try lock.acquireWrite(timeout: .seconds(1))
        try lock.releaseWrite()
    }
}
