#if canImport(Glibc)
import Glibc
#endif
import CPRWLockShim

extension RWLock {
    /// A snapshot of who holds and who waits for a lock, taken without acquiring it.
    ///
    /// The fields are read one by one while other processes keep working, so they are a moment's
    /// picture, not a consistent cut: use them to answer "who holds it?", not to make decisions.
    public struct Status: Sendable, Equatable, CustomStringConvertible {
        /// One process (participant) attached to the lock.
        public struct Participant: Sendable, Equatable {
            /// Its slot in the lock's shared memory.
            public let slot: Int
            /// Its process ID, as it recorded it when attaching: in its own PID namespace (see
            /// ``pidNamespace``).
            public let pid: pid_t
            /// Read holds (plus read attempts in flight) it has.
            public let readers: Int
            /// Whether it holds the write lock.
            public let holdsWrite: Bool
            /// Threads of it waiting to read, and to write.
            public let waitingReaders: Int
            public let waitingWriters: Int
            /// False when its liveness token is gone: it died, and the next waiter will recover it.
            public let isAlive: Bool
            /// True for the instance that took this snapshot.
            public let isSelf: Bool
            /// Whether it runs in the PID namespace of the process that took this snapshot.
            public let pidNamespace: PIDNamespace
            /// Whether its slot is in the lock's readers set: it read since a writer last found it
            /// idle, so writers look at it. A process that never reads, or read once and went
            /// idle while writers came by, costs writers nothing (docs/DESIGN.md, "The readers set").
            public let isInReadersSet: Bool

            /// "pid 4242", or for a process in another PID namespace "pid 1 in another PID
            /// namespace (pid 4242 here)".
            public var pidDescription: String {
                switch pidNamespace {
                case .same:
                    return "pid \(pid)"
                case let .other(inode, pidHere?):
                    return "pid \(pid) in another PID namespace (pid namespace \(inode); pid \(pidHere) here)"
                case let .other(inode, nil):
                    return "pid \(pid) in another PID namespace (pid namespace \(inode); not visible here)"
                }
            }
        }

        /// Where a participant's ``Participant/pid`` is valid.
        public enum PIDNamespace: Sendable, Equatable {
            /// The same PID namespace as the process that took the snapshot (also when the
            /// participant recorded none: a version without this field).
            case same
            /// Another PID namespace (a container, `unshare --pid`), identified by the inode of
            /// its `/proc/<pid>/ns/pid`; `pidHere` is the participant's PID in the snapshot
            /// taker's namespace, when it could be found and checked.
            case other(inode: UInt32, pidHere: pid_t?)
        }

        /// Read holds across all live processes.
        public let readers: Int
        /// The process holding or claiming the write lock, if any (its PID in its own namespace:
        /// ``writer`` says which namespace).
        public let writerPID: pid_t?
        /// The participant holding or claiming the write lock, if any.
        public let writer: Participant?
        /// True when that writer has finished waiting for readers and holds the lock.
        public let writerHolds: Bool
        /// The process holding the upgradable lock, if any.
        public let upgraderPID: pid_t?
        /// The process waiting to write next, if any: once a waiting writer has taken this place,
        /// no other writer can get the lock before it (readers queued behind the current writer
        /// still go first, for one reader phase).
        public let nextWriterPID: pid_t?
        public let waitingReaders: Int
        public let waitingWriters: Int
        /// True when a writer died holding the lock and no writer has finished normally since.
        public let previousWriterDied: Bool
        /// Every attached process, this one included.
        public let participants: [Participant]
        /// How many processes can attach at once.
        public let capacity: Int
        /// For a named lock: false when its name now refers to another file (the name was removed,
        /// for example by systemd's RemoveIPC at logout, and a new lock created under it), so this
        /// instance and new openers no longer share a lock. nil for anonymous locks.
        public let nameIsCurrent: Bool?

        /// The lock's state in a few words: "free", "read-locked ×2", "write-locked by pid 42", ...
        public var summary: String {
            if let writerPID {
                let who = writer?.pidDescription ?? "pid \(writerPID)"
                return writerHolds ? "write-locked by \(who)" : "\(who) waiting for readers to leave"
            }
            return readers > 0 ? "read-locked ×\(readers)" : "free"
        }

        public var description: String {
            var lines = [summary, "waiting: \(waitingWriters) writer(s), \(waitingReaders) reader(s)"]
            if let upgraderPID { lines.append("upgradable hold: pid \(upgraderPID)") }
            if let nextWriterPID { lines.append("next writer: pid \(nextWriterPID)") }
            if previousWriterDied {
                lines.append("previous writer died holding the lock: the next writer is told to repair the data")
            }
            if nameIsCurrent == false {
                lines.append("warning: this name now refers to a different lock (it was removed and recreated)")
            }
            lines.append("processes: \(participants.count) attached (of \(capacity) slots)")
            for p in participants {
                var flags: [String] = []
                if p.holdsWrite { flags.append("writing") }
                if p.readers > 0 { flags.append("reading ×\(p.readers)") }
                if p.waitingWriters > 0 { flags.append("\(p.waitingWriters) waiting to write") }
                if p.waitingReaders > 0 { flags.append("\(p.waitingReaders) waiting to read") }
                if !p.isAlive { flags.append("dead: recovered by the next process that waits for it") }
                if p.isSelf { flags.append("this instance") }
                lines.append("  \(p.pidDescription)\(flags.isEmpty ? "" : ": " + flags.joined(separator: ", "))")
            }
            return lines.joined(separator: "\n")
        }
    }

