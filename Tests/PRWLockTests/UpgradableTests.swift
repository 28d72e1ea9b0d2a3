import Foundation
import PRWLock
import Testing

@Suite(.serialized) struct UpgradableTests {
    @Test func theSpellingsWork() throws {
        let lock = try RWLock()
        try lock.acquireUpgradable(timeout: .seconds(1))   // shares with readers; at most one upgradable holder
        try lock.upgrade(timeout: .seconds(1))             // to write; no other writer can get in between
        try lock.downgrade()                               // write -> read, atomically: no writer slips in
        try lock.release()
        let value = try lock.withUpgradableLock {
            try lock.upgrade()
            return 5
        }
        #expect(value == 5)
        #expect(try lock.tryAcquireWrite())  // the scoped form released the upgraded hold
        try lock.releaseWrite()
    }

    @Test func anUpgradableHolderInAnotherProcessSharesWithReadersButNotWriters() throws {
        let lock = try RWLock()
        let holder = try Worker(["upgradable", lock.handle.description, "2"])
        try #require(holder.waitForLine(startingWith: "acquired") != nil)
        #expect(try lock.status().upgraderPID == holder.pid)
        #expect(try lock.tryAcquireRead())           // readers share with it
        try lock.releaseRead()
        #expect(try lock.tryAcquireWrite() == false) // writers do not
        #expect(try lock.tryAcquireUpgradable() == false)  // nor a second upgradable holder
        #expect(throws: RWLockError.timedOut) { try lock.acquireWrite(timeout: .milliseconds(100)) }
        try lock.acquireWrite(timeout: .seconds(20))  // once it lets go
        try lock.releaseWrite()
    }

    @Test func anUpgradeWaitsForReadersAndNoWriterGetsInBetween() throws {
        let lock = try RWLock()
        try lock.acquireRead()
        let upgrader = try Worker(["upgrade", lock.handle.description, "20000"])
        try #require(upgrader.waitForLine(startingWith: "upgradable") != nil)
        usleep(200_000)
        #expect(!upgrader.output.contains("upgraded"))  // our read hold is in the way
        // A writer that arrives now must not get in before the upgrade.
        let writer = try Worker(["timed", lock.handle.description, "write", "20000"])
        usleep(200_000)
        try lock.releaseRead()
        #expect(upgrader.waitForLine(startingWith: "upgraded") != nil)
        #expect(writer.output.isEmpty)  // still waiting while the upgraded holder writes
        #expect(upgrader.waitForExit() == 0)
        #expect(writer.waitForLine(startingWith: "acquired") != nil)
    }

    @Test func aDowngradeLetsAWaitingReaderInAndKeepsWritersOut() throws {
        let lock = try RWLock()
        try lock.acquireWrite()
        let reader = try Worker(["timed", lock.handle.description, "read", "20000"])
        let writer = try Worker(["timed", lock.handle.description, "write", "20000"])
        usleep(300_000)
        #expect(reader.output.isEmpty && writer.output.isEmpty)
        try lock.downgrade()
        #expect(reader.waitForLine(startingWith: "acquired") != nil)  // the waiting reader got in
        usleep(200_000)
        #expect(writer.output.isEmpty)  // our read hold (from the downgrade) keeps the writer out
        #expect(try lock.status().readers >= 1)
        try lock.releaseRead()
        #expect(writer.waitForLine(startingWith: "acquired") != nil)
    }

    @Test func aPlainReadHoldCannotBeUpgraded() throws {
        let lock = try RWLock()
        try lock.acquireRead()
        #expect(throws: RWLockError.notUpgradable) { try lock.upgrade(timeout: .seconds(1)) }
        try lock.releaseRead()
        #expect(throws: RWLockError.notUpgradable) { try lock.upgrade() }
        #expect(throws: RWLockError.notHeld) { try lock.downgrade() }
        #expect(throws: RWLockError.notHeld) { try lock.releaseUpgradable() }
    }

    @Test func aTimedOutUpgradeKeepsTheUpgradableHold() throws {
        let lock = try RWLock()
        let other = try RWLock(handle: lock.handle)
        try other.acquireRead()
        try lock.acquireUpgradable()
        #expect(throws: RWLockError.timedOut) { try lock.upgrade(timeout: .milliseconds(100)) }
        #expect(try other.tryAcquireUpgradable() == false)  // still ours
        #expect(try other.tryAcquireRead())                 // and readers are welcome again
        try other.releaseRead()
        try other.releaseRead()
        try lock.upgrade(timeout: .seconds(1))
        try lock.releaseWrite()
    }

    @Test func aKilledUpgradableHolderIsRecovered() throws {
        let lock = try RWLock()
        let holder = try Worker(["upgradable", lock.handle.description, "60"])
        try #require(holder.waitForLine(startingWith: "acquired") != nil)
        holder.kill()
        try lock.acquireWrite(timeout: .seconds(10))
        try lock.releaseWrite()
        #expect(try lock.tryAcquireUpgradable())
        try lock.release()
    }
}
