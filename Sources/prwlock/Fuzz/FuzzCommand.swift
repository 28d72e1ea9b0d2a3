import ArgumentParser
import CPRWLockShim
import Foundation
import PRWLock

struct FuzzCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuzz",
        abstract: "Open mutated lock segments and use them: every case must fail cleanly or work within its timeouts.",
        discussion: """
            Each case starts from a valid segment and mutates it (bit flips, random bytes, truncation, \
            extension, out-of-range header fields, lock words, bitmaps, slot counters and indices). \
            Opening must throw an RWLockError or succeed, and then try, timed (2 ms) and status \
            operations must each return within 500 ms. The cases run in a child process: a crash \
            (SIGSEGV, SIGBUS, trap) or a hang is caught, the input saved to --corpus, and fuzzing \
            goes on. Cases are a function of --seed and their number, so any run can be replayed.
            """)

    @Option(help: "Number of cases.") var cases = 100_000
    @Option(help: "Seed (default: random).") var seed: UInt64?
    @Option(help: "Where to save inputs that crash or hang.") var corpus = "fuzz-crashes"

    func run() throws {
        let seed = self.seed ?? UInt64.random(in: 0 ... .max)
        let progressPath = "/dev/shm/prwlock-fuzz-progress-\(getpid())"
        let fd = open(progressPath, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        ftruncate(fd, 64)
        let progress = mmap(nil, 64, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)!.assumingMemoryBound(to: UInt64.self)
        close(fd)
        defer { unlink(progressPath) }

        let generator = try SegmentMutator()
        var next = 0
        var failures: [String] = []
        var opened = 0, rejected = 0
        let start = Date()
        while next < cases {
            cprwlock_store64(progress, UInt64(next))
            let worker = Process()
            worker.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            worker.arguments = ["fuzz-worker", "--seed", "\(seed)", "--first", "\(next)", "--cases", "\(cases)", "--progress", progressPath]
            let output = Pipe()
            worker.standardOutput = output
            worker.standardError = FileHandle.nullDevice  // a crash's backtrace is noise here: the input is kept
            var environment = ProcessInfo.processInfo.environment
            environment["SWIFT_BACKTRACE"] = "enable=no"
            worker.environment = environment
            try worker.run()
            // Watchdog: a case that makes no progress for 10 s is a hang.
            var last = cprwlock_load64(progress)
            var lastChange = Date()
            while worker.isRunning {
                usleep(20_000)
                let now = cprwlock_load64(progress)
                if now != last { last = now; lastChange = Date() }
                if Date().timeIntervalSince(lastChange) > 10 {
                    kill(worker.processIdentifier, SIGKILL)
                    break
                }
            }
            worker.waitUntilExit()
            unlink("/dev/shm/prwlock.fuzz-\(worker.processIdentifier)")  // a crashed worker leaves its case behind
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            if worker.terminationReason == .exit && worker.terminationStatus == 0 {
                let fields = Dictionary(uniqueKeysWithValues: text.split(whereSeparator: \.isWhitespace).compactMap { field -> (String, Int)? in
                    let pair = field.split(separator: "=")
                    return pair.count == 2 ? (String(pair[0]), Int(pair[1]) ?? 0) : nil
                })
                opened += fields["opened"] ?? 0
                rejected += fields["rejected"] ?? 0
                break
            }
            // The case at `progress` crashed or hung: keep it, and go on after it.
            let failed = Int(cprwlock_load64(progress))
            let fieldsSoFar = text.split(separator: "\n").last ?? ""
            let how = worker.terminationReason == .uncaughtSignal ? "signal \(worker.terminationStatus)" : "hang or exit \(worker.terminationStatus)"
            try FileManager.default.createDirectory(atPath: corpus, withIntermediateDirectories: true)
            let path = "\(corpus)/case-\(seed)-\(failed).bin"
            try Data(generator.makeCase(seed: seed, index: failed)).write(to: URL(fileURLWithPath: path))
            failures.append("case \(failed): \(how) \(fieldsSoFar) → \(path)")
            next = failed + 1
        }
        let seconds = Date().timeIntervalSince(start)
        print("fuzz: \(cases) cases (seed \(seed)) in \(String(format: "%.1f", seconds)) s; opened \(opened), rejected with an RWLockError \(rejected); crashes or hangs: \(failures.count)")
        for failure in failures { print("  " + failure) }
        if !failures.isEmpty { throw ExitCode(1) }
    }
}

/// The child that runs fuzz cases. Not for direct use.
struct FuzzWorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuzz-worker", abstract: "Runs cases of `prwlock fuzz`.", shouldDisplay: false)

    @Option var seed: UInt64
    @Option var first: Int
    @Option var cases: Int
    @Option var progress: String

    func run() throws {
        let fd = open(progress, O_RDWR)
        let counter = mmap(nil, 64, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)!.assumingMemoryBound(to: UInt64.self)
        close(fd)
        let mutator = try SegmentMutator()
        let name = "fuzz-\(getpid())"
        let path = "/dev/shm/prwlock.\(name)"
        defer { unlink(path) }
        var opened = 0, rejected = 0
        for index in first..<cases {
            cprwlock_store64(counter, UInt64(index))
            let bytes = mutator.makeCase(seed: seed, index: index)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            chmod(path, 0o600)
            switch SegmentMutator.exercise(name: name) {
            case .rejected: rejected += 1
            case .opened: opened += 1
            case .hung(let operation):
                print("hang in \(operation) opened=\(opened) rejected=\(rejected)")
                throw ExitCode(3)
            }
        }
        print("opened=\(opened) rejected=\(rejected)")
    }
}

