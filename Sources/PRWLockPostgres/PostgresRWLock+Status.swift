#if PostgreSQL
import Logging
import PRWLock
import PostgresNIO

extension PostgresRWLock {
    /// Who holds and who waits for a PostgreSQL advisory lock, as `pg_locks` and
    /// `pg_stat_activity` show it.
    public struct Status: Sendable, Equatable, CustomStringConvertible {
        /// One session that holds the key or waits for it.
        public struct Session: Sendable, Equatable {
            /// The server process of the session (not the client's PID).
            public let backendPID: Int32
            /// True for a write (exclusive) hold or request, false for a read (shared) one.
            public let isWrite: Bool
            /// True when held, false when waiting.
            public let isGranted: Bool
            /// The session's `application_name`: for a PostgresRWLock, `prwlock PID@HOST` of the
            /// client process unless its URL set another.
            public let application: String
            /// The client's address as the server sees it (`local` for a Unix socket).
            public let client: String
        }

        /// The key looked up.
        public let key: PostgresLockKey
        /// Holders first, then waiters, each in backend-PID order.
        public let sessions: [Session]

        public var readers: [Session] { sessions.filter { $0.isGranted && !$0.isWrite } }
        public var writer: Session? { sessions.first { $0.isGranted && $0.isWrite } }
        public var waitingReaders: Int { sessions.filter { !$0.isGranted && !$0.isWrite }.count }
        public var waitingWriters: Int { sessions.filter { !$0.isGranted && $0.isWrite }.count }

        /// One line: "held for writing by prwlock 4242@web-3 (10.0.0.7); 1 writer(s) and 1 reader(s) waiting".
        public var summary: String {
            var parts: [String] = []
            if let writer { parts.append("held for writing by \(writer.application) (\(writer.client))") }
            if !readers.isEmpty {
                parts.append("read by " + readers.map { "\($0.application) (\($0.client))" }.joined(separator: ", "))
            }
            if waitingReaders + waitingWriters > 0 {
                parts.append("\(waitingWriters) writer(s) and \(waitingReaders) reader(s) waiting")
            }
            return parts.isEmpty ? "free" : parts.joined(separator: "; ")
        }

        public var description: String {
            var lines = ["advisory key \(key) (pg_locks classid \(key.classID), objid \(key.objectID)): \(summary)"]
            for session in sessions {
                lines.append("  backend \(session.backendPID)  \(session.isGranted ? "holds" : "waits for")  \(session.isWrite ? "write" : "read ")  \(session.application)  \(session.client)")
            }
            return lines.joined(separator: "\n")
        }
    }

    /// Reads the status of the lock called `name` on the server at `url`, over a short-lived
    /// connection of its own: it takes no lock and waits for none.
    public static func status(name: String, url: String, logger: Logger? = nil) async throws -> Status {
        guard !name.isEmpty else { throw RWLockError.invalidArgument("a PostgresRWLock name may not be empty") }
        return try await status(key: PostgresLockKey(name: name), url: url, logger: logger)
    }

    /// Reads the status of the advisory lock `key` on the server at `url`.
    public static func status(key: PostgresLockKey, url: String, logger: Logger? = nil) async throws -> Status {
        let configuration = try ConnectionURL.configuration(from: url)
        let logger = logger ?? .silent
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: configuration, id: -2, logger: logger)
        } catch {
            throw RWLockError.connectionFailed(ServerFailure.describe(error))
        }
        do {
            // Advisory locks belong to one database: the one the URL names. (The condition's
            // columns are pg_locks' alone, so they need no table name here.)
            let query: PostgresQuery = """
                SELECT l.pid, l.mode = 'ExclusiveLock', l.granted, coalesce(a.application_name, ''),
                       coalesce(host(a.client_addr), 'local')
                FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE \(unescaped: key.pgLocksCondition)
                ORDER BY l.granted DESC, l.pid
                """
            var sessions: [Status.Session] = []
            for try await (pid, isWrite, granted, application, client) in try await connection.query(query, logger: logger)
                .decode((Int32, Bool, Bool, String, String).self)
            {
                sessions.append(Status.Session(backendPID: pid, isWrite: isWrite, isGranted: granted, application: application, client: client))
            }
            try? await connection.close()
            return Status(key: key, sessions: sessions)
        } catch {
            try? await connection.close()
            throw RWLockError.server(ServerFailure.describe(error))
        }
    }
}
#endif
