import ArgumentParser
import PRWLock

@main
struct PRWLockCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prwlock",
        abstract: "Process-shared reader-writer locks: run commands under them, inspect, benchmark, torture and fuzz them.",
        subcommands: [
            DemoCommand.self, RunCommand.self, StatusCommand.self, ListCommand.self, RemoveCommand.self, BenchCommand.self, TortureCommand.self, FuzzCommand.self,
            DemoWorkerCommand.self, BenchWorkerCommand.self, TortureWorkerCommand.self, FuzzWorkerCommand.self,
        ])
}

/// The name of a named lock, shared by the subcommands that take one.
struct LockNameArgument: ParsableArguments {
    @Argument(help: "The lock's name (the file /dev/shm/prwlock.NAME).")
    var name: String

    func validate() throws {
        if name.isEmpty || name.contains("/") || name.utf8.count > 200 {
            throw ValidationError("'\(name)' is not a lock name: use 1 to 200 bytes without '/'")
        }
    }
}
