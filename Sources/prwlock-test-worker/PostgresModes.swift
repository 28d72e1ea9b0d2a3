#if PostgreSQL
import Dispatch
import Glibc
import PRWLock
import PRWLockPostgres
import Synchronization

/// The PostgreSQL lock's roles, for the multi-process tests of PostgresRWLock:
///
///   pg-hold URL NAME read|write SECONDS     acquire, print "acquired", hold, release, print "released"
///   pg-timed URL NAME read|write MS         print "acquired ELAPSED_MS" or "timedout ELAPSED_MS"
///   pg-counter URL NAME FILE COUNT          print "ready" once connected, wait for FILE.go to exist
///                                           (so that all workers count at once), then COUNT times
///                                           under the write lock: read the number in FILE, sleep
///                                           1 ms, write it back plus one; print "done"
func runPostgresMode(_ mode: String, _ arguments: [String]) -> Never {
    guard arguments.count >= 6 else { fail("usage: see PostgresModes.swift") }
    let url = arguments[2], name = arguments[3]
    let failure = Mutex<String?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        do {
            let lock = try await PostgresRWLock(name: name, url: url)
            switch mode {
            case "pg-hold":
                let write = arguments[4] == "write"
                if write { try await lock.acquireWrite() } else { try await lock.acquireRead() }
                say("acquired")
                try await Task.sleep(for: .seconds(Double(arguments[5]) ?? 1))
                if write { try await lock.releaseWrite() } else { try await lock.releaseRead() }
                say("released")
            case "pg-timed":
                let timeout = Duration.milliseconds(Int(arguments[5]) ?? 100)
                let start = ContinuousClock.now
                do {
                    if arguments[4] == "write" {
                        try await lock.withWriteLock(timeout: timeout) {}
                    } else {
                        try await lock.withReadLock(timeout: timeout) {}
                    }
                    say("acquired \((ContinuousClock.now - start) / .milliseconds(1))")
                } catch RWLockError.timedOut {
                    say("timedout \((ContinuousClock.now - start) / .milliseconds(1))")
                }
            case "pg-counter":
                let path = arguments[4]
                say("ready")
                while access(path + ".go", F_OK) != 0 { try await Task.sleep(for: .milliseconds(2)) }
                for _ in 0..<(Int(arguments[5]) ?? 1) {
                    try await lock.withWriteLock {
                        let value = readCounter(path)
                        try await Task.sleep(for: .milliseconds(1))  // widen the window a second writer would need
                        writeCounter(path, value + 1)
                    }
                }
                say("done")
            default:
                fail("unknown mode \(mode)")
            }
            await lock.close()
        } catch {
            failure.withLock { $0 = "\(mode): \(error)" }
        }
        done.signal()
    }
    done.wait()
    if let message = failure.withLock({ $0 }) { fail(message) }
    exit(0)
}

private func readCounter(_ path: String) -> Int {
    guard let file = fopen(path, "r") else { return 0 }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 32)
    guard fgets(&line, Int32(line.count), file) != nil else { return 0 }
    return atol(line)
}

private func writeCounter(_ path: String, _ value: Int) {
    guard let file = fopen(path, "w") else { fail("cannot write \(path)") }
    fputs("\(value)\n", file)
    fclose(file)
}
#endif
