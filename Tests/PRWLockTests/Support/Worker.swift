import Foundation
import PRWLock
import Synchronization
import Testing

/// A running `prwlock-test-worker` process whose stdout is collected line by line.
final class Worker: Sendable {
    let process: Process
    private let buffer = OutputBuffer()
    private let stdout = Pipe()

    /// The built worker executable, beside the test bundle in the build folder.
    static var executable: URL {
        let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return testBinary.deletingLastPathComponent().appendingPathComponent("prwlock-test-worker")
    }

    /// `launcher`, if given, is a command that runs the worker (its first element an absolute
    /// path), e.g. `unshare --pid --fork`.
    init(_ arguments: [String], environment: [String: String]? = nil, launcher: [String] = []) throws {
        process = Process()
        if let program = launcher.first {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = Array(launcher.dropFirst()) + [Worker.executable.path] + arguments
        } else {
            process.executableURL = Worker.executable
            process.arguments = arguments
        }
        if let environment { process.environment = environment }
        process.standardOutput = stdout
        let buffer = self.buffer
        stdout.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            guard !data.isEmpty else { return }
            buffer.text.withLock { $0 += String(decoding: data, as: UTF8.self) }
        }
        try process.run()
    }

    var pid: pid_t { process.processIdentifier }

    /// Complete lines printed so far.
    var output: [String] {
        buffer.text.withLock { text in
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            lines.removeLast()  // the part after the last newline is not a complete line yet
            return lines
        }
    }

    /// Waits for a line starting with `prefix`; returns it, or nil after `timeout` seconds.
    @discardableResult
    func waitForLine(startingWith prefix: String, timeout: Double = 30) -> String? {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if let line = output.first(where: { $0.hasPrefix(prefix) }) { return line }
            usleep(2000)
        }
        return nil
    }

    /// Waits for a line starting with `prefix` without blocking a thread of the cooperative pool
    /// (the async tests need both of this machine's two); nil after `timeout` seconds.
    @discardableResult
    func line(startingWith prefix: String, timeout: Double = 30) async -> String? {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if let line = output.first(where: { $0.hasPrefix(prefix) }) { return line }
            try? await Task.sleep(for: .milliseconds(2))
        }
        return nil
    }

    /// Waits for the process to exit without blocking a thread of the cooperative pool; returns
    /// its status (or nil after `timeout` seconds).
    func exitStatus(timeout: Double = 60) async -> Int32? {
        let end = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < end { try? await Task.sleep(for: .milliseconds(5)) }
        if process.isRunning { return nil }
        try? await Task.sleep(for: .milliseconds(20))  // let the pipe drain the last lines
        return process.terminationStatus
    }

    /// Waits for the process to exit; returns its status (or nil after `timeout` seconds).
    @discardableResult
    func waitForExit(timeout: Double = 60) -> Int32? {
        let end = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < end { usleep(2000) }
        if process.isRunning { return nil }
        // Let the pipe drain the last lines.
        usleep(20_000)
        return process.terminationStatus
    }

    func kill(_ signal: Int32 = SIGKILL) {
        _ = Foundation.kill(process.processIdentifier, signal)
    }

    deinit {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
    }
}

final class OutputBuffer: Sendable {
    let text = Mutex("")
}

/// A fresh lock name for one test.
func uniqueLockName(_ label: String = #function) -> String {
    let clean = label.filter { $0.isLetter || $0.isNumber }
    return "test-\(clean.prefix(40))-\(getpid())-\(UInt32.random(in: 0 ... .max))"
}

/// A 4 KiB zeroed file in /dev/shm that workers map as their shared record.
final class SharedRecordFile {
    let path: String
    init() {
        path = "/dev/shm/prwlock-test-record-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        precondition(FileManager.default.createFile(atPath: path, contents: Data(count: 4096)), "cannot create \(path)")
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Seconds since an arbitrary start, on a monotonic clock.
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

extension Worker {
    /// The fields of the hammer mode's last "ops=… writes=… torn=…" line.
    func hammerSummary() throws -> [String: Int] {
        let line = try #require(output.last(where: { $0.hasPrefix("ops=") }), "no summary in \(output)")
        return Dictionary(uniqueKeysWithValues: line.split(separator: " ").map {
            let pair = $0.split(separator: "="); return (String(pair[0]), Int(pair[1]) ?? -1)
        })
    }
}
