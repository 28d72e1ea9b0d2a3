#if canImport(Glibc)
import Glibc
#endif
import CPRWLockShim
import Logging
import Synchronization

/// One participant of a shared lock: the protocol of docs/DESIGN.md run against one mapped
/// segment from one process. `RWLock` is its public face.
///
/// The fast paths (LockCore+Read.swift, LockCore+Write.swift) touch only shared words and the
/// process-private binding; everything that may sleep, recover a dead participant (LockCore+Recovery.swift)
/// or attach (here) is out of line.
@usableFromInline
final class LockCore: @unchecked Sendable {
    // @unchecked: `binding` is process-private C memory whose `slot` is read atomically on every
    // operation and written only under the binding's mutex (or by the atfork child handler, when
    // only one thread exists); everything else is immutable or lives in the shared segment.
    let segment: MappedSegment
    @usableFromInline let words: SharedWords
    let binding: UnsafeMutablePointer<cprwlock_binding>
    @usableFromInline let bindingSlot: UnsafeMutablePointer<UInt32>
    /// Where recoveries (warning) and slow acquisitions (debug) are reported; never configured here.
    let logger: Logger?
    /// The thread (cprwlock_thread_id) that took this participant's write hold through a blocking
    /// API, or 0: recorded after the hold is had, cleared by every write release before W is given
    /// up. Lets a thread that asks for the lock again while it holds the write lock get
    /// `wouldDeadlock` instead of waiting for itself (see `checkNotWaitingForItself`).
    @usableFromInline let writerThread = Atomic<UInt>(0)
    /// Wakes this participant's waiters when a process they wait for exits (Protocol/Watching.swift);
    /// nil if it could not be allocated (the waits then check liveness on their timer alone).
    let watcher: OpaquePointer?
    /// Our PID namespace's inode: only processes in it can be watched by PID.
    let pidNamespace: UInt32

    /// An acquisition that waited longer than this is logged at debug level.
    static let slowAcquisitionNanoseconds: Int64 = 10_000_000

    /// A waiter checks the liveness of whoever it waits for at least this often: a dead holder
    /// wakes nobody. The kernel drops a killed process's token 0.05–0.15 ms after SIGKILL (more
    /// when it has much memory to free), so this interval is most of recovery's time. Each timed
    /// wake-up costs the waiter ~32 µs of CPU on the 2-core VM this was measured on (a bare
    /// futex sleep costs the same), so 4 ms keeps a waiter under 1% of a core
    /// (`prwlock bench --scenarios waiter-cpu,recovery`; 1 ms gave 3.4%).
    static let livenessCheckNanoseconds: Int64 = 4_000_000
    /// A waiter whose every blocker is watched (a death wakes it) still checks this often, in case
    /// the blockers changed since it last checked (~0.2% of a core on the VM measured above).
    static let watchedCheckNanoseconds: Int64 = 20_000_000
    /// How long a writer defers to readers that queued behind the previous writer (the readers'
    /// phase). Bounded, so a stopped or starved waiting reader cannot hold writers off forever.
    static let readerPhaseNanoseconds: Int64 = 2_000_000
    /// A writer that had to look at more slots of the readers set than this revokes the idle
    /// ones (V1–V3): up to this many processes that read once stay in the set for free.
    @usableFromInline static let revocationThreshold = 8
    /// The most read holds one participant may have at once.
    @usableFromInline static let maximumReadHolds: UInt32 = 1 << 30

    init(segment: MappedSegment, logger: Logger?) throws(RWLockError) {
        guard let binding = cprwlock_binding_create() else {
            throw .system(operation: "malloc", errno: ENOMEM)
        }
        self.segment = segment
        self.words = segment.words
        self.logger = logger
        self.binding = binding
        self.bindingSlot = UnsafeMutableRawPointer(binding)
            .advanced(by: MemoryLayout<cprwlock_binding>.offset(of: \cprwlock_binding.slot)!)
            .assumingMemoryBound(to: UInt32.self)
        self.watcher = cprwlock_watcher_create(binding, segment.words.lock, segment.words.event)
        self.pidNamespace = ProcessIdentity.namespaceInode(of: "self")
        // Every stored property is set, so if attaching throws, deinit runs and frees the binding.
        try withSlowPath { () throws(RWLockError) in try attachLocked() }
    }

    deinit {
        cprwlock_watcher_destroy(watcher)  // its thread wakes the segment's words: stop it first
        withSlowPath { detachLocked() }
        cprwlock_binding_destroy(binding)
    }

