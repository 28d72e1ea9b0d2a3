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
    enum Mode: Sendable {
        case shared, exclusive

        /// How the advisory-lock functions of this mode end: `pg_advisory_lock_shared`, ….
        var functionSuffix: String { self == .shared ? "_shared" : "" }
    }

    /// Why holds are lost when their connection closed.
    private static let connectionClosedReason =
        "the connection to PostgreSQL closed while the lock was held, and the server released it"

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
    /// When the session took the lock shared on the server, or last found nobody waiting for it
    /// there. Local readers never see a writer that waits on the server, so once this is older
    /// than `readerJoinWindow` the next reader asks the server (one non-blocking query) whether
    /// anyone waits; if someone does, readers stop joining and the hold drains.
    private var sharedSince = ContinuousClock.now
    /// A reader is asking the server whether anyone waits; others queue meanwhile.
    private var waitCheckInFlight = false
    /// Someone waits on the server: no more local joins until this hold has drained.
    private var drainRequested = false

    /// How often, at most, a read hold that local readers keep joining is checked for waiters
    /// on the server.
    static let readerJoinWindow = Duration.milliseconds(10)

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
        if mode == .shared, case .shared = held, !serverBusy, lostReason == nil, !drainRequested,
            queue.isEmpty, !waitCheckInFlight, ContinuousClock.now - sharedSince >= Self.readerJoinWindow
        {
            waitCheckInFlight = true
            let someoneWaits = await someoneWaitsOnTheServer()
            waitCheckInFlight = false
            if someoneWaits { drainRequested = true } else { sharedSince = .now }
            grantTurns()  // readers that queued during the check
        }
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
            if acquired {
                held = mode == .shared ? .shared(count: 1) : .exclusive
                sharedSince = .now
                drainRequested = false
            }
            serverBusy = false
            grantTurns()
            return acquired
        } catch {
            serverBusy = false
            grantTurns()
            throw error
        }
    }

    private var canJoinReaders: Bool {
        !serverBusy && lostReason == nil && !drainRequested && !waitCheckInFlight
            && ContinuousClock.now - sharedSince < Self.readerJoinWindow
    }

    /// Whether any session waits for this key (a request not granted). Non-blocking: sent while
    /// a read hold is had, it may queue ahead of a release on the connection, never behind a
    /// blocked acquisition. An error counts as "yes": the hold then drains, which is always safe.
    private func someoneWaitsOnTheServer() async -> Bool {
        guard let current = connection else { return true }
        let query: PostgresQuery = "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE \(unescaped: key.pgLocksCondition) AND NOT granted)"
        return (try? await run(query, on: current.connection, returning: Bool.self)) ?? true
    }

    /// Checks with the server that the session still holds the lock (see
    /// `PostgresRWLock.verifyHeld()`).
    func verifyHeld() async throws {
        guard held != .none else { throw RWLockError.notHeld }
        if let reason = lostReason { throw RWLockError.lockLost(reason) }
        guard let current = connection else {
            throw RWLockError.lockLost(Self.connectionClosedReason)
        }
        let query: PostgresQuery = "SELECT count(*)::int FROM pg_locks WHERE pid = pg_backend_pid() AND \(unescaped: key.pgLocksCondition) AND granted"
        let count: Int32
        do {
            count = try await run(query, on: current.connection, returning: Int32.self)
        } catch {
            throw RWLockError.lockLost("PostgreSQL could not be asked (\(ServerFailure.describe(error))); treat the lock as lost")
        }
        if count == 0 {
            throw RWLockError.lockLost("PostgreSQL no longer has this session's lock")
        }
    }

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
        // Nothing is held locally from here: a second release of this hold gets notHeld, and
        // the close monitor does not mark it lost while its unlock is on the way.
        held = .none
        serverBusy = true
        defer {
            serverBusy = false
            grantTurns()
        }
        try await releaseOnServer(mode)
    }

    /// Ends the session: the server drops every lock it held. Waiting tasks get `connectionFailed`.
    func close() async {
        isClosed = true
        if held != .none, lostReason == nil {
            lostReason = "the lock was closed with close() while held, and the server released it"
        }
        for waiter in queue {
            waiter.continuation.resume(throwing: Self.closedError)
        }
        queue.removeAll()
        if let current = connection {
            connection = nil
            try? await current.connection.close()
        }
    }

    private func checkOpen() throws {
        if isClosed { throw Self.closedError }
    }

    private static let closedError = RWLockError.connectionFailed("this PostgresRWLock was closed with close(); make a new one")

    // MARK: Server side

    /// The connection, made (again) if there is none. Called only with serverBusy owned and
    /// nothing held.
    func connected(deadline: ContinuousClock.Instant? = nil) async throws -> (PostgresConnection, backendPID: Int32) {
        if let current = connection { return (current.connection, current.backendPID) }
        let id = nextConnectionID
        nextConnectionID += 1
        var configuration = self.configuration
        if let deadline {
            // Connecting counts against the caller's timeout.
            let remaining = deadline - .now
            guard remaining > .zero else { throw RWLockError.timedOut }
            let nanoseconds = Int64(min(remaining / .nanoseconds(1), Double(Int64.max / 2)))
            if nanoseconds < configuration.options.connectTimeout.nanoseconds {
                configuration.options.connectTimeout = .nanoseconds(nanoseconds)
            }
        }
        let made: PostgresConnection
        do {
            made = try await PostgresConnection.connect(configuration: configuration, id: id, logger: logger)
        } catch {
            if let deadline, deadline <= .now { throw RWLockError.timedOut }
            throw RWLockError.connectionFailed(ServerFailure.describe(error))
        }
        do {
            // A role's or database's statement_timeout would end an untimed wait, and
            // idle_session_timeout would end a holding session: both off for this session.
            // client_connection_check_interval makes the backend notice a client that went
            // away while it waits for the lock (a closed connection, a killed process), and
            // leave the queue then, not only when it would have been granted. The last two
            // exist from PostgreSQL 14; the join with pg_settings skips them before.
            let query: PostgresQuery = """
                SELECT pg_backend_pid(), (SELECT count(set_config(s.name, v.value, false))::int
                    FROM (VALUES ('statement_timeout', '0'), ('idle_in_transaction_session_timeout', '0'),
                                 ('idle_session_timeout', '0'), ('client_connection_check_interval', '500'))
                         AS v(name, value)
                    JOIN pg_settings s ON s.name = v.name)
                """
            var backendPID: Int32 = 0
            for try await (pid, _) in try await made.query(query, logger: logger).decode((Int32, Int32).self) {
                backendPID = pid
            }
            guard !isClosed else {
                try? await made.close()
                throw Self.closedError
            }
            connection = Connection(connection: made, backendPID: backendPID)
            watchForLoss(of: made)
            return (made, backendPID)
        } catch let error as RWLockError {
            throw error
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
            lostReason = Self.connectionClosedReason
            logger.warning("PostgreSQL connection lost while holding the lock", metadata: ["key": "\(key)"])
        }
    }

    /// Asks the server for the lock; true once granted, false for a try that found it taken.
    /// Nothing is held when it throws. A connection found closed (the server restarted while
    /// nothing was held) is made again once.
    private func acquireOnServer(_ mode: Mode, deadline: ContinuousClock.Instant?, isTry: Bool) async throws -> Bool {
        var reconnected = false
        while true {
            try checkOpen()
            try Task.checkCancellation()
            let (connection, backendPID) = try await connected(deadline: deadline)
            do {
                guard let acquired = try await requestOnServer(mode, deadline: deadline, isTry: isTry, connection: connection, backendPID: backendPID) else {
                    continue  // lock_timeout's cap passed before the deadline: wait again
                }
                // The connection may have closed between the grant and now: then nothing is held.
                guard acquired == false || self.connection?.connection === connection else {
                    throw RWLockError.connectionFailed("the connection to PostgreSQL closed just after the lock was granted; nothing is held")
                }
                return acquired
            } catch let failure as ConnectionLost where !reconnected {
                logger.debug("reconnecting to PostgreSQL", metadata: ["error": "\(failure.message)"])
                reconnected = true  // once; a wait re-sent after lock_timeout's cap does not count
                continue
            } catch let failure as ConnectionLost {
                throw RWLockError.connectionFailed(failure.message)
            }
        }
    }

    /// One acquisition statement. Returns nil when a capped lock_timeout fired before the
    /// caller's deadline.
    private func requestOnServer(
        _ mode: Mode, deadline: ContinuousClock.Instant?, isTry: Bool, connection: PostgresConnection, backendPID: Int32
    ) async throws -> Bool? {
        let suffix = mode.functionSuffix
        var remaining: Duration?
        if let deadline { remaining = deadline - .now }
        if isTry || remaining.map({ $0 <= .zero }) == true {
            let query: PostgresQuery = "SELECT pg_try_advisory_lock\(unescaped: suffix)(\(key.value))"
            let acquired: Bool
            do {
                acquired = try await run(query, on: connection, returning: Bool.self)
            } catch {
                throw await failure(error)
            }
            if !acquired, !isTry { throw RWLockError.timedOut }
            return acquired
        }
        // lock_timeout is set in the same statement, before the lock is asked for: the
        // MATERIALIZED CTE is read before the outer row is computed. 0 turns it off; the server
        // takes at most Int32.max ms (24.8 days), so a longer wait is made of several.
        let milliseconds = remaining.map { Int(max(1, min(($0 / .milliseconds(1)).rounded(.up), Double(Int32.max)))) } ?? 0
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
            guard ServerFailure.sqlState(of: error) == "55P03" else {
                // Any other failure of the statement (statement_timeout set by hand, an
                // administrator's pg_cancel_backend, a lost connection) may come after a grant
                // that the session keeps: drop the session, which drops whatever it held.
                throw await failure(error)
            }
            // The lock timeout fired. If the lock was granted in the same instant, the server
            // keeps it for this session although the statement failed: give it back.
            await releaseIfGrantedAfterTimeout(mode, on: connection)
            if let deadline, deadline > .now { return nil }
            throw RWLockError.timedOut
        }
        if await canceller.finish() {
            // Cancelled, but granted first: closing the session gives the lock back.
            await dropConnection()
            throw CancellationError()
        }
        return true
    }

    /// After a lock timeout: releases the lock if the server granted it anyway; if that cannot be
    /// checked, drops the session (which releases it too).
    private func releaseIfGrantedAfterTimeout(_ mode: Mode, on connection: PostgresConnection) async {
        let query: PostgresQuery = "SELECT count(*)::int FROM pg_locks WHERE pid = pg_backend_pid() AND \(unescaped: key.pgLocksCondition) AND granted"
        do {
            if try await run(query, on: connection, returning: Int32.self) > 0 {
                try await releaseOnServer(mode)
            }
        } catch {
            await dropConnection()
        }
    }

    private func releaseOnServer(_ mode: Mode) async throws {
        guard let current = connection else {
            throw RWLockError.lockLost(Self.connectionClosedReason)
        }
        let suffix = mode.functionSuffix
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

    /// The error to throw for a failed acquisition statement, after dropping the session: a
    /// failed statement may have been granted the lock first, and only the session's end
    /// releases it for sure. A server error becomes `RWLockError.server`; a lost connection,
    /// `ConnectionLost` (the caller may reconnect once).
    private func failure(_ error: any Error) async -> any Error {
        await dropConnection()
        if ServerFailure.sqlState(of: error) != nil {
            return RWLockError.server(ServerFailure.describe(error))
        }
        if error is RWLockError { return error }
        return ConnectionLost(message: ServerFailure.describe(error))
    }

    private func dropConnection() async {
        guard let current = connection else { return }
        connection = nil
        try? await current.connection.close()
    }
}

