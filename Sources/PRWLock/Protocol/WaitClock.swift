import CPRWLockShim

/// The time bookkeeping of one wait: the caller's deadline, and the next moment the waiter must
/// check whether whoever it waits for is still alive. Every wait loop of the protocol sleeps
/// through `sleep(on:expecting:wakeBy:)` and evaluates its condition first, so a condition met at
/// the deadline still succeeds, and a signal or a spurious wake-up only causes a re-check.
///
/// A dead holder wakes nobody, so a waiter checks on a timer (every `livenessCheckNanoseconds`).
/// After a check that found its blockers alive, `checkLiveness(of:)` also has the participant's
/// death watcher (LockCore+Watching.swift) watch them: their exit then wakes the wait at once, and
/// the timer falls back to `watchedCheckNanoseconds`. The owner of the clock calls `stopWatching()`
/// when the wait ends.
struct WaitClock {
    enum Outcome {
        /// The futex returned (woken, value changed, signal, or a bound passed): re-evaluate.
        case again
        /// Time to check the liveness of whoever is waited for; re-evaluate afterwards.
        case checkLiveness
        /// The deadline has passed on the monotonic clock.
        case deadlinePassed
        /// The caller's cancellation flag is raised.
        case cancelled
    }

    let deadline: Deadline
    private let core: LockCore
    private var nextCheck: Int64
    private var interval = LockCore.livenessCheckNanoseconds
    /// The (slot, pid) pairs this wait has the watcher watch.
    private var watched: [(slot: Int, pid: Int32)] = []
    private var deathsSeen: UInt32

    init(deadline: Deadline, core: LockCore) {
        self.deadline = deadline
        self.core = core
        self.nextCheck = Deadline.now() &+ LockCore.livenessCheckNanoseconds
        self.deathsSeen = core.watcherDeaths
    }

    /// Sleeps while `*word == value`, at most until the deadline, the next liveness check, or
    /// `wakeBy` (an absolute CLOCK_MONOTONIC time), whichever comes first.
    mutating func sleep(on word: UnsafeMutablePointer<UInt32>, expecting value: UInt32, wakeBy: Int64 = .max) -> Outcome {
        if deadline.cancellation?.isRaised == true { return .cancelled }
        let now = Deadline.now()
        if deadline.hasPassed(now: now) { return .deadlinePassed }
        let deaths = core.watcherDeaths
        if now >= nextCheck || deaths != deathsSeen {
            // Checked on time whatever woke us: wake-ups from other traffic or from signals must
            // not postpone the check for a dead holder indefinitely.
            deathsSeen = deaths
            nextCheck = now &+ interval
            return .checkLiveness
        }
        _ = cprwlock_futex_wait(word, value, min(deadline.nanoseconds, nextCheck, wakeBy))
        return .again
    }

    /// The liveness check: recovers each of `slots` whose owner is dead, and has the watcher watch
    /// the living. Returns true when it recovered something.
    mutating func checkLiveness(of slots: [Int]) throws(RWLockError) -> Bool {
        var recovered = false
        var alive: [Int] = []
        for slot in slots {
            if try core.recoverIfDead(slot) { recovered = true } else { alive.append(slot) }
        }
        let allWatched = core.watch(alive, replacing: &watched)
        interval = allWatched ? LockCore.watchedCheckNanoseconds : LockCore.livenessCheckNanoseconds
        return recovered
    }

    /// Ends this wait's watches.
    mutating func stopWatching() {
        if !watched.isEmpty { core.unwatch(&watched) }
    }
}