    /// Runs `body` holding the binding's mutex: attaching, recovery and detaching exclude each
    /// other inside this process (its threads share one token description, so the kernel's slot
    /// lock does not exclude them), and fork() waits for them to finish.
    @inline(__always)
    func withSlowPath<T>(_ body: () throws(RWLockError) -> T) throws(RWLockError) -> T {
        cprwlock_binding_lock(binding)
        defer { cprwlock_binding_unlock(binding) }
        return try body()
    }

    @inline(__always)
    func withSlowPath<T>(_ body: () -> T) -> T {
        cprwlock_binding_lock(binding)
        defer { cprwlock_binding_unlock(binding) }
        return body()
    }

    // MARK: - Self-deadlock

    /// Records the calling thread as the write holder. Called by the thread-bound acquisitions
    /// (the sync and C APIs) after they got the write lock; async acquisitions record nothing,
    /// since a task's later code may run on any thread.
    @inlinable
    func noteWriterThread() {
        writerThread.store(UInt(cprwlock_thread_id()), ordering: .relaxed)
    }

    /// Throws `wouldDeadlock` when the calling thread holds this participant's write lock and
    /// `deadline` is still ahead: the wait for the read or write lock would be a wait for itself.
    /// Only waits call it, on their slow path; a try, or a zero timeout, just fails (timedOut).
    func checkNotWaitingForItself(until deadline: Deadline) throws(RWLockError) {
        if writerThread.load(ordering: .relaxed) == UInt(cprwlock_thread_id()) && holdsWrite && !deadline.hasPassed() {
            throw .wouldDeadlock
        }
    }

    // MARK: - Own slot

    /// This participant's slot, or nil in a forked child that has not re-attached yet (the atfork
    /// handler invalidated the slot it inherited). One relaxed load: the fast paths' only check.
    @inline(__always)
    @inlinable var fastSlot: Int? {
        let slot = cprwlock_load32_relaxed(bindingSlot)
        return slot < UInt32(truncatingIfNeeded: words.slotCount) ? Int(slot) : nil
    }

    /// This participant's slot; attaches afresh in a forked child.
    @usableFromInline func currentSlot() throws(RWLockError) -> Int {
        if let slot = fastSlot { return slot }
        return try withSlowPath { () throws(RWLockError) -> Int in
            if let slot = fastSlot { return slot }
            try attachLocked()
            return Int(cprwlock_load32(bindingSlot))
        }
    }

    // MARK: - Attach and detach

    /// Takes a slot: opens a private token description, then for each slot (free ones first,
    /// then attached ones, whose owners may be dead) tries the slot's byte lock; the first one won
    /// becomes ours, its byte lock our liveness token. Caller holds the binding's mutex.
    func attachLocked() throws(RWLockError) {
        let token = cprwlock_binding_open_token(binding, segment.fd)
        guard token >= 0 else { throw .system(operation: "open(/proc/self/fd/\(segment.fd))", errno: -token) }
        // Two rounds: a slot freed between the passes of the first round is found in the second.
        for _ in 0..<2 {
            for wantFree in [true, false] {
                for slot in 0..<words.slotCount where (cprwlock_load32(words.state(slot)) == 0) == wantFree {
                    let result = cprwlock_ofd_trylock(token, Int64(slot))
                    if result == EAGAIN || result == EACCES { continue }  // a live owner
                    guard result == 0 else {
                        _ = cprwlock_binding_close_token(binding)
                        throw .system(operation: "fcntl(F_OFD_SETLK)", errno: result)
                    }
                    CrashPoint.reach(.attachSlotLocked)
                    clear(slot)  // whatever a dead owner (or a corrupt segment) left behind
                    cprwlock_store32(words.pid(slot), UInt32(bitPattern: getpid()))
                    let identity = ProcessIdentity.current()
                    cprwlock_store32(words.pidNamespace(slot), identity.pidNamespace)
                    cprwlock_store32(words.outerPID(slot), UInt32(bitPattern: identity.outerPID))
                    cprwlock_store32(words.state(slot), 1)
                    CrashPoint.reach(.attachStateSet)
                    words.setAttached(slot)
                    cprwlock_store32(bindingSlot, UInt32(slot))
                    return
                }
            }
        }
        _ = cprwlock_binding_close_token(binding)
        throw .tooManyProcesses(limit: words.slotCount)
    }

    /// Leaves the lock: a hold still open is abandoned as a death would abandon it, the slot is
    /// cleared as recovery clears it, and the token closes. Caller holds the binding's mutex.
    private func detachLocked() {
        if let slot = fastSlot {
            clear(slot)
            cprwlock_store32(bindingSlot, CPRWLOCK_NO_SLOT)
        }
        _ = cprwlock_binding_close_token(binding)
    }
}
