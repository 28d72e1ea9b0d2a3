#if canImport(Glibc)
import Glibc
#endif
import CPRWLockShim

/// Rules for lock names: they become one file name in `/dev/shm`.
enum LockName {
    static let directory = "/dev/shm"
    static let prefix = "prwlock."
    static let maximumLength = 200

    static func validate(_ name: String) throws(RWLockError) {
        if name.isEmpty { throw .invalidName(name, reason: "it is empty") }
        if name.utf8.count > maximumLength {
            throw .invalidName(name, reason: "it is \(name.utf8.count) bytes long")
        }
        if name.utf8.contains(UInt8(ascii: "/")) { throw .invalidName(name, reason: "it contains '/'") }
        if name.utf8.contains(0) { throw .invalidName(name, reason: "it contains a NUL byte") }
    }

    static func path(_ name: String) -> String { "\(directory)/\(prefix)\(name)" }
}

/// One mapping of a lock segment and the descriptor it came from. Owns both.
final class MappedSegment: @unchecked Sendable {
    // @unchecked: immutable after init; the mapping is only reached through `SharedWords`.
    let fd: Int32
    let base: UnsafeMutableRawPointer
    let geometry: SegmentGeometry
    let device: UInt64
    let inode: UInt64

    private init(fd: Int32, base: UnsafeMutableRawPointer, geometry: SegmentGeometry, info: stat) {
        self.fd = fd
        self.base = base
        self.geometry = geometry
        self.device = UInt64(info.st_dev)
        self.inode = UInt64(info.st_ino)
    }

    deinit {
        munmap(base, geometry.totalSize)
        Syscall.close(fd)
    }

    var words: SharedWords { SharedWords(base: base, geometry: geometry) }

    // MARK: Anonymous

    /// A new lock in a sealed memfd: nobody can shrink it under the processes that map it.
    static func createAnonymous(slotCount: Int, sharedMemorySize: Int) throws(RWLockError) -> MappedSegment {
        let geometry = SegmentGeometry(slotCount: slotCount, sharedMemorySize: sharedMemorySize)
        let fd = cprwlock_memfd_create("prwlock")
        guard fd >= 0 else { throw .system(operation: "memfd_create", errno: errno) }
        do throws(RWLockError) {
            try Syscall.ftruncate(fd, geometry.totalSize)
            guard cprwlock_memfd_seal(fd) == 0 else { throw .system(operation: "F_ADD_SEALS", errno: errno) }
            let base = try Syscall.mapShared(fd, size: geometry.totalSize)
            geometry.initialize(base)
            return MappedSegment(fd: fd, base: base, geometry: geometry, info: try Syscall.fstat(fd))
        } catch {
            Syscall.close(fd)
            throw error
        }
    }

    /// Opens an anonymous lock of another process: through our own inherited descriptor when we
    /// have it, else through the creator's `/proc/<pid>/fd/<fd>`; device and inode must match.
    static func openAnonymous(creatorPID: pid_t, descriptor: Int32, device: UInt64, inode: UInt64) throws(RWLockError) -> MappedSegment {
        for path in ["/proc/self/fd/\(descriptor)", "/proc/\(creatorPID)/fd/\(descriptor)"] {
            guard let fd = try? Syscall.open(path, O_RDWR | O_CLOEXEC) else { continue }
            guard let info = try? Syscall.fstat(fd), UInt64(info.st_dev) == device, UInt64(info.st_ino) == inode else {
                Syscall.close(fd)
                continue
            }
            do throws(RWLockError) {
                // Only a sealed memory file is an anonymous lock: nobody can shrink it under us.
                guard (info.st_mode & S_IFMT) == S_IFREG, cprwlock_memfd_is_sealed(fd) == 1 else {
                    throw .unsafeSegment("the handle names a file that is not a sealed anonymous lock segment")
                }
                return try mapValidated(fd: fd, info: info)
            } catch {
                Syscall.close(fd)
                throw error
            }
        }
        throw .invalidHandle(
            "the anonymous lock of process \(creatorPID) (descriptor \(descriptor)) cannot be reached; the creating process must still have the lock open when a child attaches, and both must run as the same user")
    }

    // MARK: Named

    /// Opens the named lock, creating it atomically when it does not exist and `create` is set.
    /// `sharedMemorySize` is the size of a new lock's guarded region; an existing lock must have
    /// the same unless it is 0 ("whatever it has").
    static func openNamed(_ name: String, create: Bool, permissions: mode_t, slotCount: Int, sharedMemorySize: Int) throws(RWLockError) -> MappedSegment {
        try LockName.validate(name)
        let path = LockName.path(name)
        while true {
            do throws(RWLockError) {
                let existing = try openExisting(path: path, name: name, permissions: permissions)
                if sharedMemorySize != 0 && existing.geometry.sharedMemorySize != sharedMemorySize {
                    throw RWLockError.sharedMemorySizeMismatch(existing: existing.geometry.sharedMemorySize, requested: sharedMemorySize)
                }
                return existing
            } catch RWLockError.notFound(let missing) {
                guard create else { throw .notFound(name: missing) }
            }
            if let created = try createNamed(path: path, permissions: permissions, slotCount: slotCount, sharedMemorySize: sharedMemorySize) {
                return created
            }
            // Another process linked its segment first: open that one.
        }
    }

