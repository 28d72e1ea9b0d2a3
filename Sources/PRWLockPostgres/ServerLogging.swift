#if PostgreSQL
import Logging

extension Logger {
    /// A logger that drops everything: the default when the caller gives none.
    static let silent = Logger(label: "prwlock.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
}
#endif