/// A connection that failed under a statement (closed, reset): nothing is held.
struct ConnectionLost: Error {
    let message: String
}

/// Ends a server-side lock wait when its task is cancelled: `pg_cancel_backend` from a second,
/// short-lived connection. If the wait has not ended two seconds later (the cancel could not be
/// sent, or reached the backend before the statement began, when a cancel is ignored), the
/// waiting connection is closed; the server then drops the request when the wait ends.
final class ServerWaitCanceller: Sendable {
    private struct State {
        var cancel: Task<Void, Never>?
        var fallback: Task<Void, Never>?
    }
    private let state = Mutex(State())
    static let fallbackDelay = Duration.seconds(2)

    func cancel(backendPID: Int32, configuration: PostgresConnection.Configuration, logger: Logger, connection: PostgresConnection) {
        state.withLock { state in
            guard state.cancel == nil else { return }
            state.cancel = Task {
                do {
                    let side = try await PostgresConnection.connect(configuration: configuration, id: -1, logger: logger)
                    _ = try? await side.query("SELECT pg_cancel_backend(\(backendPID))", logger: logger).collect()
                    try? await side.close()
                } catch {
                    logger.warning("could not cancel a lock wait on the server", metadata: ["error": "\(error)"])
                }
            }
            state.fallback = Task {
                try? await Task.sleep(for: Self.fallbackDelay)
                guard !Task.isCancelled else { return }
                logger.warning("a cancelled lock wait did not end; closing its connection")
                try? await connection.close()
            }
        }
    }

    /// Called once the waiting statement has returned: waits for the cancel request to be done
    /// (so that it cannot reach a later statement) and returns whether the wait was cancelled.
    func finish() async -> Bool {
        let (cancel, fallback) = state.withLock { ($0.cancel, $0.fallback) }
        fallback?.cancel()
        guard let cancel else { return false }
        await cancel.value
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
