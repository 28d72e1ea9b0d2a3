import Foundation
import PRWLock
import Testing

/// A process dies at every labelled step of acquire, release, recovery and attach (debug builds
/// SIGKILL themselves at `PRWLOCK_CRASH_POINT`); after each death the lock must be acquirable,
/// tell the truth about a dead writer, and be left with no holder and no waiter.
@Suite(.serialized) struct CrashPointSweepTests {
    enum Setup {
        /// Nothing in the way: the victim runs its operations uncontended.
        case none
        /// This test holds the write lock while the victim tries, and releases it later.
        case holdWrite
        /// A writer died holding the lock before the victim starts; the victim recovers it.
        case deadWriter
        /// Ten participants of another process read once and stay idle: the victim's write
        /// visits more slots of the readers set than the threshold and revokes them.
        case idleReaders
    }

    static let plan: [(point: CrashPoint, setup: Setup, ops: String, noticeAfter: Bool)] = [
        (.attachSlotLocked, .none, "read", false),
        (.attachStateSet, .none, "read", false),
        (.readPublished, .none, "read", false),
        (.readJoinedSet, .none, "read", false),
        (.readGranted, .none, "read", false),
        (.readReleased, .none, "read", false),
        (.readBackedOff, .holdWrite, "read", false),
        (.readQueued, .holdWrite, "read", false),
        (.readSleeping, .holdWrite, "read", false),
        (.writeQueued, .holdWrite, "write", false),
        (.writeSleeping, .holdWrite, "write", false),
        (.writeNext, .holdWrite, "write", false),  // a dead NEXT must not keep writers out
        (.writeNextAbandoned, .holdWrite, "wtimeout", false),
        (.writeClaimed, .none, "write", false),
        (.writeDrained, .none, "write", false),
        (.writeHolding, .none, "write", true),  // died inside its critical section: the notice
        (.writeRevoking, .idleReaders, "write", false),
        (.writeRevoked, .idleReaders, "write", false),
        (.writeSummaryCleared, .idleReaders, "write", false),
        (.writeReleaseFlagCleared, .none, "write", false),
        (.writeReleaseNoticeCleared, .none, "write", false),
        (.writeReleaseReleased, .none, "write", false),
        (.recoverySlotLocked, .deadWriter, "read", true),
        (.recoveryRepairedSet, .deadWriter, "read", true),
        (.recoveryWriterCleared, .deadWriter, "read", true),
        (.recoveryReadersCleared, .deadWriter, "read", true),
        (.recoveryDetached, .deadWriter, "read", true),
    ]

    @Test func everyCrashPointIsCoveredByThePlan() {
        #expect(Set(Self.plan.map(\.point)) == Set(CrashPoint.allCases))
    }

    @Test(arguments: plan.indices)
    func aDeathAtThisStepLeavesTheLockRecoverable(_ index: Int) throws {
        let step = Self.plan[index]
        let lock = try RWLock()
        if step.setup == .deadWriter {
            let holder = try Worker(["hold", lock.handle.description, "write", "60"])
            try #require(holder.waitForLine(startingWith: "acquired") != nil)
            holder.kill()
            _ = holder.waitForExit()
        }
        var idle: Worker?
        if step.setup == .idleReaders {
            idle = try Worker(["idle-readers", lock.handle.description, "10"])
            try #require(idle?.waitForLine(startingWith: "ready") != nil)
        }
        if step.setup == .holdWrite { try lock.acquireWrite() }
        var environment = ProcessInfo.processInfo.environment
        environment["PRWLOCK_CRASH_POINT"] = step.point.rawValue
        let victim = try Worker(["victim", lock.handle.description, step.ops], environment: environment)
        if step.setup == .holdWrite {
            // The victim reaches the step while waiting for us, or right after our release.
            _ = victim.waitForExit(timeout: 0.3)
            try lock.releaseWrite()
        }
        let status = try #require(victim.waitForExit(timeout: 30), "the victim did not end")
        // It must have died at the step (SIGKILL), not finished: else the step was never reached.
        #expect(victim.process.terminationReason == .uncaughtSignal && status == SIGKILL,
                "\(step.point.rawValue): the victim was not killed at its step (status \(status), output \(victim.output))")

        let start = monotonicSeconds()
        let acquisition = try lock.acquireWrite(timeout: .seconds(10))
        let elapsed = monotonicSeconds() - start
        print("crash point \(step.point.rawValue): write acquired \(String(format: "%.1f", elapsed * 1000)) ms after the death")
        #expect(elapsed < 2, "\(step.point.rawValue): took \(elapsed) s")
        #expect(acquisition.previousWriterDied == step.noticeAfter, "\(step.point.rawValue)")
        try lock.releaseWrite()
        #expect(lock.previousWriterDied == false)
        if let idle {
            // Its readers are idle: whatever the revocation got to, a write does not wait for them.
            #expect(try lock.status().participants.filter { !$0.isSelf && $0.isAlive }.count == 10)
            idle.kill()
            _ = idle.waitForExit()
        }

        // Invariants: nobody holds or waits, and every other participant left is dead.
        let after = try lock.status()
        #expect(after.readers == 0 && after.writerPID == nil && after.nextWriterPID == nil && after.upgraderPID == nil, "\(after)")
        #expect(after.waitingReaders == 0 && after.waitingWriters == 0, "\(after)")
        #expect(after.participants.allSatisfy { $0.isSelf || !$0.isAlive }, "\(after)")
        // A dead queued reader must have been recovered, not merely hidden: it would cost every
        // later writer a reader phase. A dead reader outside the readers set (it died before
        // joining: read.published, read.backed-off, read.queued) was never granted and no writer
        // looks at its slot: its counts stay until a process attaches to the slot and clears it.
        #expect(after.participants.allSatisfy {
            ($0.waitingReaders == 0 && $0.readers == 0) || (!$0.isAlive && !$0.isInReadersSet)
        }, "\(after)")
        try lock.acquireRead(timeout: .seconds(2))
        try lock.releaseRead()
    }
}
