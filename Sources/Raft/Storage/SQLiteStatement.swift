import CSQLite

/// A prepared SQLite statement, prepared once and reused: bind, step, read columns, reset.
///
/// Holds its connection, so the connection is closed only after every statement is finalized.
/// Used from one task at a time, like its connection.
final class SQLiteStatement {
    private let connection: SQLiteConnection
    private let handle: OpaquePointer
    /// Names the statement in errors ("persist: insert entry").
    let operation: String

    init(connection: SQLiteConnection, sql: String, operation: String) throws(StorageError) {
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v3(
            connection.db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard code == SQLITE_OK, let statement else {
            sqlite3_finalize(statement)
            throw connection.error(code: code, operation: operation)
        }
        self.connection = connection
        self.handle = statement
        self.operation = operation
    }

    deinit { sqlite3_finalize(handle) }

    // MARK: Binding (parameters are numbered from 1)

    func bind(_ value: Int64, at index: Int32) throws(StorageError) {
        try check(sqlite3_bind_int64(handle, index, value))
    }

    /// Binds a log index or term. Both stores refuse values above `Int64.max` before they get here.
    func bind(_ value: UInt64, at index: Int32) throws(StorageError) {
        precondition(value <= UInt64(Int64.max), "\(operation): \(value) does not fit an SQLite integer")
        try bind(Int64(value), at: index)
    }

    func bind(_ text: String?, at index: Int32) throws(StorageError) {
        guard let text else {
            try check(sqlite3_bind_null(handle, index))
            return
        }
        try check(sqlite3_bind_text(handle, index, text, -1, Self.transient))
    }

    /// Binds bytes; an empty array binds an empty blob, not NULL.
    func bind(_ bytes: [UInt8], at index: Int32) throws(StorageError) {
        guard !bytes.isEmpty else {
            try check(sqlite3_bind_zeroblob(handle, index, 0))
            return
        }
        let code = bytes.withUnsafeBytes { buffer in
            sqlite3_bind_blob64(handle, index, buffer.baseAddress, UInt64(buffer.count), Self.transient)
        }
        try check(code)
    }

    // MARK: Running

    /// Advances the statement: true when a row is ready to read, false when it is done.
    func step() throws(StorageError) -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let error = connection.error(code: code, operation: operation)
            reset()
            throw error
        }
    }

    /// Runs a statement that returns no rows, then resets it for reuse.
    func run() throws(StorageError) {
        defer { reset() }
        while try step() {}
    }

    /// Makes the statement ready to run again and drops its bindings. The result code repeats
    /// the last step's, which `step` has already reported.
    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    // MARK: Reading the current row (columns are numbered from 0)

    func int64(at column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    func isNull(at column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    func text(at column: Int32) -> String? {
        guard let text = sqlite3_column_text(handle, column) else { return nil }
        return String(cString: text)
    }

    func bytes(at column: Int32) -> [UInt8] {
        // Ask for the pointer first: `sqlite3_column_bytes` then reports the size of that form.
        let pointer = sqlite3_column_blob(handle, column)
        let count = Int(sqlite3_column_bytes(handle, column))
        guard let pointer, count > 0 else { return [] }
        return [UInt8](UnsafeRawBufferPointer(start: pointer, count: count))
    }

    private func check(_ code: Int32) throws(StorageError) {
        guard code == SQLITE_OK else { throw connection.error(code: code, operation: operation) }
    }

    /// `SQLITE_TRANSIENT`: SQLite copies the bound value before the call returns. (The C macro is
    /// a cast of -1 to a function pointer, which Swift does not import.)
    private static var transient: sqlite3_destructor_type {
        unsafeBitCast(-1 as Int, to: sqlite3_destructor_type.self)
    }
}
