#if PostgreSQL
import Foundation
import NIOSSL
import PRWLock
import PostgresNIO

/// Reads a `postgres://` URL into a postgres-nio configuration.
///
/// Accepted: `postgres://` or `postgresql://`, `user[:password]@`, a host (name, IPv4, `[IPv6]`)
/// and port (5432 by default), a database path, and the query parameters `sslmode` (as libpq's:
/// `disable`; `prefer`, the default, and `require` encrypt without checking the server's
/// certificate; `verify-ca` checks it against the system's trust roots or `sslrootcert`;
/// `verify-full` also checks the host name), `sslrootcert` (a PEM file), `host` (a Unix-socket directory, as libpq's
/// `host=/run/postgresql`), `connect_timeout` (seconds) and `application_name` (by default
/// `prwlock PID@HOST`). Anything else
/// is refused with an error that names it, rather than ignored.
enum ConnectionURL {
    static func configuration(from text: String) throws -> PostgresConnection.Configuration {
        guard let components = URLComponents(string: text) else {
            throw invalid(text, "it is not a URL")
        }
        guard let scheme = components.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql" else {
            throw invalid(text, "the scheme must be postgres:// or postgresql://")
        }
        // URLComponents' user, password and path are already percent-decoded.
        guard let user = components.user, !user.isEmpty else {
            throw invalid(text, "it names no user (postgres://USER@HOST/DATABASE)")
        }
        let password = components.password
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.contains("/") else {
            throw invalid(text, "the database name may not contain '/'")
        }

        var sslMode = "prefer"
        var rootCertificate: String?
        var socketDirectory: String?
        var connectTimeout: Int64?
        var applicationName = defaultApplicationName
        for item in components.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "sslmode": sslMode = value
            case "sslrootcert": rootCertificate = value
            case "host": socketDirectory = value
            case "connect_timeout":
                guard let seconds = Int64(value), seconds > 0 else {
                    throw invalid(text, "connect_timeout must be a positive number of seconds")
                }
                connectTimeout = seconds
            case "application_name": applicationName = value
            default:
                throw invalid(text, "unknown parameter \(String(reflecting: item.name)) (known: sslmode, sslrootcert, host, connect_timeout, application_name)")
            }
        }

        var configuration: PostgresConnection.Configuration
        if let directory = socketDirectory {
            guard directory.hasPrefix("/") else {
                throw invalid(text, "host= must be the absolute path of a Unix-socket directory")
            }
            let port = components.port ?? 5432
            configuration = .init(
                unixSocketPath: "\(directory)/.s.PGSQL.\(port)", username: user, password: password,
                database: database.isEmpty ? nil : database)
        } else {
            guard let host = components.host, !host.isEmpty else {
                throw invalid(text, "it names no host (postgres://USER@HOST/DATABASE)")
            }
            let bareHost = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
            let tls: PostgresConnection.Configuration.TLS
            switch sslMode {
            case "disable": tls = .disable
            case "prefer", "require", "verify-ca", "verify-full":
                var settings = TLSConfiguration.makeClientConfiguration()
                switch sslMode {
                case "prefer", "require": settings.certificateVerification = .none
                case "verify-ca": settings.certificateVerification = .noHostnameVerification
                default: settings.certificateVerification = .fullVerification
                }
                if let rootCertificate { settings.trustRoots = .file(rootCertificate) }
                let context: NIOSSLContext
                do {
                    context = try NIOSSLContext(configuration: settings)
                } catch {
                    throw RWLockError.connectionFailed("cannot set up TLS (sslrootcert \(rootCertificate ?? "none")): \(error)")
                }
                tls = sslMode == "prefer" ? .prefer(context) : .require(context)
            default:
                throw invalid(text, "sslmode must be disable, prefer, require, verify-ca or verify-full, not \(String(reflecting: sslMode))")
            }
            configuration = .init(
                host: bareHost, port: components.port ?? 5432, username: user, password: password,
                database: database.isEmpty ? nil : database, tls: tls)
        }
        if let seconds = connectTimeout {
            configuration.options.connectTimeout = .seconds(seconds)
        }
        configuration.options.additionalStartupParameters = [("application_name", applicationName)]
        return configuration
    }

    /// "prwlock PID@HOST": lets `pg_stat_activity` and ``PostgresRWLock/status(name:url:logger:)``
    /// name the client process behind a session (PostgreSQL keeps 63 bytes).
    static var defaultApplicationName: String {
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, host.count - 1)
        let name = "prwlock \(getpid())@\(String(decoding: host.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self))"
        return String(decoding: name.utf8.prefix(63), as: UTF8.self)
    }

    /// The URL without its password, for messages and logs.
    static func redacted(_ text: String) -> String {
        guard var components = URLComponents(string: text), components.password != nil else { return text }
        components.password = "***"
        return components.string ?? "(a postgres URL)"
    }

    private static func invalid(_ text: String, _ reason: String) -> RWLockError {
        .invalidArgument("PostgreSQL URL \(String(reflecting: redacted(text))): \(reason)")
    }
}
#endif
