import Foundation
import PRWLock
import Synchronization
import Testing

@Suite(.serialized) struct AsyncTests {
    @Test func theAsyncSpellingsWork() async throws {
        let lock = try RWLock()
        let v = try await lock.withReadLock { 42 }
        #expect(v == 42)
        try await lock.withWriteLock(timeout: .seconds(1)) { /* ... */ }
        try await lock.acquireRead()
        try lock.releaseRead()
    }

    @Test func aThousandWaitingTasksDoNotHoldUpOtherAsyncWork() async throws {
        let lock = try RWLock()
        let holder = try Worker(["hold", lock.handle.description, "write", "60"])
        try #require(holder.waitForLine(startingWith: "acquired") != nil)
        let entered = Counter()
        let waiters = (0..<1000).map { _ in
            Task {
                try await lock.withReadLock { _ = entered.value.add(1, ordering: .relaxed) }
            }
        }
        try await Task.sleep(for: .milliseconds(200))
        // Other async work still runs: if the waiting tasks blocked the pool's threads (one per
        // core here), this would not finish until the lock was released.
        let start = monotonicSeconds()
        let sum = await withTaskGroup(of: Int.self) { group in
            for i in 0..<200 { group.addTask { await Task.yield(); return i } }
            return await group.reduce(0, +)
        }
        #expect(sum == 199 * 200 / 2)
        #expect(monotonicSeconds() - start < 5)
        #expect(entered.value.load(ordering: .relaxed) == 0)  // the lock is still held by the worker
        holder.kill()
        for waiter in waiters { try await waiter.value }
        #expect(entered.value.load(ordering: .relaxed) == 1000)
    }

    @Test(arguments: ["read", "write"])
    func cancellingAWaitingTaskEndsItPromptlyAndLeavesNoHold(_ mode: String) async throws {
        let lock = try RWLock()
        let holder = try Worker(["hold", lock.handle.description, "write", "60"])
        try #require(holder.waitForLine(startingWith: "acquired") != nil)
        let task = Task {
            if mode == "read" { try await lock.withReadLock {} } else { try await lock.withWriteLock {} }
        }
        try await Task.sleep(for: .milliseconds(200))
        let cancelled = monotonicSeconds()
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(monotonicSeconds() - cancelled < 2)
        let status = try lock.status()
        let mine = status.participants.first { $0.isSelf }
        let me = try #require(mine)
        #expect(me.readers == 0 && !me.holdsWrite && me.waitingReaders == 0 && me.waitingWriters == 0, "\(status)")
        holder.kill()
        try await lock.withWriteLock(timeout: .seconds(10)) {}  // nothing of ours is in the way
    }

    @Test func asyncTimeoutsAreNeverEarly() async throws {
        let lock = try RWLock()
        let other = try RWLock(handle: lock.handle)
        try await other.acquireWrite()
        let start = monotonicSeconds()
        await #expect(throws: RWLockError.timedOut) { try await lock.withReadLock(timeout: .milliseconds(300)) {} }
        #expect(monotonicSeconds() - start >= 0.3)
        try other.releaseWrite()
        #expect(try await lock.withReadLock(timeout: .milliseconds(300)) { 7 } == 7)
    }
}

final class Counter: Sendable {
    let value = Atomic<Int>(0)
}
