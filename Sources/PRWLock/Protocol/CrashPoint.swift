#if canImport(Glibc)
import Glibc
#endif

/// Labelled steps of the protocol where a test can make the process die, to show that a death at
/// any of them leaves the lock recoverable (the crash-point sweep). The labels follow the step
/// names of docs/DESIGN.md.
///
/// Debug builds read `PRWLOCK_CRASH_POINT=<label>[:<n>]` from the environment once and SIGKILL
/// the process the n-th time (default 1st) it reaches that step. In release builds `reach` is
/// empty and inlined away: the hooks cost nothing.
@usableFromInline
package enum CrashPoint: String, CaseIterable, Sendable {
    // Attaching (RWLock's initialisers, or a forked child's first operation).
    case attachSlotLocked = "attach.slot-locked"
    case attachStateSet = "attach.state-set"
    // Read acquire and release.
    case readPublished = "read.published"                // R1 done, W not yet checked
    case readBackedOff = "read.backed-off"               // R4: publication undone
    case readJoinedSet = "read.joined-set"               // B1: in the readers set, BIASED not yet set
    case readQueued = "read.queued"                      // R6: waitingReaders incremented
    case readSleeping = "read.sleeping"                  // READERS_SLEEPING set, about to wait
    case readGranted = "read.granted"                    // holding, not yet returned
    case readReleased = "read-release.decremented"       // RR1 done, writers not yet woken
    // Write acquire and release.
    case writeQueued = "write.queued"                    // waitingWriters incremented
    case writeSleeping = "write.sleeping"                // WRITERS_SLEEPING set, about to wait
    case writeNext = "write.next"                        // WS1: NEXT taken, not yet claimed
    case writeNextAbandoned = "write.next-abandoned"     // WN: NEXT given up, writers not yet woken
    case writeClaimed = "write.claimed"                  // W2: W owned, readers not yet drained
    case writeDrained = "write.drained"                  // W3 done, holdsWrite not yet set
    case writeHolding = "write.holding"                  // W4: holdsWrite set, not yet returned
    case writeRevoking = "write.revoking"                // V1: a slot's BIASED taken, still in the set
    case writeRevoked = "write.revoked"                  // V2: out of the set, V3's re-check not yet
    case writeSummaryCleared = "write.summary-cleared"   // V4: summary bit cleared, re-check not yet
    case writeReleaseFlagCleared = "write-release.flag-cleared"      // WR2 done
    case writeReleaseNoticeCleared = "write-release.notice-cleared"  // WR3 done
    case writeReleaseReleased = "write-release.released"             // WR4 done, writers not yet woken
    // Recovery of a dead participant's slot.
    case recoverySlotLocked = "recovery.slot-locked"     // won the dead slot's lock
    case recoveryRepairedSet = "recovery.repaired-set"   // C1: readers set repaired, W not yet released
    case recoveryWriterCleared = "recovery.writer-cleared"  // step 1 done
    case recoveryReadersCleared = "recovery.readers-cleared"  // step 2 done
    case recoveryDetached = "recovery.detached"          // step 3 done

    #if DEBUG
    private struct Trigger {
        let point: CrashPoint
        let countdown: UnsafeMutablePointer<Int>
    }

    nonisolated(unsafe) private static let trigger: Trigger? = {
        guard let raw = getenv("PRWLOCK_CRASH_POINT") else { return nil }
        let parts = String(cString: raw).split(separator: ":")
        guard let first = parts.first, let point = CrashPoint(rawValue: String(first)) else { return nil }
        let countdown = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        countdown.initialize(to: parts.count > 1 ? Int(parts[1]) ?? 1 : 1)
        return Trigger(point: point, countdown: countdown)
    }()
    #endif

    /// Dies here if this is the configured crash point (debug builds only: empty in release).
    @inlinable @inline(__always)
    static func reach(_ point: CrashPoint) {
        #if DEBUG
        reachInDebugBuild(point)
        #endif
    }

    #if DEBUG
    @usableFromInline
    static func reachInDebugBuild(_ point: CrashPoint) {
        guard let trigger, trigger.point == point else { return }
        trigger.countdown.pointee -= 1
        if trigger.countdown.pointee == 0 { kill(getpid(), SIGKILL) }
    }
    #endif
}
