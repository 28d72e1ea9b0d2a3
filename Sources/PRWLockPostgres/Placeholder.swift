#if !PostgreSQL
/// Without the package trait `PostgreSQL` this module is empty; this stand-in only says how to
/// get the real `PostgresRWLock`.
public struct PostgresRWLock {
    @available(*, unavailable, message: "PostgresRWLock needs the package trait PostgreSQL: .package(url: \"https://github.com/swift-prwlock/swift-prwlock\", from: \"0.1.0\", traits: [\"PostgreSQL\"]), or `swift build --traits PostgreSQL`")
    public init(name: String, url: String) async throws { fatalError("unavailable") }
}
#endif