/// Makes mutated segments from valid ones, and runs the operations on them.
struct SegmentMutator {
    /// Valid segments of several sizes, as a fresh lock leaves them.
    let bases: [[UInt8]]

    init() throws {
        var bases: [[UInt8]] = []
        for (slots, shared) in [(1, 0), (2, 0), (3, 8), (64, 0), (65, 100), (128, 0), (1024, 4096)] {
            let name = "fuzz-base-\(getpid())-\(slots)"
            try? RWLock.remove(name: name)
            do { _ = try RWLock(name: name, maxProcesses: slots, sharedMemorySize: shared) }  // detached again at once
            bases.append(Array(try Data(contentsOf: URL(fileURLWithPath: "/dev/shm/prwlock.\(name)"))))
            try RWLock.remove(name: name)
        }
        self.bases = bases
    }

    func makeCase(seed: UInt64, index: Int) -> [UInt8] {
        var rng = SplitMix64(seed: seed ^ (UInt64(index) &* 0x9E37_79B9_7F4A_7C15))
        var bytes = bases[Int(rng.next() % UInt64(bases.count))]
        let kind = rng.next() % 10
        if kind == 9 {
            for _ in 0..<(2 + rng.next() % 3) { mutate(&bytes, kind: rng.next() % 9, &rng, allowResize: false) }
        } else {
            mutate(&bytes, kind: kind, &rng, allowResize: true)
        }
        return bytes
    }

    private func put32(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt32) {
        guard offset + 4 <= bytes.count else { return }
        for i in 0..<4 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) }
    }

    private func edgeValue(_ rng: inout SplitMix64) -> UInt32 {
        [0, 1, 2, 63, 64, 65, 512, 1023, 1024, 1025, 0xFFFF, 0x10000, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
         UInt32(truncatingIfNeeded: rng.next())][Int(rng.next() % 16)]
    }

    private func mutate(_ bytes: inout [UInt8], kind: UInt64, _ rng: inout SplitMix64, allowResize: Bool) {
        let slots = bytes.count > 20 ? Int(bytes[16]) | Int(bytes[17]) << 8 : 1
        switch kind {
        case 0:  // bit flips anywhere
            for _ in 0..<(1 + rng.next() % 16) where !bytes.isEmpty {
                bytes[Int(rng.next() % UInt64(bytes.count))] ^= 1 << UInt8(rng.next() % 8)
            }
        case 1:  // random bytes in a span
            guard !bytes.isEmpty else { return }
            let start = Int(rng.next() % UInt64(bytes.count))
            for i in start..<min(bytes.count, start + 1 + Int(rng.next() % 64)) { bytes[i] = UInt8(truncatingIfNeeded: rng.next()) }
        case 2 where allowResize:  // truncated
            bytes = Array(bytes.prefix(Int(rng.next() % UInt64(bytes.count))))
        case 3 where allowResize:  // extended
            bytes += (0..<(1 + rng.next() % 4096)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        case 4:  // a header field out of range
            let field = [8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52][Int(rng.next() % 12)]
            put32(&bytes, field, edgeValue(&rng))
        case 5:  // lock word W: any owner, any flags
            put32(&bytes, 64, UInt32(truncatingIfNeeded: rng.next()) & [0xFFFF, 0x8000_FFFF, 0xFFFF_FFFF, 0x4000_0000][Int(rng.next() % 4)])
        case 6:  // attached bitmap
            for word in 0..<4 { put32(&bytes, 192 + word * 4, UInt32(truncatingIfNeeded: rng.next())) }
        case 7:  // slot fields: counts, states and flags out of range
            for _ in 0..<(1 + rng.next() % 4) {
                let slot = Int(rng.next() % UInt64(max(1, min(slots, 1024))))
                let field = [0, 4, 8, 12, 16, 20][Int(rng.next() % 6)]
                put32(&bytes, 512 + slot * 64 + field, edgeValue(&rng))
            }
        default:  // ownerDied and E
            put32(&bytes, rng.next() % 2 == 0 ? 68 : 128, edgeValue(&rng))
        }
    }

    enum Outcome {
        case rejected, opened
        case hung(String)
    }

    /// Opens the segment named `name` and runs every kind of operation with short timeouts.
    static func exercise(name: String) -> Outcome {
        let lock: RWLock
        do {
            lock = try RWLock(name: name, createIfMissing: false)
        } catch {
            return .rejected
        }
        let operations: [(String, () throws -> Void)] = [
            ("tryAcquireRead", { if try lock.tryAcquireRead() { try lock.releaseRead() } }),
            ("tryAcquireWrite", { if try lock.tryAcquireWrite() { try lock.releaseWrite() } }),
            ("acquireRead(timeout:)", { try lock.acquireRead(timeout: .milliseconds(2)); try lock.releaseRead() }),
            ("acquireWrite(timeout:)", { try lock.acquireWrite(timeout: .milliseconds(2)); try lock.releaseWrite() }),
            ("status", { _ = try lock.status() }),
            ("release", { try? lock.release() }),
        ]
        for (label, operation) in operations {
            let start = cprwlock_monotonic_ns()
            do { try operation() } catch {}  // an RWLockError is a fine outcome; only time matters
            if cprwlock_monotonic_ns() - start > 500_000_000 { return .hung(label) }
        }
        return .opened
    }
}