    static func removeNamed(_ name: String) throws(RWLockError) {
        try LockName.validate(name)
        if unlink(LockName.path(name)) != 0 {
            let code = errno
            if code == ENOENT { throw .notFound(name: name) }
            throw .system(operation: "unlink(\(LockName.path(name)))", errno: code)
        }
    }

    private static func openExisting(path: String, name: String, permissions: mode_t) throws(RWLockError) -> MappedSegment {
        let fd: Int32
        do throws(RWLockError) {
            fd = try Syscall.open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC)
        } catch let RWLockError.system(_, code) where code == ENOENT {
            throw .notFound(name: name)
        } catch let RWLockError.system(_, code) where code == ELOOP {
            throw .unsafeSegment("\(path) is a symbolic link; remove it (someone may be trying to redirect the lock)")
        } catch let RWLockError.system(_, code) where code == EACCES {
            throw .unsafeSegment("\(path) is not readable and writable by this user")
        }
        do throws(RWLockError) {
            let info = try Syscall.fstat(fd)
            try checkTrusted(info, path: path, permissions: permissions)
            return try mapValidated(fd: fd, info: info)
        } catch {
            Syscall.close(fd)
            throw error
        }
    }

    /// A named segment is trusted when it is a regular file owned by this user, or by anyone if
    /// the caller asked for group/other write access, and grants no write access beyond what
    /// the caller asked for.
    private static func checkTrusted(_ info: stat, path: String, permissions: mode_t) throws(RWLockError) {
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw .unsafeSegment("\(path) is not a regular file")
        }
        let sharedAccess = (permissions & 0o022) != 0
        if !sharedAccess && info.st_uid != geteuid() {
            throw .unsafeSegment("\(path) is owned by uid \(info.st_uid), not by this user (uid \(geteuid())); another user may have created it first")
        }
        let extraWrite = info.st_mode & 0o022 & ~permissions
        if extraWrite != 0 {
            throw .unsafeSegment("\(path) is writable by group or others (mode \(String(info.st_mode & 0o777, radix: 8))); pass those permissions explicitly if that is intended")
        }
    }

    private static func mapValidated(fd: Int32, info: stat) throws(RWLockError) -> MappedSegment {
        let fileSize = Int(info.st_size)
        let header = UnsafeMutableRawBufferPointer.allocate(byteCount: SegmentLayout.headerSize, alignment: 8)
        defer { header.deallocate() }
        let read = try Syscall.pread(fd, into: header, offset: 0)
        guard read == SegmentLayout.headerSize else {
            throw .corruptSegment("it is \(fileSize) bytes, shorter than a header")
        }
        let geometry = try SegmentGeometry.validate(header: UnsafeRawBufferPointer(header), fileSize: fileSize)
        let base = try Syscall.mapShared(fd, size: geometry.totalSize)
        return MappedSegment(fd: fd, base: base, geometry: geometry, info: info)
    }

    /// Builds the whole segment in a private file and links it into place. Returns nil when the
    /// name already exists (someone else won the race).
    private static func createNamed(path: String, permissions: mode_t, slotCount: Int, sharedMemorySize: Int) throws(RWLockError) -> MappedSegment? {
        let geometry = SegmentGeometry(slotCount: slotCount, sharedMemorySize: sharedMemorySize)
        let temporary = "\(LockName.directory)/.\(LockName.prefix)tmp.\(getpid()).\(UInt64.random(in: 0 ... .max))"
        let fd = try Syscall.open(temporary, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        defer { unlink(temporary) }
        let segment: MappedSegment
        do throws(RWLockError) {
            try Syscall.fchmod(fd, permissions)  // exact mode whatever the umask
            try Syscall.ftruncate(fd, geometry.totalSize)
            let base = try Syscall.mapShared(fd, size: geometry.totalSize)
            geometry.initialize(base)
            segment = MappedSegment(fd: fd, base: base, geometry: geometry, info: try Syscall.fstat(fd))
        } catch {
            Syscall.close(fd)
            throw error
        }
        if link(temporary, path) != 0 {
            let code = errno
            if code == EEXIST { return nil }  // `segment` unmaps and closes on release
            throw .system(operation: "link(\(path))", errno: code)
        }
        return segment
    }
}
