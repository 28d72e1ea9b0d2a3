import Foundation
import Testing

/// The `prwlock` tools that prove the lock: torture and fuzz, in short runs. CI also runs them
/// longer; the README gives the long forms.
@Suite(.serialized) struct ToolsTests {
    static var prwlock: URL { Worker.executable.deletingLastPathComponent().appendingPathComponent("prwlock") }

    func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = Self.prwlock
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func tortureWithKillsFindsNoViolation() throws {
        let (status, output) = try run(["torture", "--processes", "4", "--seconds", "3", "--kill-every", "100", "--json"])
        #expect(status == 0, "\(output)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        #expect(summary["violations"] as? Int == 0)
        #expect((summary["operations"] as? Int ?? 0) > 100)
        #expect((summary["kills"] as? Int ?? 0) > 10)
        #expect(summary["finalAcquireOK"] as? Bool == true)
    }

    @Test func fuzzedSegmentsNeverCrashOrHang() throws {
        let corpus = FileManager.default.temporaryDirectory.appendingPathComponent("prwlock-fuzz-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: corpus) }
        let (status, output) = try run(["fuzz", "--cases", "20000", "--seed", "20261126", "--corpus", corpus])
        #expect(status == 0, "\(output)")
        #expect(output.contains("crashes or hangs: 0"), "\(output)")
    }
}
