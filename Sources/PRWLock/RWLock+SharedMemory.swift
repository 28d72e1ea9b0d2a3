/// The shared memory a lock guards: a region of a size chosen when the lock is created, in the
/// same segment, handed to the body of a read lock read-only and to the body of a write lock
/// writable. Processes that share a record or a table need no second mechanism.
///
/// ```swift
/// struct Counters: BitwiseCopyable { var hits = 0, misses = 0 }
/// let lock = try RWLock(name: "cache-stats", sharedMemorySize: MemoryLayout<Counters>.size)
/// try lock.withWriteLocked(Counters.self) { $0.hits += 1 }
/// let hits = try lock.withReadLocked(Counters.self) { $0.hits }
/// ```
///
/// The buffers are valid only inside the body: do not let them escape.
extension RWLock {
    /// Bytes of shared memory this lock guards (0 if it was created without).
    public var sharedMemorySize: Int { core.segment.geometry.sharedMemorySize }

    private var sharedMemory: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(
            start: core.segment.base + core.segment.geometry.sharedMemoryOffset, count: sharedMemorySize)
    }

    /// Runs `body` with the shared memory, read-only, while holding a read lock.
    public func withReadLockedMemory<R, E: Error>(timeout: Duration? = nil, _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws -> R {
        let memory = UnsafeRawBufferPointer(sharedMemory)
        if let timeout { return try withReadLock(timeout: timeout) { () throws(E) -> R in try body(memory) } }
        return try withReadLock { () throws(E) -> R in try body(memory) }
    }

    /// Runs `body` with the shared memory, writable, while holding the write lock.
    public func withWriteLockedMemory<R, E: Error>(timeout: Duration? = nil, _ body: (UnsafeMutableRawBufferPointer) throws(E) -> R) throws -> R {
        let memory = sharedMemory
        if let timeout { return try withWriteLock(timeout: timeout) { () throws(E) -> R in try body(memory) } }
        return try withWriteLock { () throws(E) -> R in try body(memory) }
    }

    /// Runs `body` with a copy of the `T` stored at the start of the shared memory, under a read lock.
    public func withReadLocked<T: BitwiseCopyable, R, E: Error>(_ type: T.Type, timeout: Duration? = nil, _ body: (T) throws(E) -> R) throws -> R {
        try checkFits(type)
        return try withReadLockedMemory(timeout: timeout) { (memory) throws(E) -> R in
            try body(memory.load(as: T.self))
        }
    }

    /// Runs `body` with the `T` stored at the start of the shared memory, to change in place,
    /// under the write lock.
    public func withWriteLocked<T: BitwiseCopyable, R, E: Error>(_ type: T.Type, timeout: Duration? = nil, _ body: (inout T) throws(E) -> R) throws -> R {
        try checkFits(type)
        return try withWriteLockedMemory(timeout: timeout) { (memory) throws(E) -> R in
            var value = memory.load(as: T.self)
            let result = try body(&value)
            memory.storeBytes(of: value, as: T.self)
            return result
        }
    }

    private func checkFits<T>(_ type: T.Type) throws(RWLockError) {
        guard MemoryLayout<T>.size <= sharedMemorySize else {
            throw .invalidArgument("\(T.self) takes \(MemoryLayout<T>.size) bytes, but the lock guards \(sharedMemorySize); create it with sharedMemorySize: \(MemoryLayout<T>.size) or more")
        }
        guard MemoryLayout<T>.alignment <= SegmentLayout.lineSize else {
            throw .invalidArgument("\(T.self) needs \(MemoryLayout<T>.alignment)-byte alignment; the shared memory is aligned to \(SegmentLayout.lineSize)")
        }
    }
}
