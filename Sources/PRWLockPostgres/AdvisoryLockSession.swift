#if PostgreSQL
import Logging
import Synchronization
import PRWLock
import PostgresNIO

/// One PostgreSQL session (a dedicated connection) holding one advisory lock key for the tasks
/// of this process, and the local queue that makes those tasks exclude each other.
///
/// PostgreSQL sees a session as one holder: two tasks both asking it for the exclusive lock
/// would both get it (advisory locks are re-entrant per session). So tasks of the process meet
/// here first. The session holds the server lock in at most one mode at a time, at most once:
/// the first reader takes it shared on the server and later readers join locally; a writer takes
/// it exclusive. Tasks that cannot go on wait in one FIFO queue, so a waiting writer holds back
/// readers that come after it, as on the server.
///
/// A server query is only sent by the task that owns `serverBusy`; an acquisition is only sent
/// when nothing is held, so no release ever queues behind a blocked acquisition on the
/// connection. Docs/DESIGN.md, "PostgreSQL", explains each race.
actor AdvisoryLockSession {
    enum Mode: Sendable { case shared, exclusive }

    /// What the session holds on the server for the tasks of this process.
    private enum Held: Equatable { case none, shared(count: Int), exclusive }

    /// What a queued task is told when its turn comes.
    private enum Turn { case joinedReaders, server }

    private struct Waiter {
        let id: Int
        let mode: Mode
        let continuation: CheckedContinuation<Turn, any Error>
    }

    private struct Connection {
        let connection: PostgresConnection
        let backendPID: Int32
    }

    let key: PostgresLockKey
    private let configuration: PostgresConnection.Configuration
    private let logger: Logger
    private var connection: Connection?
    private var held = Held.none
    /// Set when the connection was lost while something was held: every release of those holds
    /// throws `lockLost`, and no task joins them.
    private var lostReason: String?
    /// A task is running a server query (an acquisition, or the release of the last hold).
    private var serverBusy = false
    private var queue: [Waiter] = []
    private var nextWaiterID = 0
    private var nextConnectionID = 0
    private var isClosed = false

    init(key: PostgresLockKey, configuration: PostgresConnection.Configuration, logger: Logger) {
        self.key = key
        self.configuration = configuration
        self.logger = logger
    }

    // MARK: Acquire

    /// Acquires in `mode`. `deadline == nil` waits as long as it takes; `isTry` does not wait at
    /// all (locally or on the server). Returns false only for a try that found the lock taken.
    func acquire(_ mode: Mode, deadline: ContinuousClock.Instant?, isTry: Bool) async throws -> Bool {
        try checkOpen()
        try Task.checkCancellation()
        let turn: Turn
        if mode == .shared, case let .shared(count) = held, canJoinReaders, queue.isEmpty {
            held = .shared(count: count + 1)
            return true
        } else if held == .none, !serverBusy, queue.isEmpty {
            serverBusy = true
            turn = .server
        } else if isTry {
            return false
        } else {
            turn = try await waitForTurn(mode, deadline: deadline)
        }
        guard turn == .server else { return true }

        // This task owns serverBusy and nothing is held: ask the server.
        do {
            let acquired = try await acquireOnServer(mode, deadline: deadline, isTry: isTry)
            if acquired { held = mode == .shared ? .shared(count: 1) : .exclusive }
            serverBusy = false
            grantTurns()
            return acquired
        } catch {
            serverBusy = false
            grantTurns()
            throw error
        }
    }

    private var canJoinReaders: Bool { !serverBusy && lostReason == nil }

    /// Waits in the FIFO queue until `grantTurns` lets this task go on, the deadline passes, or
    /// the task is cancelled.
    private func waitForTurn(_ mode: Mode, deadline: ContinuousClock.Instant?) async throws -> Turn {
        let id = nextWaiterID
        nextWaiterID += 1
        let timer = deadline.map { deadline in
            Task { [weak self] in
                try? await Task.sleep(until: deadline, clock: .continuous)
                guard !Task.isCancelled else { return }
                await self?.endWait(id, throwing: RWLockError.timedOut)
            }
        }
        defer { timer?.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                queue.append(Waiter(id: id, mode: mode, continuation: continuation))
            }
        } onCancel: {
            Task { await self.endWait(id, throwing: CancellationError()) }
        }
    }

    /// Takes a still-queued waiter out with `error` (its deadline passed, or it was cancelled).
    private func endWait(_ id: Int, throwing error: any Error) {
        guard let index = queue.firstIndex(where: { $0.id == id }) else { return }
        queue.remove(at: index).continuation.resume(throwing: error)
        grantTurns()  // a writer that left may have been all that held back the readers behind it
    }

    /// Lets queued tasks go on, in order: readers join a shared hold; when nothing is held, the
    /// first waiter gets the server.
    private func grantTurns() {
        while let head = queue.first {
            if head.mode == .shared, case let .shared(count) = held, canJoinReaders {
                held = .shared(count: count + 1)
                queue.removeFirst().continuation.resume(returning: .joinedReaders)
            } else if held == .none, !serverBusy {
                serverBusy = true
                queue.removeFirst().continuation.resume(returning: .server)
                return
            } else {
                return
            }
        }
    }

    // MARK: Release

    /// Releases one hold in `mode`. The last hold is released on the server.
    func release(_ mode: Mode) async throws {
        switch (mode, held) {
        case let (.shared, .shared(count)) where count > 1:
            held = .shared(count: count - 1)
            if let reason = lostReason { throw RWLockError.lockLost(reason) }
            return
        case (.shared, .shared), (.exclusive, .exclusive):
            break
        default:
            throw RWLockError.notHeld
        }
        if let reason = lostReason {
            // The server ended these holds when the connection went; the last one is gone now.
            held = .none
            lostReason = nil
            grantTurns()
            throw RWLockError.lockLost(reason)
        }
        serverBusy = true
        defer {
            held = .none
            serverBusy = false
            grantTurns()
        }
        try await releaseOnServer(mode)
    }

    /// Ends the session: the server drops every lock it held. Waiting tasks get `connectionFailed`.
    func close() async {
        isClosed = true
        for waiter in queue {
            waiter.continuation.resume(throwing: RWLockError.connectionFailed("the lock was closed"))
        }
        queue.removeAll()
        if let current = connection {
            connection = nil
            try? await current.connection.close()
        }
    }

    private func checkOpen() throws {
        if isClosed {
            throw RWLockError.invalidArgument("this PostgresRWLock was closed; make a new one")
        }
    }

    // MARK: Server side

    /// The connection, made (again) if there is none. Called only with serverBusy owned and
    /// nothing held.
    func connected() async throws -> (PostgresConnection, backendPID: Int32) {
        if let current = connection { return (current.connection, current.backendPID) }
        let id = nextConnectionID
        nextConnectionID += 1
        let made: PostgresConnection
        do {
            made = try await PostgresConnection.connect(configuration: configuration, id: id, logger: logger)
        } catch {
            throw RWLockError.connectionFailed(ServerFailure.describe(error))
        }
        do {
            var backendPID: Int32 = 0
            for try await pid in try await made.query("SELECT pg_backend_pid()", logger: logger).decode(Int32.self) {
                backendPID = pid
            }
            connection = Connection(connection: made, backendPID: backendPID)
            watchForLoss(of: made)
            return (made, backendPID)
        } catch {
            try? await made.close()
            throw RWLockError.connectionFailed(ServerFailure.describe(error))
        }
    }

    private func watchForLoss(of made: PostgresConnection) {
        Task { [weak self] in
            try? await made.closeFuture.get()
            await self?.connectionClosed(made)
        }
    }

    private func connectionClosed(_ closed: PostgresConnection) {
        guard let current = connection, current.connection === closed else { return }
        connection = nil
        if held != .none, lostReason == nil {
            lostReason = "the connection to PostgreSQL closed while the lock was held, and the server released it"
            logger.warning("PostgreSQL connection lost while holding the lock", metadata: ["key": "\(key)"])
        }
    }

    private func acquireOnServer(_ mode: Mode, deadline: ContinuousClock.Instant?, isTry: Bool) async throws -> Bool {
        try Task.checkCancellation()
        let (connection, backendPID) = try await connected()
        let suffix = mode == .shared ? "_shared" : ""
        var remaining: Duration?
        if let deadline { remaining = deadline - .now }
        if isTry || remaining.map({ $0 <= .zero }) == true {
            let query: PostgresQuery = "SELECT pg_try_advisory_lock\(unescaped: suffix)(\(key.value))"
            let acquired = try await run(query, on: connection, returning: Bool.self)
            if !acquired, !isTry { throw RWLockError.timedOut }
            return acquired
        }
        // lock_timeout is set in the same statement, before the lock is asked for: the
        // MATERIALIZED CTE is read before the outer row is computed. 0 turns it off.
        let milliseconds = remaining.map { max(1, Int(($0 / .milliseconds(1)).rounded(.up))) } ?? 0
        let query: PostgresQuery = """
            WITH timeout AS MATERIALIZED (SELECT set_config('lock_timeout', \("\(milliseconds)"), false))
            SELECT pg_advisory_lock\(unescaped: suffix)(\(key.value)) IS NULL FROM timeout
            """
        let canceller = ServerWaitCanceller()
        do {
            _ = try await withTaskCancellationHandler {
                try await run(query, on: connection, returning: Bool.self)
            } onCancel: {
                canceller.cancel(backendPID: backendPID, configuration: configuration, logger: logger, connection: connection)
            }
        } catch {
            if await canceller.finish() {
                await dropConnection()
                throw CancellationError()
            }
            if ServerFailure.sqlState(of: error) == "55P03" {
                // The lock timeout fired. If the lock was granted in the same instant, the
                // server keeps it for this session although the statement failed: give it back.
                try await releaseIfGrantedAfterTimeout(mode, on: connection)
                throw RWLockError.timedOut
            }
            throw await failure(error)
        }
        if await canceller.finish() {
            // Cancelled, but granted first: closing the session gives the lock back.
            await dropConnection()
            throw CancellationError()
        }
        return true
    }

    private func releaseIfGrantedAfterTimeout(_ mode: Mode, on connection: PostgresConnection) async throws {
        let query: PostgresQuery = """
            SELECT count(*)::int FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory'
                AND classid = \(Int64(key.classID))::oid AND objid = \(Int64(key.objectID))::oid
                AND objsubid = 1 AND granted
            """
        do {
            if try await run(query, on: connection, returning: Int32.self) > 0 {
                try await releaseOnServer(mode)
            }
        } catch {
            throw await failure(error)
        }
    }

    private func releaseOnServer(_ mode: Mode) async throws {
        guard let current = connection else {
            throw RWLockError.lockLost("the connection to PostgreSQL closed while the lock was held, and the server released it")
        }
        let suffix = mode == .shared ? "_shared" : ""
        let query: PostgresQuery = "SELECT pg_advisory_unlock\(unescaped: suffix)(\(key.value))"
        let released: Bool
        do {
            released = try await run(query, on: current.connection, returning: Bool.self)
        } catch {
            await dropConnection()
            throw RWLockError.lockLost("the release could not reach PostgreSQL (\(ServerFailure.describe(error))); the server releases the lock when it sees the session end")
        }
        if !released {
            throw RWLockError.lockLost("PostgreSQL says this session did not hold the lock (it was released behind this process's back, e.g. by pg_advisory_unlock_all())")
        }
    }

    private func run<Value: PostgresDecodable & Sendable>(
        _ query: PostgresQuery, on connection: PostgresConnection, returning: Value.Type
    ) async throws -> Value {
        var value: Value?
        for try await row in try await connection.query(query, logger: logger).decode(Value.self) {
            value = row
        }
        guard let value else { throw RWLockError.server("the query returned no row") }
        return value
    }

    /// The error to throw for a failed acquisition: a lost connection is dropped (the next
    /// acquisition reconnects); a server error keeps the session.
    private func failure(_ error: any Error) async -> RWLockError {
        if ServerFailure.sqlState(of: error) != nil {
            return .server(ServerFailure.describe(error))
        }
        await dropConnection()
        return .connectionFailed(ServerFailure.describe(error))
    }

    private func dropConnection() async {
        guard let current = connection else { return }
        connection = nil
        try? await current.connection.close()
    }
}

