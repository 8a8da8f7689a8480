import GRDB
import GRDBSQLite

/// One prepared SQLite statement driven through the C API, for the registry's bulk inserts.
///
/// A no-op rerun of a 512-variant sweep writes ~4,000 rows (a stage execution per variant and
/// stage, a run and a sweep member per variant); through GRDB's `execute(arguments:)` the argument
/// boxing cost more than SQLite's insert. Used inside a GRDB write transaction, on its connection,
/// and finalized before the transaction's closure returns (`RawStatement.with`).
struct RawStatement {
    enum Value {
        case text(String)
        case integer(Int64)
        case null

        init(_ text: String?) { self = text.map { .text($0) } ?? .null }
        init(_ number: Int?) { self = number.map { .integer(Int64($0)) } ?? .null }
    }

    private let handle: OpaquePointer
    private let connection: OpaquePointer

    /// Prepares `sql` on `db`'s connection, runs `body` with it, finalizes it.
    static func with<T>(_ db: Database, _ sql: String, _ body: (RawStatement) throws -> T) throws -> T {
        guard let connection = db.sqliteConnection else { throw StoreError.registry("the registry connection is closed") }
        var handle: OpaquePointer?
        let code = sqlite3_prepare_v2(connection, sql, -1, &handle, nil)
        guard code == SQLITE_OK, let handle else {
            throw StoreError.registry("cannot prepare \(sql): \(String(cString: sqlite3_errmsg(connection)))")
        }
        defer { sqlite3_finalize(handle) }
        return try body(RawStatement(handle: handle, connection: connection))
    }

    /// Binds `values` to the parameters in order, steps once (an INSERT or UPDATE), resets.
    /// Returns the number of rows changed.
    @discardableResult
    func run(_ values: [Value]) throws -> Int {
        defer { sqlite3_reset(handle) }
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32
            switch value {
            case .text(let text):
                // SQLITE_TRANSIENT: SQLite copies the bytes before withCString's buffer goes away.
                code = text.withCString { sqlite3_bind_text(handle, index, $0, -1, Self.transient) }
            case .integer(let number): code = sqlite3_bind_int64(handle, index, number)
            case .null: code = sqlite3_bind_null(handle, index)
            }
            guard code == SQLITE_OK else { throw failure() }
        }
        guard sqlite3_step(handle) == SQLITE_DONE else { throw failure() }
        return Int(sqlite3_changes(connection))
    }

    private func failure() -> StoreError {
        StoreError.registry(String(cString: sqlite3_errmsg(connection)))
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}
