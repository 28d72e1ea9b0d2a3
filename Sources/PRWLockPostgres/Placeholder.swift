#if !PostgreSQL
/// Without the package trait `PostgreSQL` this module is empty: say how to get it.
@available(*, unavailable, message: "PostgresRWLock needs the package trait PostgreSQL: .package(url: \"https://github.com/swift-prwlock/swift-prwlock\", from: \"0.1.0\", traits: [\"PostgreSQL\"]), or `swift build --traits PostgreSQL`")
public enum PostgresRWLock {}
#endif
