// A worker process for PRWLock's multi-process tests. Each mode plays one role; the test starts
// it with the lock's handle, reads its stdout line by line, and sometimes SIGKILLs it.
//
//   prwlock-test-worker hold HANDLE read|write SECONDS        acquire, print "acquired", hold, release
//   prwlock-test-worker timed HANDLE read|write MILLISECONDS  print "timedout ELAPSED_MS" or "acquired ELAPSED_MS"
//   prwlock-test-worker try HANDLE read|write                 print "true" or "false"
//   prwlock-test-worker notice HANDLE                         acquire write, print "died=true|false", release
//   prwlock-test-worker hammer HANDLE RECORD SECONDS WRITE_PERCENT
//        loop on the lock, checking a shared record (a file mapped by all workers) for torn reads
//        and overlapping holders; print "ops=N writes=N torn=N overlaps=N repaired=N maxwait_us=N"
//   prwlock-test-worker fork-hold HANDLE                      fork a child that sleeps; parent holds write
//   prwlock-test-worker fork-exclusion HANDLE                 parent holds write; forked child must not get it
//   prwlock-test-worker read-loop HANDLE SECONDS HOLD_MS      hold read for HOLD_MS, again and again
//   prwlock-test-worker write-loop HANDLE SECONDS HOLD_MS     hold write for HOLD_MS, again and again
//   prwlock-test-worker create-named NAME UMASK PERMISSIONS   create under that umask, print "mode=OCTAL"
//   prwlock-test-worker open-named NAME                       open (or create), take write once, print "ok"
//   prwlock-test-worker fastpath HANDLE COUNT                 COUNT uncontended read and write pairs
//   prwlock-test-worker victim HANDLE OPS                     attach, then OPS (e.g. "read,write"): each a
//                                                            timed acquire and release ("wtimeout": a
//                                                            write with a 100 ms timeout); run with
//                                                            PRWLOCK_CRASH_POINT set to die on the way
//   prwlock-test-worker shared-add HANDLE COUNT               add 1 to the UInt64 in the lock's shared
//                                                            memory COUNT times, under the write lock
//   prwlock-test-worker upgradable HANDLE SECONDS             hold the upgradable lock, print "acquired"
//   prwlock-test-worker upgrade HANDLE MILLISECONDS           upgradable, print "upgradable", upgrade
//                                                            within the timeout, print "upgraded", hold 0.3 s
//   prwlock-test-worker async-cost COUNT                      measure the async API's costs (a figure
//                                                            for the notes, not a test)
//   prwlock-test-worker poll-read HANDLE SECONDS              tryAcquireRead every 0.5 ms
//   prwlock-test-worker pg-hold|pg-timed|pg-counter ...     the PostgreSQL lock's roles (PostgresModes.swift)
//   prwlock-test-worker fork-busy HANDLE COUNT                fork COUNT times while a thread keeps the
//                                                            slow path busy; print "children-ok=N"
//   prwlock-test-worker idle-readers HANDLE COUNT             attach COUNT participants, each reads once;
//                                                            print "ready", stay idle until killed
import CPRWLockShim
import Glibc
import PRWLock

/// Writes one line to a descriptor with write(2): unbuffered, so the test sees it at once.
func writeLine(_ line: String, to fd: Int32) {
    var bytes = Array((line + "\n").utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
        if n <= 0 { return }
        offset += n
    }
}

func say(_ line: String) { writeLine(line, to: 1) }

func fail(_ message: String) -> Never {
    writeLine(message, to: 2)
    exit(2)
}

func openLock(_ argument: String) -> RWLock {
    // "env": the handle comes in the environment, as a spawner might pass it.
    let text = argument == "env" ? String(cString: getenv("PRWLOCK_HANDLE") ?? strdup("")) : argument
    guard let handle = RWLock.Handle(text) else { fail("bad handle \(text)") }
    do {
        return try RWLock(handle: handle)
    } catch {
        fail("open failed: \(error)")
    }
}

