import Foundation
import PRWLock
import Testing

/// The spellings of issue 2's API contract, verbatim. They must compile unchanged; the body is
/// not run as one sequence (it would ask for write while holding read), `contractRunsInOrder`
/// runs the same calls in an order that makes sense.
func contractSpellings() throws {
    let lock = try RWLock()                       // anonymous: a new lock in anonymous shared memory
    let named = try RWLock(name: "inventory")     // named: opens it, or creates it atomically if absent
    try RWLock.remove(name: "inventory")          // removes the name; processes that have it open go on working

    let n = try lock.withReadLock { 42 }          // returns the body's value, rethrows, always releases
    try lock.withWriteLock { /* ... */ }
    try lock.withReadLock(timeout: .milliseconds(100)) { /* ... */ }   // Duration
    try lock.withWriteLock(timeout: .seconds(2)) { /* ... */ }

    try lock.acquireRead()                        // prwlock parity: acquire_read / acquire_write / release
    try lock.acquireRead(timeout: .milliseconds(100))
    try lock.acquireWrite()
    try lock.acquireWrite(timeout: .milliseconds(100))
    let gotRead: Bool = try lock.tryAcquireRead()
    let gotWrite: Bool = try lock.tryAcquireWrite()
    try lock.release()                            // releases what this process holds (write, else one read)

    let handle: RWLock.Handle = lock.handle       // Codable, Sendable, LosslessStringConvertible
    let again = try RWLock(handle: RWLock.Handle(handle.description)!)   // e.g. in a child process

    do { try lock.acquireWrite(timeout: .zero) } catch RWLockError.timedOut { /* this pattern must work */ }
    _ = (named, n, gotRead, gotWrite, again)
}

@Suite struct APIContractTests {
    @Test func contractRunsInOrder() throws {
        let lock = try RWLock()
        let name = uniqueLockName()
        let named = try RWLock(name: name)
        try RWLock.remove(name: name)
        try named.withWriteLock {}  // still works after its name is removed

        #expect(try lock.withReadLock { 42 } == 42)
        try lock.withWriteLock {}
        try lock.withReadLock(timeout: .milliseconds(100)) {}
        try lock.withWriteLock(timeout: .seconds(2)) {}

        try lock.acquireRead()
        try lock.acquireRead(timeout: .milliseconds(100))
        #expect(try lock.tryAcquireRead() == true)
        #expect(try lock.tryAcquireWrite() == false)  // our own reads are in the way
        try lock.release()
        try lock.release()
        try lock.release()
        #expect(throws: RWLockError.notHeld) { try lock.release() }

        try lock.acquireWrite()
        #expect(try lock.tryAcquireRead() == false)
        try lock.release()
        try lock.acquireWrite(timeout: .milliseconds(100))
        var timedOut = false
        do { try lock.acquireWrite(timeout: .zero) } catch RWLockError.timedOut { timedOut = true }
        #expect(timedOut)
        try lock.release()
        #expect(try lock.tryAcquireWrite() == true)
        try lock.release()

        let handle: RWLock.Handle = lock.handle
        let again = try RWLock(handle: RWLock.Handle(handle.description)!)
        try again.acquireWrite()
        #expect(try lock.tryAcquireRead() == false)  // `again` is another participant
        try again.release()
    }

    @Test func bodyErrorsAreRethrownAndTheLockReleased() throws {
        struct Oops: Error {}
        let lock = try RWLock()
        #expect(throws: Oops.self) { try lock.withWriteLock { throw Oops() } }
        #expect(throws: Oops.self) { try lock.withReadLock { throw Oops() } }
        #expect(try lock.tryAcquireWrite())
        try lock.release()
    }

    @Test func handleRoundTripsThroughStringAndCodable() throws {
        let lock = try RWLock()
        let text = lock.handle.description
        #expect(RWLock.Handle(text) == lock.handle)
        let json = try JSONEncoder().encode(lock.handle)
        #expect(try JSONDecoder().decode(RWLock.Handle.self, from: json) == lock.handle)
        let name = uniqueLockName()
        let named = try RWLock(name: name)
        defer { try? RWLock.remove(name: name) }
        #expect(named.handle.description.hasSuffix(name))
        #expect(RWLock.Handle(named.handle.description) == named.handle)
        for bad in ["", "prwlock:", "prwlock:anonymous:1:2:3", "prwlock:anonymous:x:1:2:3", "prwlock:named:999:n", "prwlock:named:600:a/b", "inventory"] {
            #expect(RWLock.Handle(bad) == nil, "\(bad)")
        }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(RWLock.Handle.self, from: Data("\"nope\"".utf8)) }
    }

    /// Every Swift block of the README must be code in ReadmeExample.swift, so the README never
    /// shows code that does not compile.
    @Test func readmeExamplesAreCompiledHere() async throws {
        let readme = try String(contentsOf: packageRoot().appendingPathComponent("README.md"), encoding: .utf8)
        let source = try String(contentsOf: packageRoot().appendingPathComponent("Tests/PRWLockTests/ReadmeExample.swift"), encoding: .utf8)
        let blocks = readme.components(separatedBy: "```swift\n").dropFirst().compactMap { $0.components(separatedBy: "```").first }
        #expect(blocks.count >= 2)
        let compiled = Set(source.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) })
        for block in blocks {
            let body = block.split(separator: "\n").filter { !$0.hasPrefix("import ") }.map { $0.trimmingCharacters(in: .whitespaces) }
            for line in body where !line.isEmpty {
                #expect(compiled.contains(line), "README line not in ReadmeExample.swift: \(line)")
            }
        }
        try readmeExample(name: uniqueLockName())
        try await readmeAsyncExample(lock: RWLock())
        #expect(try readmeSharedMemoryExample() == 1)
    }
}

func packageRoot() -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}
