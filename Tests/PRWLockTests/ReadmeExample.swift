import PRWLock

// The README's first example, compiled and run by `readmeExampleIsCompiledHere`.
nonisolated(unsafe) private var stockOnDisk = 10
private func readStock() -> Int { stockOnDisk }
private func writeStock(_ value: Int) { stockOnDisk = value }
private func repairStock() {}

func readmeExample(name: String) throws {
    let lock = try RWLock(name: "inventory")          // opened or created atomically, mode 0600

    let stock = try lock.withReadLock { readStock() } // many readers at once, in any process
    try lock.withWriteLock(timeout: .seconds(2)) {    // one writer alone; timeout on a monotonic clock
        if lock.previousWriterDied { repairStock() }  // a writer was SIGKILLed mid-write: fix the data
        writeStock(stock - 1)
    }
    try RWLock.remove(name: "inventory")
    _ = name
}

/// The README's async example.
func readmeAsyncExample(lock: RWLock) async throws {
    let total = try await lock.withReadLock { readStock() }
    try await lock.withWriteLock(timeout: .seconds(1)) { writeStock(total + 1) }
}

/// The README's guarded-memory example (Counters is defined in SharedMemoryTests.swift).
func readmeSharedMemoryExample() throws -> Int {
    let stats = try RWLock(name: "cache-stats", sharedMemorySize: MemoryLayout<Counters>.size)
    defer { try? RWLock.remove(name: "cache-stats") }
    try stats.withWriteLocked(Counters.self) { $0.hits += 1 }
    let hits = try stats.withReadLocked(Counters.self) { $0.hits }
    return hits
}

#if PostgreSQL
import PRWLockPostgres

private func countStock() async throws -> Int { stockOnDisk }
private func saveStock(_ value: Int) async throws { stockOnDisk = value }

/// The README's "Scaling out" example: `restock` runs on both locks in PostgresTests.
func restock(_ lock: some ReaderWriterLock) async throws {           // written once, for either lock
    let count = try await lock.withReadLock { try await countStock() }
    try await lock.withWriteLock(timeout: .seconds(1)) { try await saveStock(count + 1) }
}

/// Compiled, not run: the URL is the README's.
func readmeScalingOutExample() async throws {
    try await restock(RWLock(name: "inventory"))                                              // one machine
    try await restock(PostgresRWLock(name: "inventory", url: "postgres://app@db.internal/app")) // many
}
#endif
