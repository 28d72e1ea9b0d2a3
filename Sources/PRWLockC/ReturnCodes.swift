#if canImport(Glibc)
import Glibc
#endif
import CPRWLock
import PRWLock

/// How libprwlock reports: a return code (0 or an errno value, as pthread's) and, for any
/// non-zero code, the full description in the thread's `prwlock_last_error()`.
enum ReturnCode {
    /// The errno value of an error; `RWLockError` cases no errno value names get
    /// `PRWLOCK_ECORRUPT` (a segment that is not a valid lock) or `EIO`.
    static func of(_ error: RWLockError) -> Int32 {
        switch error {
        case .timedOut: return ETIMEDOUT
        case .cancelled: return ECANCELED
        case .wouldDeadlock: return EDEADLK
        case .notHeld, .notUpgradable: return EPERM
        case .invalidName, .invalidArgument, .sharedMemorySizeMismatch: return EINVAL
        // A handle that does not parse is refused (EINVAL) before RWLock sees it; RWLock throws
        // invalidHandle for one that parses but names a lock its creator no longer has open.
        case .notFound, .invalidHandle: return ENOENT
        case .tooManyProcesses: return ENOSPC
        case .tooManyReaders: return EAGAIN
        case .unsafeSegment: return EACCES
        case .corruptSegment: return PRWLOCK_ECORRUPT
        case let .system(_, code): return code > 0 ? code : EIO
        case .connectionFailed, .lockLost, .server: return EIO  // database locks only
        }
    }

    /// Returns the code of `error` after recording its description for `prwlock_last_error()`.
    /// A busy try is the one failure on a hot path: its text is static, so it costs no copy.
    static func failure(_ error: RWLockError) -> Int32 {
        if error == .timedOut {
            cprwlockc_set_last_error(timedOutMessage, 1)
        } else {
            error.description.withCString { cprwlockc_set_last_error($0, 0) }
        }
        return of(error)
    }

    /// Any error thrown through the untyped public API.
    static func failure(_ error: any Error) -> Int32 {
        failure(error as? RWLockError ?? .invalidArgument("\(error)"))
    }

    /// `EINVAL` (or another code) for input the C layer itself rejects.
    static func failure(_ code: Int32, _ message: String) -> Int32 {
        message.withCString { cprwlockc_set_last_error($0, 0) }
        return code
    }

    /// The success of an acquisition: 0, or `EOWNERDEAD` (held) when a writer died before.
    @inline(__always)
    static func acquired(previousWriterDied: Bool) -> Int32 {
        guard previousWriterDied else { return 0 }
        cprwlockc_set_last_error(ownerDiedMessage, 1)
        return EOWNERDEAD
    }

    // Static texts, made once and never written or freed: nonisolated(unsafe) because pointers
    // are not Sendable, though immutable memory is safe to share.
    nonisolated(unsafe) private static let timedOutMessage: UnsafePointer<CChar> = UnsafePointer(strdup(RWLockError.timedOut.description)!)
    nonisolated(unsafe) private static let ownerDiedMessage: UnsafePointer<CChar> = UnsafePointer(strdup(
        "acquired, but a writer died holding the lock and no writer has finished normally since: the protected data may be half-written; repair it under the write lock, and release that normally to clear the notice")!)
}
