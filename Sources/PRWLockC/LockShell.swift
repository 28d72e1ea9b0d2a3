#if canImport(Glibc)
import Glibc
#endif
import PRWLock

/// What a `prwlock_t *` points to: a tag and the `RWLock` it owns.
///
/// The shell outlives `prwlock_close()` on purpose: close releases the `RWLock` (detaching from
/// the segment, as a death would) and marks the shell closed, so a later call with the same
/// pointer is told `EBADF` instead of reading freed memory. That costs 16 bytes per closed lock.
struct LockShell {
    /// "prwlock\0" while open; "closed\0\0" after prwlock_close(). Anything else is not a shell.
    static let openTag: UInt64 = 0x006b_636f_6c77_7270
    static let closedTag: UInt64 = 0x0000_6465_736f_6c63

    var tag: UInt64
    var lock: Unmanaged<RWLock>?

    /// Makes a shell owning `lock`; the `prwlock_t *` handed to C.
    static func make(_ lock: RWLock) -> OpaquePointer {
        let shell = UnsafeMutablePointer<LockShell>.allocate(capacity: 1)
        shell.initialize(to: LockShell(tag: openTag, lock: .passRetained(lock)))
        return OpaquePointer(shell)
    }

    /// Runs `body` with the lock a `prwlock_t *` names, or returns EINVAL (NULL, not a lock) or
    /// EBADF (closed) with the last error set. The lock is borrowed without retain or release:
    /// the shell owns it until prwlock_close, which may not run concurrently.
    @inline(__always)
    static func with(_ pointer: OpaquePointer?, _ body: (RWLock) throws(RWLockError) -> Int32) -> Int32 {
        guard let pointer else { return ReturnCode.failure(EINVAL, "the prwlock_t pointer is NULL") }
        let shell = UnsafeMutablePointer<LockShell>(pointer).pointee
        guard shell.tag == openTag, let lock = shell.lock else {
            return shell.tag == closedTag
                ? ReturnCode.failure(EBADF, "the lock was closed with prwlock_close(); open it again")
                : ReturnCode.failure(EINVAL, "the pointer is not a prwlock_t made by prwlock_create/_open/_open_handle")
        }
        return lock._withUnsafeGuaranteedRef { lock in
            do throws(RWLockError) {
                return try body(lock)
            } catch {
                return ReturnCode.failure(error)  // typed: a busy try boxes no error
            }
        }
    }

    /// prwlock_close: releases the lock (its holds are given up as a death gives them up) and
    /// marks the shell closed. A closed shell or NULL is left alone.
    static func close(_ pointer: OpaquePointer?) {
        guard let pointer else { return }
        let shell = UnsafeMutablePointer<LockShell>(pointer)
        guard shell.pointee.tag == openTag, let lock = shell.pointee.lock else { return }
        shell.pointee = LockShell(tag: closedTag, lock: nil)
        lock.release()
    }
}

/// Reads a C string argument of at most `limit` bytes (without its NUL) as UTF-8: nil with the
/// last error set (EINVAL) when it is NULL, longer, unterminated within the limit, or not UTF-8.
func cString(_ pointer: UnsafePointer<CChar>?, what: String, limit: Int) -> String? {
    guard let pointer else {
        _ = ReturnCode.failure(EINVAL, "the \(what) is NULL")
        return nil
    }
    guard strnlen(pointer, limit + 1) <= limit else {
        _ = ReturnCode.failure(EINVAL, "the \(what) is longer than \(limit) bytes (or not NUL-terminated)")
        return nil
    }
    guard let text = String(validatingCString: pointer) else {
        _ = ReturnCode.failure(EINVAL, "the \(what) is not valid UTF-8")
        return nil
    }
    return text
}
