#if canImport(Glibc)
import Glibc
#endif
import CPRWLock
import PRWLock

// The functions of prwlock.h, each a thin layer over RWLock: argument checks, the call, and the
// return code. No error or trap of Swift's crosses into C: every throw becomes a code here.

// MARK: - Opening and closing

/// Stores a new lock in `*out` (left untouched on failure).
private func open(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ make: () throws -> RWLock) -> Int32 {
    guard let out else { return ReturnCode.failure(EINVAL, "the prwlock_t ** to store the lock in is NULL") }
    do {
        out.pointee = LockShell.make(try make())
        return 0
    } catch {
        return ReturnCode.failure(error)
    }
}

/// The options a C caller gave, with defaults for zero fields; nil (EINVAL set) when malformed.
private func options(_ given: UnsafePointer<prwlock_options_t>?) -> (mode: mode_t, maxProcesses: Int)? {
    let defaults = (mode: mode_t(0o600), maxProcesses: RWLock.defaultMaxProcesses)
    guard let given else { return defaults }
    guard given.pointee.size >= MemoryLayout<prwlock_options_t>.size else {
        _ = ReturnCode.failure(EINVAL, "options.size is \(given.pointee.size); set it to sizeof(prwlock_options_t)")
        return nil
    }
    let mode = given.pointee.mode == 0 ? defaults.mode : mode_t(given.pointee.mode)
    let maxProcesses = given.pointee.max_processes == 0 ? defaults.maxProcesses : Int(given.pointee.max_processes)
    return (mode, maxProcesses)  // RWLock checks the ranges and says what they are
}

@_cdecl("prwlock_create")
public func prwlock_create(_ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    prwlock_create_with(out, nil)
}

@_cdecl("prwlock_create_with")
public func prwlock_create_with(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ given: UnsafePointer<prwlock_options_t>?) -> Int32 {
    guard let options = options(given) else { return EINVAL }
    return open(out) { try RWLock(maxProcesses: options.maxProcesses) }
}

@_cdecl("prwlock_open")
public func prwlock_open(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ name: UnsafePointer<CChar>?, _ flags: Int32) -> Int32 {
    prwlock_open_with(out, name, flags, nil)
}

@_cdecl("prwlock_open_with")
public func prwlock_open_with(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ name: UnsafePointer<CChar>?, _ flags: Int32, _ given: UnsafePointer<prwlock_options_t>?
) -> Int32 {
    guard flags & ~PRWLOCK_CREATE == 0 else {
        return ReturnCode.failure(EINVAL, "unknown flags 0x\(String(flags, radix: 16)); the only flag is PRWLOCK_CREATE")
    }
    guard let name = cString(name, what: "lock name", limit: Int(PRWLOCK_NAME_MAX)),
          let options = options(given)
    else { return EINVAL }
    return open(out) {
        try RWLock(name: name, createIfMissing: flags & PRWLOCK_CREATE != 0, permissions: options.mode, maxProcesses: options.maxProcesses)
    }
}

@_cdecl("prwlock_open_handle")
public func prwlock_open_handle(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ text: UnsafePointer<CChar>?) -> Int32 {
    guard let text = cString(text, what: "handle", limit: Int(PRWLOCK_HANDLE_MAX) - 1) else { return EINVAL }
    guard let handle = RWLock.Handle(text) else {
        return ReturnCode.failure(EINVAL, "\(String(reflecting: text)) is not a lock handle; pass the text prwlock_handle() wrote")
    }
    return open(out) { try RWLock(handle: handle) }
}

@_cdecl("prwlock_handle")
public func prwlock_handle(_ lock: OpaquePointer?, _ buffer: UnsafeMutablePointer<CChar>?, _ size: Int) -> Int32 {
    LockShell.with(lock) { lock in
        guard let buffer else { return ReturnCode.failure(EINVAL, "the handle buffer is NULL") }
        let text = Array(lock.handle.description.utf8CString)
        guard text.count <= size else {
            if size > 0 { buffer[0] = 0 }
            return ReturnCode.failure(ERANGE, "the handle needs \(text.count) bytes with its NUL; the buffer has \(size) (PRWLOCK_HANDLE_MAX always suffices)")
        }
        text.withUnsafeBufferPointer { buffer.update(from: $0.baseAddress!, count: text.count) }
        return 0
    }
}