/// Ends a server-side lock wait when its task is cancelled: `pg_cancel_backend` from a second,
/// short-lived connection, or, if that cannot be done, closing the waiting connection.
final class ServerWaitCanceller: Sendable {
    private let task = Mutex<Task<Void, Never>?>(nil)

    func cancel(backendPID: Int32, configuration: PostgresConnection.Configuration, logger: Logger, connection: PostgresConnection) {
        task.withLock { task in
            guard task == nil else { return }
            task = Task {
                do {
                    let side = try await PostgresConnection.connect(configuration: configuration, id: -1, logger: logger)
                    defer { Task { try? await side.close() } }
                    _ = try await side.query("SELECT pg_cancel_backend(\(backendPID))", logger: logger).collect()
                } catch {
                    logger.warning("could not cancel a lock wait on the server; closing its connection", metadata: ["error": "\(error)"])
                    try? await connection.close()
                }
            }
        }
    }

    /// Waits for a cancellation in flight to be done; returns whether the wait was cancelled.
    func finish() async -> Bool {
        guard let running = task.withLock({ $0 }) else { return false }
        await running.value
        return true
    }
}

/// What a postgres-nio error means for the lock.
enum ServerFailure {
    static func sqlState(of error: any Error) -> String? {
        guard let error = error as? PSQLError, error.code == .server else { return nil }
        return error.serverInfo?[.sqlState]
    }

    /// A readable account of the error: postgres-nio's `description` hides details on purpose.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        if let info = error.serverInfo, let message = info[.message] {
            return "\(message) (SQLSTATE \(info[.sqlState] ?? "?"))"
        }
        if let underlying = error.underlying { return "\(error.code): \(underlying)" }
        return "\(error.code)"
    }
}
#endif
