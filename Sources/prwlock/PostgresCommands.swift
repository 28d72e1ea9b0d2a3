import ArgumentParser
import Dispatch
import Foundation
import PRWLock
import Synchronization
#if PostgreSQL
import PRWLockPostgres
#endif

/// `prwlock run --postgres URL` and `prwlock status --postgres URL`: the same commands on a
/// PostgresRWLock (a build with the trait PostgreSQL).
enum PostgresCommands {
    static let unavailable =
        "this prwlock was built without PostgreSQL support: build it with --traits PostgreSQL (swift build -c release --traits PostgreSQL)"

    static func checkAvailable() throws {
        #if !PostgreSQL
        throw ValidationError(unavailable)
        #endif
    }

    /// Takes the lock on the server, runs `command` while holding it, releases it; returns the
    /// command's status (75 if the lock was not had in time).
    static func run(url: String, name: String, write: Bool, nonblock: Bool, timeout: Double?, command: [String]) throws -> Int32 {
        #if PostgreSQL
        let lock = try waitForAsync { try await PostgresRWLock(name: name, url: url) }
        let acquired: Bool = try waitForAsync {
            do {
                switch (write, nonblock) {
                case (true, true): return try await lock.tryAcquireWrite()
                case (false, true): return try await lock.tryAcquireRead()
                case (true, false): try await lock.acquireWrite(timeout: timeout.map { .nanoseconds(Int64($0 * 1e9)) })
                case (false, false): try await lock.acquireRead(timeout: timeout.map { .nanoseconds(Int64($0 * 1e9)) })
                }
                return true
            } catch RWLockError.timedOut {
                return false
            }
        }
        guard acquired else {
            let holders = (try? waitForAsync { try await PostgresRWLock.status(name: name, url: url).summary }) ?? "holders unknown"
            standardError("prwlock: lock '\(name)' on PostgreSQL is busy (\(holders)); gave up \(nonblock ? "at once (--nonblock)" : "after \(timeout ?? 0) s")")
            return 75
        }
        let status = try RunCommand.runChild(command)
        try waitForAsync {
            if write { try await lock.releaseWrite() } else { try await lock.releaseRead() }
            await lock.close()
        }
        return status
        #else
        throw ValidationError(unavailable)
        #endif
    }

    /// Prints who holds and waits for the lock on the server.
    static func status(url: String, name: String, json: Bool) throws {
        #if PostgreSQL
        let status = try waitForAsync { try await PostgresRWLock.status(name: name, url: url) }
        if json {
            let object: [String: Any] = [
                "name": name, "key": status.key.value, "classid": status.key.classID, "objid": status.key.objectID,
                "summary": status.summary,
                "sessions": status.sessions.map {
                    ["backendPID": $0.backendPID, "mode": $0.isWrite ? "write" : "read", "granted": $0.isGranted,
                     "application": $0.application, "client": $0.client] as [String: Any]
                },
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("\(name) on PostgreSQL, \(status)")
        }
        #else
        throw ValidationError(unavailable)
        #endif
    }
}

/// Runs async work from a synchronous command and waits for it (the commands are synchronous;
/// PostgresRWLock is async).
func waitForAsync<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
    let outcome = Mutex<Result<T, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        do {
            let value = try await work()
            outcome.withLock { $0 = .success(value) }
        } catch {
            outcome.withLock { $0 = .failure(error) }
        }
        done.signal()
    }
    done.wait()
    return try outcome.withLock { $0! }.get()
}
