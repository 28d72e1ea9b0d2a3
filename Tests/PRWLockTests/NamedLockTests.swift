import Foundation
import PRWLock
import Testing

@Suite struct NamedLockTests {
    @Test func badNamesAreRefusedWithASpecificError() throws {
        for name in ["", "a/b", "/", "a\u{0}b", String(repeating: "x", count: 201)] {
            #expect(throws: RWLockError.self) { try RWLock(name: name) }
            do {
                _ = try RWLock(name: name)
            } catch let RWLockError.invalidName(_, reason) {
                #expect(!reason.isEmpty)
            } catch {
                Issue.record("\(String(reflecting: name)): \(error)")
            }
            #expect(throws: RWLockError.self) { try RWLock.remove(name: name) }
        }
        let longest = uniqueLockName() + String(repeating: "y", count: 120)
        _ = try RWLock(name: String(longest.prefix(200)))
        try RWLock.remove(name: String(longest.prefix(200)))
    }

    @Test func missingLocksAreReportedNotCreated() throws {
        let name = uniqueLockName()
        #expect(throws: RWLockError.notFound(name: name)) { try RWLock(name: name, createIfMissing: false) }
        #expect(throws: RWLockError.notFound(name: name)) { try RWLock.remove(name: name) }
        #expect(!FileManager.default.fileExists(atPath: "/dev/shm/prwlock.\(name)"))
    }

    @Test func twoInstancesOfOneNameAreOneLock() throws {
        let name = uniqueLockName()
        defer { try? RWLock.remove(name: name) }
        let first = try RWLock(name: name)
        let second = try RWLock(name: name)
        try first.acquireWrite()
        #expect(try second.tryAcquireRead() == false)
        try first.release()
        #expect(try second.tryAcquireRead())
        try second.release()
    }

    @Test func removingANameLeavesOpenInstancesWorkingAndSeparate() throws {
        let name = uniqueLockName()
        let old = try RWLock(name: name)
        try RWLock.remove(name: name)
        try old.acquireWrite()
        let fresh = try RWLock(name: name)  // a new, unrelated lock
        defer { try? RWLock.remove(name: name) }
        #expect(try fresh.tryAcquireWrite())
        try fresh.release()
        try old.release()
    }