    /// Who holds and who waits for this lock right now. Makes no change to the lock.
    public func status() throws -> Status {
        var nameIsCurrent: Bool?
        if let name {
            var info = stat()
            nameIsCurrent = stat(LockName.path(name), &info) == 0
                && UInt64(info.st_dev) == core.segment.device && UInt64(info.st_ino) == core.segment.inode
        }
        return try core.status(nameIsCurrent: nameIsCurrent)
    }
}

extension LockCore {
    func status(nameIsCurrent: Bool?) throws(RWLockError) -> RWLock.Status {
        let me = try currentSlot()  // a forked child attaches first: it needs its own token
        return try words.snapshot(me: me, nameIsCurrent: nameIsCurrent) { slot throws(RWLockError) -> Bool in
            let result = withSlowPath { cprwlock_ofd_is_locked(binding.pointee.token_fd, Int64(slot)) }
            guard result >= 0 else { throw .system(operation: "fcntl(F_OFD_GETLK)", errno: -result) }
            return result == 1
        }
    }
}

extension RWLock {
    /// The status of the named lock, taken without attaching to it: the caller takes no process
    /// slot (so it works on a lock whose slots are all taken) and changes nothing.
    public static func status(name: String) throws -> Status {
        let segment = try MappedSegment.openNamed(name, create: false, permissions: 0o600, slotCount: 1, sharedMemorySize: 0)
        // A description of our own, holding no lock: F_OFD_GETLK on it reports every other
        // description's lock, that is every live participant's token.
        let probe = try Syscall.open("/proc/self/fd/\(segment.fd)", O_RDWR | O_CLOEXEC)
        defer { Syscall.close(probe) }
        return try segment.words.snapshot(me: nil, nameIsCurrent: true) { slot throws(RWLockError) -> Bool in
            let result = cprwlock_ofd_is_locked(probe, Int64(slot))
            guard result >= 0 else { throw .system(operation: "fcntl(F_OFD_GETLK)", errno: -result) }
            return result == 1
        }
    }
}

extension SharedWords {
    /// Reads a status out of the segment. `me` is the caller's own slot, if it has one (it is
    /// alive by definition); `isAlive` checks another slot's liveness token.
    func snapshot(me: Int?, nameIsCurrent: Bool?, isAlive: (Int) throws(RWLockError) -> Bool) throws(RWLockError) -> RWLock.Status {
        var participants: [RWLock.Status.Participant] = []
        let ourNamespace = ProcessIdentity.namespaceInode(of: "self")
        let word = cprwlock_load32(lock)
        let writerSlot = try slot(fromOwner: word)
        let nextSlot = try slot(fromUpgrader: word)  // the upgradable holder, or the next writer
        for slot in attachedSlots() {
            participants.append(.init(
                slot: slot,
                pid: pid_t(bitPattern: cprwlock_load32(pid(slot))),
                readers: Int(ReaderWord.count(cprwlock_load32(readers(slot)))),
                holdsWrite: writerSlot == slot && cprwlock_load32(holdsWrite(slot)) != 0,
                waitingReaders: Int(cprwlock_load32(waitingReaders(slot))),
                waitingWriters: Int(cprwlock_load32(waitingWriters(slot))),
                isAlive: slot == me ? true : try isAlive(slot),
                isSelf: slot == me,
                pidNamespace: pidNamespace(of: slot, ours: ourNamespace),
                isInReadersSet: isInReadersSet(slot)))
        }
        let writer = writerSlot.map { slot in participants.first(where: { $0.slot == slot }) } ?? nil
        // Totals count the living: a dead participant's counts are cleared when someone waiting
        // for it recovers its slot, and until then it is listed as dead.
        let living = participants.filter(\.isAlive)
        return RWLock.Status(
            readers: living.reduce(0) { $0 + $1.readers },
            writerPID: writerSlot.map { pid_t(bitPattern: cprwlock_load32(pid($0))) },
            writer: writer,
            writerHolds: writer?.holdsWrite ?? false,
            upgraderPID: nextSlot.flatMap { cprwlock_load32(holdsUpgradable($0)) != 0 ? pid_t(bitPattern: cprwlock_load32(pid($0))) : nil },
            nextWriterPID: nextSlot.flatMap { cprwlock_load32(holdsUpgradable($0)) == 0 ? pid_t(bitPattern: cprwlock_load32(pid($0))) : nil },
            waitingReaders: living.reduce(0) { $0 + $1.waitingReaders },
            waitingWriters: living.reduce(0) { $0 + $1.waitingWriters },
            previousWriterDied: cprwlock_load32(ownerDied) != 0,
            participants: participants,
            capacity: slotCount,
            nameIsCurrent: nameIsCurrent)
    }

    /// A participant's PID namespace against ours. Its PID here is the one it read from /proc
    /// when it attached, trusted only if that process is in the namespace it recorded.
    private func pidNamespace(of slot: Int, ours: UInt32) -> RWLock.Status.PIDNamespace {
        let theirs = cprwlock_load32(pidNamespace(slot))
        guard theirs != 0, ours != 0, theirs != ours else { return .same }
        let outer = pid_t(bitPattern: cprwlock_load32(outerPID(slot)))
        let seen = outer > 0 && ProcessIdentity.namespaceInode(of: "\(outer)") == theirs
        return .other(inode: theirs, pidHere: seen ? outer : nil)
    }
}
