#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Synchronization

/// Waits for the lock on behalf of async tasks, so that no thread of the cooperative pool ever
/// blocks in a futex: a task that cannot take the lock at once parks as a continuation here, and
/// one dedicated thread per `RWLock` (started on demand, gone when idle) takes the lock for the
/// waiting tasks one after another, in arrival order. Holds belong to the `RWLock` instance, not
/// to a thread, so the task that is resumed holds what this thread acquired for it.
///
/// Cancellation raises the waiter's flag and wakes the lock's futexes; the waiting thread sees
/// the flag, gives up (a writer abandons its claim), and the task gets `CancellationError`. If the
/// acquisition won the race with the cancellation, the hold is released before the error.
final class AsyncWaiters: Sendable {
    enum Mode: Sendable { case read, write }

    private struct Waiter {
        let id: UInt64
        let mode: Mode
        let deadline: Int64
        let flag: CancellationFlag
        let continuation: CheckedContinuation<LockAcquisition, any Error>
    }

    private struct State {
        var queue: [Waiter] = []
        var nextID: UInt64 = 0
        var threadRunning = false
    }

    private let core: LockCore
    private let state = Mutex(State())
    private let work = DispatchSemaphore(value: 0)

    init(core: LockCore) { self.core = core }

    func acquire(_ mode: Mode, deadline: Int64) async throws -> LockAcquisition {
        let flag = CancellationFlag()
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let startThread = state.withLock { state -> Bool in
                    state.queue.append(Waiter(id: id, mode: mode, deadline: deadline, flag: flag, continuation: continuation))
                    defer { state.threadRunning = true }
                    return !state.threadRunning
                }
                if startThread { startWaitingThread() } else { work.signal() }
            }
        } onCancel: {
            flag.raise()
            core.interruptWaiters()
        }
    }

    private func startWaitingThread() {
        let box = Unmanaged.passRetained(self)
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { raw in
            let waiters = Unmanaged<AsyncWaiters>.fromOpaque(raw!).takeRetainedValue()
            waiters.serve()
            return nil
        }, box.toOpaque())
        if result == 0 {
            pthread_detach(thread)
        } else {
            box.release()
            // No thread: fail everyone queued rather than leave them waiting forever.
            let queued = state.withLock { state -> [Waiter] in
                defer { state.queue = []; state.threadRunning = false }
                return state.queue
            }
            for waiter in queued {
                waiter.continuation.resume(throwing: RWLockError.system(operation: "pthread_create", errno: result))
            }
        }
    }

    /// The waiting thread: serves the queue, then lingers a second for more before it exits.
    private func serve() {
        while true {
            let next = state.withLock { state -> Waiter? in
                if state.queue.isEmpty { return nil }
                return state.queue.removeFirst()
            }
            guard let waiter = next else {
                if work.wait(timeout: .now() + .seconds(1)) == .success { continue }
                let done = state.withLock { state -> Bool in
                    if state.queue.isEmpty { state.threadRunning = false; return true }
                    return false
                }
                if done { return }
                continue
            }
            serve(waiter)
        }
    }

    private func serve(_ waiter: Waiter) {
        if waiter.flag.isRaised {
            waiter.continuation.resume(throwing: CancellationError())
            return
        }
        let deadline = Deadline(nanoseconds: waiter.deadline, cancellation: waiter.flag)
        do {
            switch waiter.mode {
            case .read: _ = try core.acquireRead(deadline: deadline, isTry: false)
            case .write: _ = try core.acquireWrite(deadline: deadline, isTry: false)
            }
        } catch RWLockError.cancelled {
            waiter.continuation.resume(throwing: CancellationError())
            return
        } catch {
            waiter.continuation.resume(throwing: error)
            return
        }
        if waiter.flag.isRaised {
            // Acquired, but the task was cancelled meanwhile: leave no hold behind.
            switch waiter.mode {
            case .read: try? core.releaseRead()
            case .write: try? core.releaseWrite()
            }
            waiter.continuation.resume(throwing: CancellationError())
            return
        }
        waiter.continuation.resume(returning: LockAcquisition(previousWriterDied: core.previousWriterDied))
    }
}
