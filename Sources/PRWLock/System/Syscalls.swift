#if canImport(Glibc)
import Glibc
#endif
import CPRWLockShim

/// Thin wrappers over the system calls the segment code uses: each retries EINTR in one place
/// and turns a failure into `RWLockError.system` naming the operation.
enum Syscall {
    static func retryingInterrupts<T>(_ operation: String, _ body: () -> T, failed: (T) -> Bool) throws(RWLockError) -> T {
        while true {
            let result = body()
            if !failed(result) { return result }
            let code = errno
            if code == EINTR { continue }
            throw .system(operation: operation, errno: code)
        }
    }

    static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0) throws(RWLockError) -> Int32 {
        try retryingInterrupts("open(\(path))", { Glibc.open(path, flags, mode) }, failed: { $0 < 0 })
    }

    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)  // never retried: on Linux the descriptor is gone even after EINTR
    }

    static func fstat(_ fd: Int32) throws(RWLockError) -> stat {
        var info = stat()
        _ = try retryingInterrupts("fstat", { Glibc.fstat(fd, &info) }, failed: { $0 != 0 })
        return info
    }

    static func ftruncate(_ fd: Int32, _ size: Int) throws(RWLockError) {
        _ = try retryingInterrupts("ftruncate", { Glibc.ftruncate(fd, off_t(size)) }, failed: { $0 != 0 })
    }

    static func fchmod(_ fd: Int32, _ mode: mode_t) throws(RWLockError) {
        _ = try retryingInterrupts("fchmod", { Glibc.fchmod(fd, mode) }, failed: { $0 != 0 })
    }

    /// Reads exactly `count` bytes at `offset`, or fewer at end of file.
    static func pread(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, offset: Int) throws(RWLockError) -> Int {
        var done = 0
        while done < buffer.count {
            let n = try retryingInterrupts(
                "pread", { Glibc.pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done)) },
                failed: { $0 < 0 })
            if n == 0 { break }
            done += n
        }
        return done
    }

    static func mapShared(_ fd: Int32, size: Int) throws(RWLockError) -> UnsafeMutableRawPointer {
        guard let address = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), address != MAP_FAILED else {
            throw .system(operation: "mmap", errno: errno)
        }
        return address
    }
}