    /// Writes `bytes` as the segment of `name` (mode 0600, owned by us) and checks that opening
    /// it is refused with `expected` and that nothing in the file was written.
    func expectRefused(_ bytes: [UInt8], name: String, file: String? = nil, _ check: (RWLockError) -> Bool) throws {
        let path = file ?? "/dev/shm/prwlock.\(name)"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: 0o600]))
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try RWLock(name: name)
            Issue.record("opened a bad segment")
        } catch let error as RWLockError {
            #expect(check(error), "\(error)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(bytes), "the refused file was modified")
    }

    /// A valid segment's bytes, made by creating a real lock.
    func validSegment(maxProcesses: Int = 4) throws -> [UInt8] {
        let name = uniqueLockName()
        defer { try? RWLock.remove(name: name) }
        _ = try RWLock(name: name, maxProcesses: maxProcesses)
        return Array(try Data(contentsOf: URL(fileURLWithPath: "/dev/shm/prwlock.\(name)")))
    }

    @Test func corruptHeadersAreRefusedAndLeftUntouched() throws {
        let valid = try validSegment()
        let name = uniqueLockName()
        func corrupt(_ error: RWLockError) -> Bool { if case .corruptSegment = error { return true } else { return false } }
        try expectRefused([], name: name, corrupt)
        try expectRefused(Array(valid.prefix(10)), name: name, corrupt)
        try expectRefused([UInt8](repeating: 0xAB, count: valid.count), name: name, corrupt)
        var badVersion = valid; badVersion[8] = 99
        try expectRefused(badVersion, name: name, corrupt)
        var badSlots = valid; badSlots[16] = 0xFF; badSlots[17] = 0xFF
        try expectRefused(badSlots, name: name, corrupt)
        try expectRefused(valid + [0, 0, 0, 0], name: name, corrupt)  // size does not match
        try expectRefused(Array(valid.dropLast(64)), name: name, corrupt)
    }

    @Test func aSegmentOfProtocol1IsRefusedWithWhatToDo() throws {
        // Protocol 1 had no readers set: its writers would not see our readers, nor ours theirs.
        var version1 = try validSegment()
        version1[8] = 1
        let name = uniqueLockName()
        try expectRefused(version1, name: name) { error in
            guard case .corruptSegment(let reason) = error else { return false }
            return reason.contains("layout version 1") && reason.contains("older swift-prwlock") && reason.contains("prwlock remove")
        }
    }

    @Test func aCorruptLockWordIsAnErrorNotACrash() throws {
        // The owner field of W names slot 999 of a 4-slot lock: it must never be used as an index.
        var bytes = try validSegment(maxProcesses: 4)
        bytes[64] = 0xE8; bytes[65] = 0x03  // owner 1000 → slot 999
        let name = uniqueLockName()
        let path = "/dev/shm/prwlock.\(name)"
        try #require(FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: 0o600]))
        defer { try? RWLock.remove(name: name) }
        let lock = try RWLock(name: name)
        #expect(throws: RWLockError.self) { try lock.acquireRead(timeout: .milliseconds(50)) }
        #expect(throws: RWLockError.self) { try lock.acquireWrite(timeout: .milliseconds(50)) }
        #expect(throws: RWLockError.self) { try lock.tryAcquireRead() }
    }

    @Test func aLockWordWithFlagsButNoWriterIsAnErrorNotASpin() throws {
        var bytes = try validSegment(maxProcesses: 4)
        bytes[67] = 0x80  // READERS_SLEEPING without an owner: no writer's CAS from 0 can succeed
        let name = uniqueLockName()
        _ = FileManager.default.createFile(atPath: "/dev/shm/prwlock.\(name)", contents: Data(bytes), attributes: [.posixPermissions: 0o600])
        defer { try? RWLock.remove(name: name) }
        let lock = try RWLock(name: name)
        do { _ = try lock.tryAcquireWrite(); Issue.record("no error") } catch RWLockError.corruptSegment {}
        do { try lock.acquireWrite(timeout: .seconds(1)); Issue.record("no error") } catch RWLockError.corruptSegment {}
    }

    @Test func leftoversOnAFreeSlotDoNotWedgeWriters() throws {
        // Slot 3 is free (state 0) but its bits in the attached bitmap and the readers set (and
        // the set's summary) are set and it claims a reader: only a corrupt segment looks like
        // this. The writer's liveness check must clear it.
        var bytes = try validSegment(maxProcesses: 4)
        bytes[192] |= 1 << 3
        bytes[320] |= 1 << 3
        bytes[448] |= 1
        bytes[512 + 3 * 64] = 1
        let name = uniqueLockName()
        _ = FileManager.default.createFile(atPath: "/dev/shm/prwlock.\(name)", contents: Data(bytes), attributes: [.posixPermissions: 0o600])
        defer { try? RWLock.remove(name: name) }
        let lock = try RWLock(name: name)
        try lock.acquireWrite(timeout: .seconds(5))
        try lock.releaseWrite()
    }

    @Test func anAnonymousHandleToAnUnsealedFileIsRefused() throws {
        // A valid segment, but in a named (unsealed) file: a crafted anonymous handle to it.
        let name = uniqueLockName()
        let named = try RWLock(name: name)
        defer { try? RWLock.remove(name: name) }
        let fd = open("/dev/shm/prwlock.\(name)", O_RDWR)
        defer { close(fd) }
        var info = stat()
        fstat(fd, &info)
        let handle = try #require(RWLock.Handle("prwlock:anonymous:\(getpid()):\(fd):\(info.st_dev):\(info.st_ino)"))
        do { _ = try RWLock(handle: handle); Issue.record("opened") } catch RWLockError.unsafeSegment {}
        _ = named
    }

    @Test func groupOrOtherWritableSegmentsAreRefused() throws {
        let valid = try validSegment()
        let name = uniqueLockName()
        let path = "/dev/shm/prwlock.\(name)"
        for mode in [0o620, 0o602, 0o666] {
            try #require(FileManager.default.createFile(atPath: path, contents: Data(valid), attributes: [.posixPermissions: mode]))
            chmod(path, mode_t(mode))
            #expect(throws: RWLockError.self, "mode \(String(mode, radix: 8))") { try RWLock(name: name) }
            do { _ = try RWLock(name: name) } catch RWLockError.unsafeSegment {} catch { Issue.record("\(error)") }
            try FileManager.default.removeItem(atPath: path)
        }
        // Asking for group write explicitly accepts a group-writable lock.
        try #require(FileManager.default.createFile(atPath: path, contents: Data(valid), attributes: [.posixPermissions: 0o660]))
        chmod(path, 0o660)
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = try RWLock(name: name, permissions: 0o660)
    }

    @Test(.enabled(if: geteuid() == 0, "needs root to give the file to another user"))
    func segmentsOwnedByAnotherUserAreRefused() throws {
        let valid = try validSegment()
        let name = uniqueLockName()
        let path = "/dev/shm/prwlock.\(name)"
        try #require(FileManager.default.createFile(atPath: path, contents: Data(valid), attributes: [.posixPermissions: 0o600]))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(chown(path, 65534, 65534) == 0)
        do { _ = try RWLock(name: name); Issue.record("opened another user's segment") } catch RWLockError.unsafeSegment {}
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(valid))
    }

    @Test func symlinkedNamesAreNotFollowed() throws {
        let targetName = uniqueLockName()
        let target = try RWLock(name: targetName)
        defer { try? RWLock.remove(name: targetName) }
        let name = uniqueLockName()
        let path = "/dev/shm/prwlock.\(name)"
        #expect(symlink("/dev/shm/prwlock.\(targetName)", path) == 0)
        defer { unlink(path) }
        do { _ = try RWLock(name: name); Issue.record("followed a symlink") } catch RWLockError.unsafeSegment {}
        #expect(throws: RWLockError.self) { try RWLock(name: name, createIfMissing: false) }
        _ = target
    }
}

