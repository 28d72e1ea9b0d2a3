import CPRWLockShim

/// An absolute point on CLOCK_MONOTONIC, the clock futex(2) measures `FUTEX_WAIT_BITSET` against.
@usableFromInline
struct Deadline: Sendable {
    /// Nanoseconds of CLOCK_MONOTONIC; `Int64.max` means "never".
    let nanoseconds: Int64
    /// When set, a wait also ends (with `RWLockError.cancelled`) once the flag is raised.
    var cancellation: CancellationFlag?

    @usableFromInline static let never = Deadline(nanoseconds: .max)

    static func now() -> Int64 { cprwlock_monotonic_ns() }

    /// `timeout` from now. Negative durations count as zero; huge ones saturate to `never`.
    init(after timeout: Duration) {
        let now = Deadline.now()
        let (sum, overflow) = now.addingReportingOverflow(Deadline.saturatingNanoseconds(timeout))
        self.nanoseconds = overflow ? .max : sum
    }

    /// `nanoseconds` from now; a negative count means never (the C interface's timeouts).
    @usableFromInline
    init(timeoutNanoseconds nanoseconds: Int64) {
        self = nanoseconds < 0 ? .never : Deadline(after: .nanoseconds(nanoseconds))
    }

    /// `duration` in whole nanoseconds (rounded up, so a wait is never shorter than asked),
    /// clamped to 0...Int64.max.
    static func saturatingNanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        if seconds < 0 || (seconds == 0 && attoseconds <= 0) { return 0 }
        let (secondsNS, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return .max }
        let fraction = (attoseconds + 999_999_999) / 1_000_000_000
        let (total, overflow2) = secondsNS.addingReportingOverflow(fraction)
        return overflow2 ? .max : total
    }

    @usableFromInline init(nanoseconds: Int64, cancellation: CancellationFlag? = nil) {
        self.nanoseconds = nanoseconds
        self.cancellation = cancellation
    }

    var isNever: Bool { nanoseconds == .max }

    func hasPassed(now: Int64 = Deadline.now()) -> Bool { !isNever && now >= nanoseconds }
}

/// A flag that ends a wait early: raised by a task's cancellation handler, read by the waiting
/// thread each time its futex wait returns. Raising it must be followed by a futex wake of the
/// words a waiter may sleep on (`LockCore.interruptWaiters()`).
@usableFromInline
final class CancellationFlag: @unchecked Sendable {
    // @unchecked: one word, only ever accessed atomically.
    private let word: UnsafeMutablePointer<UInt32>

    init() {
        word = .allocate(capacity: 1)
        word.initialize(to: 0)
    }

    deinit { word.deallocate() }

    func raise() { cprwlock_store32(word, 1) }
    var isRaised: Bool { cprwlock_load32(word) != 0 }
}