func acquire(_ lock: RWLock, _ mode: String, timeout: Duration? = nil) throws -> LockAcquisition {
    switch (mode, timeout) {
    case ("read", nil): return try lock.acquireRead()
    case ("write", nil): return try lock.acquireWrite()
    case ("read", let t?): return try lock.acquireRead(timeout: t)
    case ("write", let t?): return try lock.acquireWrite(timeout: t)
    default: fail("mode must be read or write")
    }
}

func nowMicroseconds() -> Int64 { cprwlock_monotonic_ns() / 1000 }

/// The shared record: 16 words stamped with one sequence number by each writer, and two
/// counters of holders inside.
struct Record {
    static let words = 16
    let base: UnsafeMutablePointer<UInt32>
    var readersInside: UnsafeMutablePointer<UInt32> { base + 32 }
    var writersInside: UnsafeMutablePointer<UInt32> { base + 33 }

    init(path: String) {
        let fd = open(path, O_RDWR)
        guard fd >= 0, let address = mmap(nil, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), address != MAP_FAILED else {
            fail("cannot map record \(path)")
        }
        base = address.assumingMemoryBound(to: UInt32.self)
    }

    func stamp(_ value: UInt32) {
        for i in 0..<Record.words {
            cprwlock_store32(base + i, value)
            cprwlock_cpu_relax()
        }
    }

    func isTorn() -> Bool {
        let first = cprwlock_load32(base)
        for i in 1..<Record.words where cprwlock_load32(base + i) != first { return true }
        return false
    }
}

let arguments = CommandLine.arguments
guard arguments.count >= 3 else { fail("usage: see the comment atop main.swift") }
let mode = arguments[1]

