import CPRWLockShim

/// The time bookkeeping of one wait: the caller's deadline, and the next moment the waiter must
/// check whether whoever it waits for is still alive. Every wait loop of the protocol sleeps
/// through `sleep(on:expecting:wakeBy:)` and evaluates its condition first, so a condition met at
/// the deadline still succeeds, and a signal or a spurious wake-up only causes a re-check.
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
    private var nextCheck: Int64

    init(deadline: Deadline) {
        self.deadline = deadline
        self.nextCheck = Deadline.now() &+ LockCore.livenessCheckNanoseconds
    }

    /// Sleeps while `*word == value`, at most until the deadline, the next liveness check, or
    /// `wakeBy` (an absolute CLOCK_MONOTONIC time), whichever comes first.
    mutating func sleep(on word: UnsafeMutablePointer<UInt32>, expecting value: UInt32, wakeBy: Int64 = .max) -> Outcome {
        if deadline.cancellation?.isRaised == true { return .cancelled }
        let now = Deadline.now()
        if deadline.hasPassed(now: now) { return .deadlinePassed }
        if now >= nextCheck {
            // Checked on time whatever woke us: wake-ups from other traffic or from signals must
            // not postpone the check for a dead holder indefinitely.
            nextCheck = now &+ LockCore.livenessCheckNanoseconds
            return .checkLiveness
        }
        _ = cprwlock_futex_wait(word, value, min(deadline.nanoseconds, nextCheck, wakeBy))
        return .again
    }
}
