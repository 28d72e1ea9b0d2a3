#if canImport(Glibc)
import Glibc
#endif

extension RWLock {
    /// A reference to a lock that survives being written out as a string: pass
    /// `handle.description` to another process (argument, environment, file) and open the same
    /// lock there with ``RWLock/init(handle:logger:)``.
    ///
    /// A named lock's handle is its name. An anonymous lock's handle names the creating process
    /// and its descriptor, checked by device and inode, so it also works in children that were
    /// spawned with their inherited descriptors closed.
    public struct Handle: Sendable, Hashable, Codable, LosslessStringConvertible {
        enum Kind: Hashable {
            case named(String, permissions: mode_t)
            case anonymous(pid: pid_t, descriptor: Int32, device: UInt64, inode: UInt64)
        }

        let kind: Kind

        init(kind: Kind) { self.kind = kind }

        private static let namedPrefix = "prwlock:named:"
        private static let anonymousPrefix = "prwlock:anonymous:"

        /// Parses a handle's `description`; nil if it is not one.
        public init?(_ description: String) {
            if description.hasPrefix(Self.namedPrefix) {
                // prwlock:named:<octal mode>:<name>; the name may itself contain ':'.
                let rest = description.dropFirst(Self.namedPrefix.count)
                guard let colon = rest.firstIndex(of: ":"),
                      let mode = mode_t(rest[..<colon], radix: 8), mode & ~0o777 == 0
                else { return nil }
                let name = String(rest[rest.index(after: colon)...])
                guard (try? LockName.validate(name)) != nil else { return nil }
                self.kind = .named(name, permissions: mode)
            } else if description.hasPrefix(Self.anonymousPrefix) {
                let fields = description.dropFirst(Self.anonymousPrefix.count).split(separator: ":", omittingEmptySubsequences: false)
                guard fields.count == 4,
                      let pid = pid_t(fields[0]), pid > 0,
                      let descriptor = Int32(fields[1]), descriptor >= 0,
                      let device = UInt64(fields[2]),
                      let inode = UInt64(fields[3])
                else { return nil }
                self.kind = .anonymous(pid: pid, descriptor: descriptor, device: device, inode: inode)
            } else {
                return nil
            }
        }

        public var description: String {
            switch kind {
            case let .named(name, permissions):
                return "\(Self.namedPrefix)\(String(permissions, radix: 8)):\(name)"
            case let .anonymous(pid, descriptor, device, inode):
                return "\(Self.anonymousPrefix)\(pid):\(descriptor):\(device):\(inode)"
            }
        }

        public init(from decoder: any Decoder) throws {
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let handle = Handle(text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a prwlock handle: \(text)"))
            }
            self = handle
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(description)
        }
    }
}