@_cdecl("prwlock_close")
public func prwlock_close(_ lock: OpaquePointer?) {
    LockShell.close(lock)
}

@_cdecl("prwlock_remove")
public func prwlock_remove(_ name: UnsafePointer<CChar>?) -> Int32 {
    guard let name = cString(name, what: "lock name", limit: Int(PRWLOCK_NAME_MAX)) else { return EINVAL }
    do {
        try RWLock.remove(name: name)
        return 0
    } catch {
        return ReturnCode.failure(error)
    }
}

// MARK: - Acquiring and releasing

@_cdecl("prwlock_acquire_read")
public func prwlock_acquire_read(_ lock: OpaquePointer?, _ timeoutNanoseconds: Int64) -> Int32 {
    LockShell.with(lock) { lock throws(RWLockError) in
        ReturnCode.acquired(previousWriterDied: try lock.acquire(write: false, timeoutNanoseconds: timeoutNanoseconds))
    }
}

@_cdecl("prwlock_acquire_write")
public func prwlock_acquire_write(_ lock: OpaquePointer?, _ timeoutNanoseconds: Int64) -> Int32 {
    LockShell.with(lock) { lock throws(RWLockError) in
        ReturnCode.acquired(previousWriterDied: try lock.acquire(write: true, timeoutNanoseconds: timeoutNanoseconds))
    }
}

@_cdecl("prwlock_release")
public func prwlock_release(_ lock: OpaquePointer?) -> Int32 {
    LockShell.with(lock) { lock throws(RWLockError) in
        try lock.releaseTyped()
        return 0
    }
}

@_cdecl("prwlock_release_read")
public func prwlock_release_read(_ lock: OpaquePointer?) -> Int32 {
    LockShell.with(lock) { lock throws(RWLockError) in
        try lock.releaseReadTyped()
        return 0
    }
}

@_cdecl("prwlock_release_write")
public func prwlock_release_write(_ lock: OpaquePointer?) -> Int32 {
    LockShell.with(lock) { lock throws(RWLockError) in
        try lock.releaseWriteTyped()
        return 0
    }
}

// MARK: - Inspecting

@_cdecl("prwlock_status")
public func prwlock_status(_ lock: OpaquePointer?, _ status: UnsafeMutablePointer<prwlock_status_t>?) -> Int32 {
    LockShell.with(lock) { lock in
        guard let status else { return ReturnCode.failure(EINVAL, "the prwlock_status_t pointer is NULL") }
        let ours = MemoryLayout<prwlock_status_t>.size
        let theirs = status.pointee.size
        guard theirs >= ours else {
            return ReturnCode.failure(EINVAL, "status.size is \(theirs); set it to sizeof(prwlock_status_t) (\(ours) or more)")
        }
        let snapshot: RWLock.Status
        do {
            snapshot = try lock.status()
        } catch {
            return ReturnCode.failure(error)
        }
        // A caller built against a later header has a larger struct: fill the fields we know.
        status.pointee = prwlock_status_t(
            size: ours,
            readers: Int64(snapshot.readers),
            writer_pid: snapshot.writerPID ?? 0,
            writer_holds: snapshot.writerHolds ? 1 : 0,
            upgrader_pid: snapshot.upgraderPID ?? 0,
            waiting_readers: Int64(snapshot.waitingReaders),
            waiting_writers: Int64(snapshot.waitingWriters),
            previous_writer_died: snapshot.previousWriterDied ? 1 : 0,
            attached: Int32(clamping: snapshot.participants.count),
            capacity: Int32(clamping: snapshot.capacity))
        return 0
    }
}

@_cdecl("prwlock_previous_writer_died")
public func prwlock_previous_writer_died(_ lock: OpaquePointer?) -> Int32 {
    guard let lock else { return 0 }
    let shell = UnsafeMutablePointer<LockShell>(lock).pointee
    guard shell.tag == LockShell.openTag, let owned = shell.lock else { return 0 }
    return owned._withUnsafeGuaranteedRef { $0.previousWriterDied } ? 1 : 0
}
