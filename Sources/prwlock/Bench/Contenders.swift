import ArgumentParser
import CPRWLockShim
import Foundation
import PRWLock

/// The locks `prwlock bench` compares. Each is opened in every benchmark process from a spec
/// string that the parent made when it created the lock.
enum LockKind: String, CaseIterable, Codable, ExpressibleByArgument {
    case prwlock, pthread, pthreadWriter = "pthread-writer", flock, ofd
}

protocol BenchLock {
    func lockRead()
    func lockWrite()
    func unlockRead()
    func unlockWrite()
    /// Write lock with a deadline on CLOCK_MONOTONIC; false when it passed. Locks without
    /// timeouts block, and the benchmark caps them from outside.
    func lockWrite(deadline: Int64) -> Bool
    /// Read lock with a deadline, as `lockWrite(deadline:)`.
    func lockRead(deadline: Int64) -> Bool
}

struct PRWLockContender: BenchLock {
    let lock: RWLock
    func lockRead() { try! lock.acquireRead() }
    func lockWrite() { try! lock.acquireWrite() }
    func unlockRead() { try! lock.release() }
    func unlockWrite() { try! lock.release() }
    func lockWrite(deadline: Int64) -> Bool {
        (try? lock.acquireWrite(timeout: .nanoseconds(max(0, deadline - cprwlock_monotonic_ns())))) != nil
    }
    func lockRead(deadline: Int64) -> Bool {
        (try? lock.acquireRead(timeout: .nanoseconds(max(0, deadline - cprwlock_monotonic_ns())))) != nil
    }
}

struct PthreadContender: BenchLock {
    let memory: UnsafeMutableRawPointer
    func lockRead() { precondition(cprwlock_pthread_rdlock(memory) == 0) }
    func lockWrite() { precondition(cprwlock_pthread_wrlock(memory) == 0) }
    func unlockRead() { precondition(cprwlock_pthread_unlock(memory) == 0) }
    func unlockWrite() { precondition(cprwlock_pthread_unlock(memory) == 0) }
    func lockWrite(deadline: Int64) -> Bool { cprwlock_pthread_timedwrlock(memory, deadline) == 0 }
    func lockRead(deadline: Int64) -> Bool { cprwlock_pthread_timedrdlock(memory, deadline) == 0 }
}

struct FlockContender: BenchLock {
    let fd: Int32
    func lockRead() { precondition(cprwlock_flock(fd, LOCK_SH) == 0) }
    func lockWrite() { precondition(cprwlock_flock(fd, LOCK_EX) == 0) }
    func unlockRead() { precondition(cprwlock_flock(fd, LOCK_UN) == 0) }
    func unlockWrite() { precondition(cprwlock_flock(fd, LOCK_UN) == 0) }
    func lockWrite(deadline: Int64) -> Bool { lockWrite(); return true }
    func lockRead(deadline: Int64) -> Bool { lockRead(); return true }
}

struct OFDContender: BenchLock {
    let fd: Int32
    func lockRead() { precondition(cprwlock_ofd_lock_wait(fd, Int32(F_RDLCK)) == 0) }
    func lockWrite() { precondition(cprwlock_ofd_lock_wait(fd, Int32(F_WRLCK)) == 0) }
    func unlockRead() { precondition(cprwlock_ofd_lock_wait(fd, Int32(F_UNLCK)) == 0) }
    func unlockWrite() { precondition(cprwlock_ofd_lock_wait(fd, Int32(F_UNLCK)) == 0) }
    func lockWrite(deadline: Int64) -> Bool { lockWrite(); return true }
    func lockRead(deadline: Int64) -> Bool { lockRead(); return true }
}

/// Creates each kind of lock in shared memory (parent) and opens it (every process).
enum ContenderFactory {
    /// Makes a fresh lock of `kind`; returns the spec the benchmark processes open it with.
    /// `maxProcesses` is prwlock's capacity (the others have none).
    static func create(_ kind: LockKind, tag: String, maxProcesses: Int = RWLock.defaultMaxProcesses) throws -> String {
        switch kind {
        case .prwlock:
            let name = "bench-\(tag)"
            try? RWLock.remove(name: name)
            _ = try RWLock(name: name, maxProcesses: maxProcesses)
            return name
        case .pthread, .pthreadWriter:
            let path = "/dev/shm/prwlock-bench-\(tag)-pthread"
            let fd = Glibc.open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
            guard fd >= 0 else { throw BenchError("cannot create \(path)") }
            defer { close(fd) }
            let size = max(64, cprwlock_pthread_rwlock_size())
            ftruncate(fd, off_t(size))
            let memory = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)!
            guard cprwlock_pthread_rwlock_init(memory, kind == .pthreadWriter ? 1 : 0) == 0 else {
                throw BenchError("pthread_rwlock_init failed")
            }
            munmap(memory, size)
            return path
        case .flock, .ofd:
            let path = "/dev/shm/prwlock-bench-\(tag)-file"
            let fd = Glibc.open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
            guard fd >= 0 else { throw BenchError("cannot create \(path)") }
            close(fd)
            return path
        }
    }

    static func open(_ kind: LockKind, spec: String) throws -> any BenchLock {
        switch kind {
        case .prwlock:
            return PRWLockContender(lock: try RWLock(name: spec, createIfMissing: false))
        case .pthread, .pthreadWriter:
            let fd = Glibc.open(spec, O_RDWR)
            guard fd >= 0 else { throw BenchError("cannot open \(spec)") }
            let size = max(64, cprwlock_pthread_rwlock_size())
            let memory = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)!
            close(fd)
            return PthreadContender(memory: memory)
        case .flock, .ofd:
            // Each process opens its own description: flock and OFD locks belong to it.
            let fd = Glibc.open(spec, O_RDWR)
            guard fd >= 0 else { throw BenchError("cannot open \(spec)") }
            return kind == .flock ? FlockContender(fd: fd) : OFDContender(fd: fd)
        }
    }

    static func destroy(_ kind: LockKind, spec: String) {
        switch kind {
        case .prwlock: try? RWLock.remove(name: spec)
        default: unlink(spec)
        }
    }

    /// Bytes of shared memory one lock of this kind occupies.
    static func sharedBytes(_ kind: LockKind, spec: String) -> Int {
        switch kind {
        case .prwlock:
            var info = stat()
            return stat("/dev/shm/prwlock.\(spec)", &info) == 0 ? Int(info.st_size) : 0
        case .pthread, .pthreadWriter: return cprwlock_pthread_rwlock_size()
        case .flock, .ofd: return 0  // kernel objects, not shared memory
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
