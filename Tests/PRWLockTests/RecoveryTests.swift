import Foundation
import PRWLock
import Testing

/// A process SIGKILLed while holding the lock never leaves it wedged. The bounds here are
/// generous (seconds); `prwlock bench` measures the real recovery time.
@Suite(.serialized) struct RecoveryTests {
    /// Starts a worker holding the lock in `mode`, SIGKILLs it, and returns how long the next
    /// write acquisition took after the kill, with what it reported.
    func killHolderThenAcquireWrite(_ lock: RWLock, mode: String) throws -> (seconds: Double, acquisition: LockAcquisition) {
        let holder = try Worker(["hold", lock.handle.description, mode, "60"])
        try #require(holder.waitForLine(startingWith: "acquired") != nil)
        #expect(try lock.tryAcquireWrite() == false)
        let killed = monotonicSeconds()
        holder.kill()
        let acquisition = try lock.acquireWrite(timeout: .seconds(10))
        return (monotonicSeconds() - killed, acquisition)
    }

    @Test func aKilledReaderDoesNotWedgeTheLock() throws {
        let lock = try RWLock()
        let (seconds, acquisition) = try killHolderThenAcquireWrite(lock, mode: "read")
        #expect(seconds < 2)
        #expect(acquisition.previousWriterDied == false)  // a dead reader changed nothing
        try lock.release()
    }

    @Test func aKilledWriterIsRecoveredAndTheNextWriterIsTold() throws {
        let lock = try RWLock()
        let (seconds, acquisition) = try killHolderThenAcquireWrite(lock, mode: "write")
        #expect(seconds < 2)
        #expect(acquisition.previousWriterDied)
        #expect(lock.previousWriterDied)
        try lock.release()  // a writer that was told finished normally: the notice is cleared
        #expect(try lock.acquireWrite().previousWriterDied == false)
        try lock.release()
    }

    @Test func readersAreToldTooUntilAWriterRepairs() throws {
        let lock = try RWLock()
        let holder = try Worker(["hold", lock.handle.description, "write", "60"])
        try #require(holder.waitForLine(startingWith: "acquired") != nil)
        holder.kill()
        #expect(try lock.acquireRead(timeout: .seconds(10)).previousWriterDied)
        try lock.release()
        let notice = try Worker(["notice", lock.handle.description])  // another process is told
        #expect(notice.waitForLine(startingWith: "died=") == "died=true")
        #expect(notice.waitForExit() == 0)
        #expect(try lock.acquireRead().previousWriterDied == false)
        try lock.release()
    }

    @Test func waitersInOtherProcessesTakeOverWithoutARepairCall() throws {
        let lock = try RWLock()
        for mode in ["read", "write"] {
            let holder = try Worker(["hold", lock.handle.description, mode, "60"])
            try #require(holder.waitForLine(startingWith: "acquired") != nil)
            let waiter = try Worker(["timed", lock.handle.description, "write", "20000"])
            usleep(200_000)  // the waiter is asleep in the lock
            #expect(waiter.output.isEmpty)
            holder.kill()
            let line = try #require(waiter.waitForLine(startingWith: "", timeout: 30))
            #expect(line.hasPrefix("acquired"), "\(mode): \(line)")
            #expect(waiter.waitForExit() == 0)
        }
    }

    @Test func aHolderKilledWhileOthersHammerLeavesNoViolation() throws {
        let lock = try RWLock()
        let record = SharedRecordFile()
        let workers = try (0..<2).map { _ in try Worker(["hammer", lock.handle.description, record.path, "4", "30"]) }
        for worker in workers { worker.waitForLine(startingWith: "started") }
        // Kill holders of both kinds, again and again, while the hammers run.
        for round in 0..<6 {
            let victim = try Worker(["hold", lock.handle.description, round % 2 == 0 ? "write" : "read", "60"])
            if victim.waitForLine(startingWith: "acquired", timeout: 20) != nil {
                usleep(20_000)
                victim.kill()
            }
            usleep(100_000)
        }
        for worker in workers {
            #expect(worker.waitForExit(timeout: 120) == 0, "\(worker.output)")
        }
    }

    @Test func aForkedChildDoesNotKeepItsDeadParentAlive() throws {
        let lock = try RWLock()
        let parent = try Worker(["fork-hold", lock.handle.description])
        let childLine = try #require(parent.waitForLine(startingWith: "child "))
        try #require(parent.waitForLine(startingWith: "acquired") != nil)
        let childPID = pid_t(childLine.split(separator: " ")[1])!
        defer { kill(childPID, SIGKILL) }
        parent.kill()
        // The child still runs, with a copy of every descriptor the parent had before fork().
        #expect(kill(childPID, 0) == 0)
        let acquisition = try lock.acquireWrite(timeout: .seconds(10))
        #expect(acquisition.previousWriterDied)
        try lock.release()
    }
}
