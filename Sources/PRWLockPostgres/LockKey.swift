#if PostgreSQL
/// The 64-bit key of a PostgreSQL advisory lock, and how a lock name maps to it.
///
/// A name maps to its key by 64-bit FNV-1a over the name's UTF-8 bytes, the result read as a
/// two's-complement `Int64`. The hash is fixed: every version of this package, and any program
/// in another language that repeats it, finds the same key for the same name. Test vectors:
/// `""` → `-3750763034362895579` (`0xcbf29ce484222325`), `"a"` → `-5808556873153909620`
/// (`0xaf63dc4c8601ec8c`), `"inventory"` → `2155082675171389919` (`0x1de86446633071df`).
///
/// PostgreSQL shows a bigint advisory key in `pg_locks` split in two: `classid` holds its upper
/// 32 bits, `objid` its lower 32 bits, and `objsubid` is 1.
public struct PostgresLockKey: Hashable, Sendable, CustomStringConvertible {
    /// The key given to `pg_advisory_lock(bigint)` and its relatives.
    public let value: Int64

    /// A key given directly, for a lock shared with code that already uses this key.
    public init(_ value: Int64) {
        self.value = value
    }

    /// The key of a lock name (FNV-1a 64 of its UTF-8 bytes).
    public init(name: String) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        self.value = Int64(bitPattern: hash)
    }

    /// `pg_locks.classid` of this key: its upper 32 bits.
    public var classID: UInt32 { UInt32(truncatingIfNeeded: UInt64(bitPattern: value) >> 32) }

    /// `pg_locks.objid` of this key: its lower 32 bits.
    public var objectID: UInt32 { UInt32(truncatingIfNeeded: UInt64(bitPattern: value)) }

    public var description: String { String(value) }

    /// The `pg_locks` rows of this key in the current database, as SQL (numbers only: no input
    /// of anyone's reaches it).
    var pgLocksCondition: String {
        "locktype = 'advisory' AND objsubid = 1 AND classid = \(classID) AND objid = \(objectID)"
            + " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    }
}
#endif
