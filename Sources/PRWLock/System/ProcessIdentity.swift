#if canImport(Glibc)
import Glibc
#endif

/// Who this process is beyond its PID, for `status()` to show a participant in another PID
/// namespace (a container, `unshare --pid`) for what it is. Display only: no protocol decision
/// uses it, as none uses PIDs.
struct ProcessIdentity: Equatable {
    /// The inode of /proc/self/ns/pid; 0 when it cannot be read.
    let pidNamespace: UInt32
    /// This process's PID in the namespace of the /proc it reads (the first field of NSpid in
    /// /proc/self/status): under `unshare --pid` without a /proc of its own, its PID outside.
    let outerPID: pid_t

    static func current() -> ProcessIdentity {
        ProcessIdentity(pidNamespace: namespaceInode(of: "self"), outerPID: outerPIDOfSelf() ?? getpid())
    }

    /// The PID namespace inode of /proc/<process>/ns/pid ("pid:[4026531836]"); 0 when unreadable.
    static func namespaceInode(of process: String) -> UInt32 {
        var buffer = [CChar](repeating: 0, count: 64)
        let length = readlink("/proc/\(process)/ns/pid", &buffer, buffer.count - 1)
        guard length > 0 else { return 0 }
        let text = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard text.hasPrefix("pid:["), text.hasSuffix("]") else { return 0 }
        return UInt32(text.dropFirst(5).dropLast()) ?? 0
    }

    private static func outerPIDOfSelf() -> pid_t? {
        let fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 4096)
        let count = read(fd, &bytes, bytes.count)
        guard count > 0 else { return nil }
        let text = String(decoding: bytes[..<count], as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("NSpid:") }) else { return nil }
        return line.dropFirst(6).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { pid_t($0) }
    }
}
