import Foundation
import Logging
import PRWLock
import Synchronization
import Testing

/// A log handler that keeps what it is given, for the tests.
final class CapturingLogHandler: LogHandler, @unchecked Sendable {
    // @unchecked: `messages` is behind a Mutex; the LogHandler properties are set before use.
    let messages = Mutex<[(Logger.Level, String, Logger.Metadata)]>([])
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        messages.withLock { $0.append((event.level, event.message.description, event.metadata ?? [:])) }
    }
}

@Suite(.serialized) struct LoggingTests {
    @Test func aRecoveredDeadHolderIsAWarningAndASlowWaitADebugMessage() throws {
        let handler = CapturingLogHandler()
        let logger = Logger(label: "prwlock-test") { _ in handler }
        let lock = try RWLock(logger: logger)
        let holder = try Worker(["hold", lock.handle.description, "write", "60"])
        try #require(holder.waitForLine(startingWith: "acquired") != nil)
        holder.kill()
        try lock.acquireWrite(timeout: .seconds(10))
        try lock.releaseWrite()
        let warnings = handler.messages.withLock { $0.filter { $0.0 == .warning } }
        #expect(warnings.count == 1)
        #expect(warnings.first?.1.contains("dead process") == true)
        #expect(warnings.first?.2["pid"] == "\(holder.pid)")
        #expect(warnings.first?.2["heldWrite"] == "true")

        let other = try RWLock(handle: lock.handle)
        try other.acquireWrite()
        let release = Thread { usleep(100_000); try? other.releaseWrite() }
        release.start()
        try lock.acquireRead(timeout: .seconds(10))
        try lock.releaseRead()
        let debug = handler.messages.withLock { $0.filter { $0.0 == .debug } }
        #expect(debug.contains { $0.1.contains("slow read") }, "\(debug)")
    }
}
