import CPRWLockShim
import Dispatch
import Foundation
import Glibc
import PRWLock

/// Measures what the async API costs beside the synchronous one: an uncontended acquire and
/// release, and the hand-off from a release to a task that was waiting. Returns one line.
func measureAsyncCost(count: Int) -> String {
    let result = UnsafeMutablePointer<String>.allocate(capacity: 1)
    result.initialize(to: "")
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) let output = result
    Task.detached {
        do {
            let lock = try RWLock()
            let sync = try syncReadPairs(lock, count)
            let start = cprwlock_monotonic_ns()
            for _ in 0..<count { try await lock.withReadLock {} }
            let async = Double(cprwlock_monotonic_ns() - start) / Double(count)
            // Hand-off: another participant holds the write lock; a task waits; the release is
            // timed to the task's first instruction inside the lock.
            let other = try RWLock(handle: lock.handle)
            var samples: [Double] = []
            for _ in 0..<200 {
                try syncAcquireWrite(other)
                let waiter = Task { try await lock.withReadLock { cprwlock_monotonic_ns() } }
                try await Task.sleep(for: .milliseconds(2))  // the task is parked by now
                let released = cprwlock_monotonic_ns()
                try syncReleaseWrite(other)
                samples.append(Double(try await waiter.value - released) / 1000)
            }
            samples.sort()
            let p50: Double = samples[samples.count / 2]
            let p99: Double = samples[samples.count * 99 / 100]
            let format = "uncontended withReadLock: sync %.1f ns, async %.1f ns; release-to-resumed-task hand-off: p50 %.1f us, p99 %.1f us"
            output.pointee = String(format: format, sync, async, p50, p99)
        } catch {
            output.pointee = "error: \(error)"
        }
        done.signal()
    }
    done.wait()
    return result.pointee
}

/// The synchronous API, from synchronous code (in an async context the async overloads win).
private func syncReadPairs(_ lock: RWLock, _ count: Int) throws -> Double {
    let start = cprwlock_monotonic_ns()
    for _ in 0..<count { try lock.withReadLock {} }
    return Double(cprwlock_monotonic_ns() - start) / Double(count)
}

private func syncAcquireWrite(_ lock: RWLock) throws { try lock.acquireWrite() }
private func syncReleaseWrite(_ lock: RWLock) throws { try lock.releaseWrite() }