switch mode {
case "hold":
    let lock = openLock(arguments[2])
    do {
        _ = try acquire(lock, arguments[3])
        say("acquired")
        let seconds = Double(arguments[4]) ?? 1
        usleep(useconds_t(seconds * 1_000_000))
        try lock.release()
        say("released")
    } catch {
        fail("hold: \(error)")
    }

case "timed":
    // Signals must neither cut the wait short nor turn into a success: the test sends SIGUSR1
    // while we wait, to a handler installed without SA_RESTART.
    var action = sigaction()
    action.__sigaction_handler.sa_handler = { _ in }
    sigemptyset(&action.sa_mask)
    action.sa_flags = 0
    sigaction(SIGUSR1, &action, nil)
    let lock = openLock(arguments[2])
    let milliseconds = Int(arguments[4]) ?? 100
    let start = nowMicroseconds()
    do {
        _ = try acquire(lock, arguments[3], timeout: .milliseconds(milliseconds))
        say("acquired \((nowMicroseconds() - start) / 1000)")
        try lock.release()
    } catch RWLockError.timedOut {
        say("timedout \((nowMicroseconds() - start) / 1000)")
    } catch {
        fail("timed: \(error)")
    }

case "try":
    let lock = openLock(arguments[2])
    do {
        let got = arguments[3] == "read" ? try lock.tryAcquireRead() : try lock.tryAcquireWrite()
        say(got ? "true" : "false")
        if got { try lock.release() }
    } catch {
        fail("try: \(error)")
    }

case "notice":
    let lock = openLock(arguments[2])
    do {
        let acquisition = try lock.acquireWrite(timeout: .seconds(10))
        say("died=\(acquisition.previousWriterDied)")
        try lock.release()
    } catch {
        fail("notice: \(error)")
    }

case "hammer":
    let lock = openLock(arguments[2])
    let record = Record(path: arguments[3])
    let seconds = Double(arguments[4]) ?? 1
    let writePercent = UInt64(arguments[5]) ?? 10
    let end = nowMicroseconds() + Int64(seconds * 1_000_000)
    var ops = 0, writes = 0, torn = 0, overlaps = 0, repaired = 0
    var maxWait: Int64 = 0
    var rng = SystemRandomNumberGenerator()
    say("started")
    do {
        while nowMicroseconds() < end {
            let isWrite = UInt64.random(in: 0..<100, using: &rng) < writePercent
            let start = nowMicroseconds()
            let acquisition = try acquire(lock, isWrite ? "write" : "read", timeout: .seconds(30))
            maxWait = max(maxWait, nowMicroseconds() - start)
            if isWrite {
                if cprwlock_fetch_add32(record.writersInside, 1) != 0 || cprwlock_load32(record.readersInside) != 0 {
                    overlaps += 1
                }
                if acquisition.previousWriterDied { repaired += 1 }
                record.stamp(cprwlock_load32(record.base) &+ 1)
                _ = cprwlock_fetch_sub32(record.writersInside, 1)
                writes += 1
            } else {
                _ = cprwlock_fetch_add32(record.readersInside, 1)
                if cprwlock_load32(record.writersInside) != 0 { overlaps += 1 }
                // A record torn by a writer that was killed mid-write is announced by the notice.
                if record.isTorn() && !acquisition.previousWriterDied { torn += 1 }
                _ = cprwlock_fetch_sub32(record.readersInside, 1)
            }
            try lock.release()
            ops += 1
        }
    } catch {
        fail("hammer: \(error)")
    }
    say("ops=\(ops) writes=\(writes) torn=\(torn) overlaps=\(overlaps) repaired=\(repaired) maxwait_us=\(maxWait)")
    exit(torn == 0 && overlaps == 0 ? 0 : 1)

case "fork-hold":
    // The child inherits the parent's token descriptor; the atfork handler must close it, or the
    // parent's death would go unnoticed while the child lives.
    let lock = openLock(arguments[2])
    do {
        try lock.acquireWrite()
    } catch {
        fail("fork-hold: \(error)")
    }
    let child = fork()
    if child == 0 {
        sleep(30)
        _exit(0)
    }
    say("child \(child)")
    say("acquired")
    sleep(30)

case "fork-exclusion":
    let lock = openLock(arguments[2])
    do {
        try lock.acquireWrite()
        let child = fork()
        if child == 0 {
            // Our copy of the lock re-attaches as a new participant: the parent's write hold
            // must exclude us, and our own slot must differ from the parent's.
            let code: Int32
            do {
                _ = try lock.acquireRead(timeout: .milliseconds(300))
                code = 10  // wrongly acquired beside the parent's write hold
            } catch RWLockError.timedOut {
                code = 0
            } catch {
                code = 11
            }
            _exit(code)
        }
        var status: Int32 = 0
        waitpid(child, &status, 0)
        let childCode = (status >> 8) & 0xff
        try lock.release()
        // Now the child (a new process) must get it.
        let second = fork()
        if second == 0 {
            do {
                _ = try lock.acquireWrite(timeout: .seconds(5))
                try lock.release()
                _exit(0)
            } catch {
                _exit(12)
            }
        }
        waitpid(second, &status, 0)
        say("excluded=\(childCode) afterwards=\((status >> 8) & 0xff)")
    } catch {
        fail("fork-exclusion: \(error)")
    }

case "read-loop", "write-loop":
    let lock = openLock(arguments[2])
    let end = nowMicroseconds() + Int64((Double(arguments[3]) ?? 1) * 1_000_000)
    let hold = useconds_t((Int(arguments[4]) ?? 1) * 1000)
    var count = 0
    say("started")
    do {
        while nowMicroseconds() < end {
            _ = try acquire(lock, mode == "read-loop" ? "read" : "write", timeout: .seconds(30))
            usleep(hold)
            try lock.release()
            count += 1
        }
    } catch {
        fail("\(mode): \(error)")
    }
    say("done \(count)")

case "create-named":
    umask(mode_t(arguments[3], radix: 8) ?? 0o022)
    do {
        let lock = try RWLock(name: arguments[2], permissions: mode_t(arguments[4], radix: 8) ?? 0o600)
        var info = stat()
        stat("/dev/shm/prwlock.\(arguments[2])", &info)
        say("mode=\(String(info.st_mode & 0o777, radix: 8))")
        _ = lock
    } catch {
        fail("create-named: \(error)")
    }

case "open-named":
    do {
        let lock = try RWLock(name: arguments[2])
        try lock.withWriteLock { _ = usleep(1000) }
        say("ok")
    } catch {
        fail("open-named: \(error)")
    }

case "fastpath":
    let lock = openLock(arguments[2])
    let count = Int(arguments[3]) ?? 1
    do {
        for _ in 0..<count {
            try lock.acquireRead()
            try lock.release()
            try lock.acquireWrite()
            try lock.release()
        }
    } catch {
        fail("fastpath: \(error)")
    }
    say("done")

case "victim":
    let lock = openLock(arguments[2])
    say("attached")
    do {
        for op in arguments[3].split(separator: ",") {
            if op == "read" {
                try lock.acquireRead(timeout: .seconds(20))
                try lock.releaseRead()
            } else if op == "wtimeout" {
                // A write that gives up while it waits (the test holds the lock longer).
                do {
                    try lock.acquireWrite(timeout: .milliseconds(100))
                    try lock.releaseWrite()
                } catch RWLockError.timedOut {}
            } else {
                try lock.acquireWrite(timeout: .seconds(20))
                try lock.releaseWrite()
            }
        }
    } catch {
        fail("victim: \(error)")
    }
    say("done")

case "idle-readers":
    do {
        // Each RWLock instance is a participant of its own (its own slot).
        let participants = (0..<(Int(arguments[3]) ?? 1)).map { _ in openLock(arguments[2]) }
        for participant in participants {
            try participant.acquireRead(timeout: .seconds(20))
            try participant.releaseRead()
        }
        say("ready")
        withExtendedLifetime(participants) { while true { sleep(60) } }
    } catch {
        fail("idle-readers: \(error)")
    }

case "shared-add":
    let lock = openLock(arguments[2])
    do {
        for _ in 0..<(Int(arguments[3]) ?? 1) {
            try lock.withWriteLocked(UInt64.self) { $0 += 1 }
        }
    } catch {
        fail("shared-add: \(error)")
    }
    say("done")

case "upgradable":
    let lock = openLock(arguments[2])
    do {
        try lock.acquireUpgradable(timeout: .seconds(20))
        say("acquired")
        usleep(useconds_t((Double(arguments[3]) ?? 1) * 1_000_000))
        try lock.releaseUpgradable()
        say("released")
    } catch {
        fail("upgradable: \(error)")
    }

case "upgrade":
    let lock = openLock(arguments[2])
    do {
        try lock.acquireUpgradable(timeout: .seconds(20))
        say("upgradable")
        try lock.upgrade(timeout: .milliseconds(Int64(arguments[3]) ?? 1000))
        say("upgraded")
        usleep(300_000)
        try lock.release()
        say("released")
    } catch {
        fail("upgrade: \(error)")
    }

case "async-cost":
    let count = Int(arguments[2]) ?? 10000
    say(measureAsyncCost(count: count))

case "poll-read":
    let lock = openLock(arguments[2])
    let end = nowMicroseconds() + Int64((Double(arguments[3]) ?? 1) * 1_000_000)
    var polls = 0
    say("started")
    do {
        while nowMicroseconds() < end {
            if try lock.tryAcquireRead() { try lock.releaseRead() }
            polls += 1
            usleep(500)
        }
    } catch {
        fail("poll-read: \(error)")
    }
    say("polls=\(polls)")

case "fork-busy":
    // A second thread keeps taking the lock's slow-path mutex (status() takes it) while the main
    // thread forks: each child must still be able to use its copy of the lock.
    let lock = openLock(arguments[2])
    let count = Int(arguments[3]) ?? 20
    startSlowPathThread(lock)
    var ok = 0
    for _ in 0..<count {
        let child = fork()
        if child == 0 {
            do {
                let got = try lock.tryAcquireRead()
                if got { try lock.releaseRead() }
                _exit(got ? 0 : 3)
            } catch {
                _exit(4)
            }
        }
        var status: Int32 = 0
        waitpid(child, &status, 0)
        if status == 0 { ok += 1 }
    }
    say("children-ok=\(ok)")
    exit(0)

case "pg-hold", "pg-timed", "pg-counter":
    #if PostgreSQL
    runPostgresMode(mode, arguments)
    #else
    fail("\(mode) needs a build with the PostgreSQL trait (swift build --traits PostgreSQL)")
    #endif

default:
    fail("unknown mode \(mode)")
}
