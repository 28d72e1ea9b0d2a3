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

    @Test func aWaiterIsWokenByItsWatcherWhenTheHolderDies() throws {
        // The waiter waits past its first timed liveness check, so its watcher watches the
        // holder's pidfd; the holder's death must reach it through the watcher.
        let lock = try RWLock()
        let holder = try Worker(["hold", lock.handle.description, "write", "60"])
        try #require(holder.waitForLine(startingWith: "acquired") != nil)
        let before = lock.deathsSeenByWatcher
        let killer = Thread {
            usleep(300_000)
            holder.kill()
        }
        killer.start()
        let acquisition = try lock.acquireWrite(timeout: .seconds(10))
        #expect(acquisition.previousWriterDied)
        #expect(lock.deathsSeenByWatcher == before + 1)
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

    /// An instance deinitialised while it holds the write lock lets go of it as a death would:
    /// the lock is free at once and the next writer is told. `prwlock run` relies on this to let
    /// go of a hold without clearing the notice (a failed repair, a command killed mid-write).
    @Test func anInstanceDroppedHoldingTheWriteLockLeavesTheNotice() throws {
        let lock = try RWLock()
        do {
            let other = try RWLock(handle: lock.handle)
            try other.acquireWrite()
            let readable = try lock.tryAcquireRead()
            withExtendedLifetime(other) { #expect(readable == false) }
        }  // `other` is deinitialised here, holding the write lock
        #expect(try lock.tryAcquireWrite())  // free at once: no recovery needed
        #expect(lock.previousWriterDied)
        try lock.releaseWrite()
        #expect(lock.previousWriterDied == false)
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

/// The cases an independent review of the protocol found; each failed before its fix.
@Suite(.serialized) struct ReviewRegressionTests {
    @Test func aDeadReaderIsRecoveredEvenWhileOtherTrafficKeepsWakingTheWriter() throws {
        // Every failed try-read backs off and wakes the draining writer; the writer must still
        // check the dead reader's liveness on schedule.
        let lock = try RWLock()
        let holder = try Worker(["hold", lock.handle.description, "read", "60"])
        try #require(holder.waitForLine(startingWith: "acquired") != nil)
        holder.kill()
        let poller = try Worker(["poll-read", lock.handle.description, "20"])
        poller.waitForLine(startingWith: "started")
        let start = monotonicSeconds()
        try lock.acquireWrite(timeout: .seconds(10))
        #expect(monotonicSeconds() - start < 5)
        try lock.releaseWrite()
        poller.kill()
    }

    @Test func aDeadWriterIsRecoveredByAWaiterUnderASignalStorm() throws {
        let lock = try RWLock()
        let holder = try Worker(["hold", lock.handle.description, "write", "60"])
        try #require(holder.waitForLine(startingWith: "acquired") != nil)
        let waiter = try Worker(["timed", lock.handle.description, "read", "20000"])
        usleep(100_000)
        holder.kill()
        let end = monotonicSeconds() + 10
        while waiter.output.isEmpty && monotonicSeconds() < end {
            waiter.kill(SIGUSR1)  // every signal ends the futex wait early with EINTR
            usleep(1000)
        }
        let line = try #require(waiter.waitForLine(startingWith: "", timeout: 5))
        #expect(line.hasPrefix("acquired"), "\(line)")
    }

    @Test func aStoppedQueuedReaderDoesNotHoldWritersOff() throws {
        let lock = try RWLock()
        try lock.acquireWrite()
        let reader = try Worker(["timed", lock.handle.description, "read", "30000"])
        usleep(200_000)  // the reader is queued behind our write hold
        #expect(try lock.status().waitingReaders == 1)
        reader.kill(SIGSTOP)
        defer { reader.kill(SIGCONT); reader.kill() }
        try lock.releaseWrite()
        let writer = try RWLock(handle: lock.handle)
        try writer.acquireWrite(timeout: .seconds(5))  // defers one reader phase, then claims
        try writer.releaseWrite()
    }

    @Test func forkingWhileAnotherThreadIsInTheSlowPathLeavesChildrenWorking() throws {
        let lock = try RWLock()
        let worker = try Worker(["fork-busy", lock.handle.description, "40"])
        #expect(worker.waitForLine(startingWith: "children-ok=", timeout: 60) == "children-ok=40")
    }

    @Test func aReadReleaseNeverReleasesTheWriteHold() throws {
        let lock = try RWLock()
        let other = try RWLock(handle: lock.handle)
        try lock.acquireRead()
        try lock.releaseRead()
        try lock.acquireWrite()
        #expect(throws: RWLockError.notHeld) { try lock.releaseRead() }  // the double read release
        #expect(try other.tryAcquireRead() == false)  // the write hold is intact
        try lock.releaseWrite()
        #expect(throws: RWLockError.notHeld) { try lock.releaseWrite() }
    }
}

/// The bug the SPIN model found in protocol 1: a writer whose reader phase had ended kept the
/// expired bound on its sleeps and spun at 100% of a core while another writer held the lock.
/// Since NEXT, a writer defers only as NEXT and claims when its phase ends, so the scene becomes:
/// the next writer's phase runs out behind a stopped queued reader, it writes, and a writer
/// waiting behind it must sleep all along — and get the lock after it, never before.
@Suite(.serialized) struct WriterBusyWaitTests {
    /// CPU time (user + system) of a process so far, in clock ticks.
    func cpuTicks(_ pid: pid_t) -> Int {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")")
        else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command: state(0) ... utime is field 14 of the line, index 11 here; stime 12.
        return (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
    }

    @Test func aWriterWaitingBehindTheNextWriterSleepsAndComesAfterIt() throws {
        let lock = try RWLock()
        // A reader queued behind our write, then stopped: it stays queued, so the next writer
        // defers to it for one reader phase, which runs out.
        try lock.acquireWrite()
        let reader = try Worker(["timed", lock.handle.description, "read", "30000"])
        let queuedBy = monotonicSeconds() + 10
        while try lock.status().waitingReaders == 0 && monotonicSeconds() < queuedBy { usleep(1000) }
        reader.kill(SIGSTOP)
        defer { reader.kill(SIGCONT); reader.kill() }
        // B waits and takes NEXT; then C waits behind it.
        let next = try Worker(["hold", lock.handle.description, "write", "1.5"])
        let nextBy = monotonicSeconds() + 10
        while try lock.status().nextWriterPID != next.pid && monotonicSeconds() < nextBy { usleep(1000) }
        #expect(try lock.status().nextWriterPID == next.pid)
        let behind = try Worker(["timed", lock.handle.description, "write", "20000"])
        let behindBy = monotonicSeconds() + 10
        while try lock.status().waitingWriters < 2 && monotonicSeconds() < behindBy { usleep(1000) }
        #expect(try lock.tryAcquireWrite() == false)  // nobody claims past NEXT, a try neither
        try lock.releaseWrite()
        try #require(next.waitForLine(startingWith: "acquired") != nil)  // B, after its phase
        let before = cpuTicks(behind.pid)
        usleep(1_000_000)
        let used = cpuTicks(behind.pid) - before
        #expect(!behind.output.contains { $0.hasPrefix("acquired") }, "C got in while B held")
        #expect(behind.waitForLine(startingWith: "acquired") != nil)
        // A sleeping waiter wakes every 4–20 ms for its liveness check: a few ticks at most.
        // Spinning costs about 100 ticks (one core for the whole second).
        #expect(used < 30, "the waiting writer used \(used) ticks of CPU in 1 s")
    }
}