/// What happens when someone changes a named lock's file under the processes using it. These
/// outcomes are documented in the README's security section.
@Suite(.serialized) struct SegmentTamperingTests {
    @Test func aNameRemovedAndRecreatedIsReportedAsNoLongerCurrent() throws {
        // systemd's RemoveIPC=yes unlinks a user's /dev/shm files at logout; the next opener
        // creates a new, unrelated lock under the same name.
        let name = uniqueLockName()
        let old = try RWLock(name: name)
        #expect(try old.status().nameIsCurrent == true)
        try RWLock.remove(name: name)
        #expect(try old.status().nameIsCurrent == false)
        let fresh = try RWLock(name: name)
        defer { try? RWLock.remove(name: name) }
        #expect(try old.status().nameIsCurrent == false)
        #expect(try fresh.status().nameIsCurrent == true)
        #expect(try RWLock().status().nameIsCurrent == nil)
    }

    @Test func aSegmentTruncatedWhileInUseKillsItsUsersWithSIGBUS() throws {
        // The documented limit: a named segment is an ordinary file, and truncating it (which only
        // its owner, or users it was shared with, can do) unmaps it from every process. New
        // openers refuse the short file.
        // This test process never maps the segment itself: it would get the SIGBUS too.
        let name = uniqueLockName()
        let creator = try Worker(["create-named", name, "077", "600"])
        #expect(creator.waitForExit() == 0)
        defer { try? RWLock.remove(name: name) }
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"  // the crash is expected; skip its backtrace
        let user = try Worker(["hold", "prwlock:named:600:\(name)", "read", "0.5"], environment: environment)
        #expect(user.waitForLine(startingWith: "acquired") != nil)
        #expect(truncate("/dev/shm/prwlock.\(name)", 0) == 0)
        #expect(user.waitForExit() != nil)
        #expect(user.process.terminationReason == .uncaughtSignal && user.process.terminationStatus == SIGBUS)
        do { _ = try RWLock(name: name); Issue.record("opened a truncated segment") } catch RWLockError.corruptSegment {}
    }
}

@Suite struct ObserverStatusTests {
    @Test func theStatusOfANamedLockCanBeReadWithoutTakingASlot() throws {
        let name = uniqueLockName()
        let lock = try RWLock(name: name, maxProcesses: 1)  // its only slot is taken by `lock`
        defer { try? RWLock.remove(name: name) }
        try lock.acquireWrite()
        #expect(throws: RWLockError.tooManyProcesses(limit: 1)) { try RWLock(name: name) }
        let status = try RWLock.status(name: name)
        #expect(status.writerPID == getpid() && status.writerHolds)
        #expect(status.participants.count == 1 && status.participants[0].isAlive && !status.participants[0].isSelf)
        try lock.releaseWrite()
        #expect(try RWLock.status(name: name).writerPID == nil)
        #expect(throws: RWLockError.notFound(name: name + "x")) { try RWLock.status(name: name + "x") }
    }
}
