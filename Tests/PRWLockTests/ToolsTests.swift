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

    /// A short bench: progress against the whole on stderr, a table within 100 columns that
    /// shows the spread it promises, and the wide layout on request.
    @Test func benchSaysHowFarItIsAndItsTableFits100Columns() throws {
        let scenarios = ["--scenarios", "memory,uncontended-read,handoff", "--locks", "prwlock,pthread,flock"]
        let (status, stdout, stderr) = try CommandLineTests.Run(["bench", "--quick"] + scenarios).finish()
        #expect(status == 0, "\(stderr)")
        let progress = stderr.split(separator: "\n")
        #expect(progress.first?.contains("9 measurements") == true && progress.first?.contains("in all") == true, "\(stderr)")
        #expect(progress.contains { $0.hasPrefix("[1/9] memory prwlock:") && $0.contains("left") }, "\(stderr)")
        #expect(progress.contains { $0.hasPrefix("[9/9] handoff flock:") && $0.hasSuffix("in all") }, "\(stderr)")
        let lines = stdout.split(separator: "\n")
        #expect(lines.allSatisfy { $0.count <= 100 }, "\(lines.filter { $0.count > 100 })")
        #expect(lines.first?.contains("spread") == true, "\(stdout)")
        // Each uncontended-read figure has a spread beside its median.
        let uncontended = lines.drop { !$0.hasPrefix("uncontended-read") }.dropFirst().prefix(3)
        #expect(uncontended.count == 3 && uncontended.allSatisfy { $0.matches(of: /\d ns/).count >= 2 }, "\(stdout)")

        let (wideStatus, wide) = try run(["bench", "--quick", "--wide"] + scenarios)
        #expect(wideStatus == 0)
        #expect(wide.split(separator: "\n").first?.contains("pthread") == true, "one column per lock: \(wide)")
    }

    /// In a log (stderr not a terminal), progress is plain lines, never a line rewritten with \\r.
    @Test func tortureProgressInALogIsPlainLines() throws {
        let (status, _, stderr) = try CommandLineTests.Run(["torture", "--processes", "2", "--seconds", "6", "--kill-every", "200"]).finish()
        #expect(status == 0, "\(stderr)")
        #expect(!stderr.contains("\r"), "\(stderr.debugDescription)")
        #expect(stderr.contains(" s of 6 "), "a progress line every 5 s: \(stderr)")
    }

    /// On a terminal (script(1) gives it one), the demo still says which writer it killed.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "needs script(1) for a terminal"))
    func theDemoOnATerminalNamesTheKilledWriter() throws {
        let (status, output, _) = try CommandLineTests.Run(
            ["-qec", "\(Self.prwlock.path) demo --seconds 2", "/dev/null"], executable: URL(fileURLWithPath: "/usr/bin/script")).finish()
        #expect(status == 0, "\(output)")
        #expect(output.contains("\u{1B}[1m"), "not a terminal? \(output.debugDescription)")
        #expect(output.contains("SIGKILLed writer pid "), "\(output.debugDescription)")
    }

    @Test func fuzzedSegmentsNeverCrashOrHang() throws {
        let corpus = FileManager.default.temporaryDirectory.appendingPathComponent("prwlock-fuzz-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: corpus) }
        let (status, output) = try run(["fuzz", "--cases", "20000", "--seed", "20261126", "--corpus", corpus])
        #expect(status == 0, "\(output)")
        #expect(output.contains("crashes or hangs: 0"), "\(output)")
    }
}
