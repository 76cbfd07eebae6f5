import CSQLite

/// One SQLite connection for the stores of this module: opening, running SQL, and turning every
/// SQLite result code into a `StorageError` that names the file and carries SQLite's message.
///
/// Not thread-safe (opened with `SQLITE_OPEN_NOMUTEX`): like the stores built on it, it is used
/// from one task at a time, which may move between threads between calls.
final class SQLiteConnection {
    /// The database file, as given to `sqlite3_open_v2`; every error names it.
    let path: String
    private var handle: OpaquePointer?  // nil once closed

    /// Opens `path` read-write; `create` also allows creating a missing file.
    init(path: String, create: Bool) throws(StorageError) {
        self.path = path
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0)
        let code = sqlite3_open_v2(path, &db, flags, nil)
        guard code == SQLITE_OK, let db else {
            let message =
                db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_close_v2(db)
            throw Self.error(code: code, message: message, path: path, operation: "open")
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
    }

    deinit { close() }

    /// Closes the connection now rather than when the last reference goes. `sqlite3_close_v2`
    /// defers the real close until every statement of the connection is finalized.
    func close() {
        guard let handle else { return }
        sqlite3_close_v2(handle)
        self.handle = nil
    }

    /// The open handle. Using a closed connection is a bug in this module.
    var db: OpaquePointer {
        guard let handle else { preconditionFailure("\(path): SQLite connection used after close") }
        return handle
    }

    /// True while a transaction is open (SQLite is not in autocommit mode).
    var isInTransaction: Bool { sqlite3_get_autocommit(db) == 0 }

    /// Runs SQL that returns no rows the caller needs (schema, pragmas, transaction control).
    func execute(_ sql: String, operation: String) throws(StorageError) {
        var message: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(db, sql, nil, nil, &message)
        guard code == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(db))
            sqlite3_free(message)
            throw Self.error(code: code, message: text, path: path, operation: operation)
        }
    }

    /// Runs a query and returns the first column of every row as text (for pragmas and checks).
    func strings(_ sql: String, operation: String) throws(StorageError) -> [String] {
        let statement = try SQLiteStatement(connection: self, sql: sql, operation: operation)
        var rows: [String] = []
        while try statement.step() {
            rows.append(statement.text(at: 0) ?? "NULL")
        }
        statement.reset()
        return rows
    }

    /// The error for a failed call on this connection, with SQLite's message for it.
    func error(code: Int32, operation: String) -> StorageError {
        Self.error(code: code, message: String(cString: sqlite3_errmsg(db)), path: path, operation: operation)
    }

    /// Maps a SQLite result code to a `StorageError`: a damaged or foreign file is `.corrupt`,
    /// anything else the library or the operating system refused is `.io`. Both name the file and
    /// carry SQLite's message and the code's name.
    static func error(code: Int32, message: String, path: String, operation: String) -> StorageError {
        let primary = code & 0xFF
        let detail = "\(message) (\(codeName(primary))\(primary == code ? "" : ", extended code \(code)"))"
        switch primary {
        case SQLITE_CORRUPT, SQLITE_NOTADB, SQLITE_FORMAT:
            return .corrupt(path: path, reason: "\(operation): \(detail)")
        case SQLITE_BUSY, SQLITE_LOCKED:
            return .io(
                path: path, operation: operation,
                reason: "\(detail); is another process using this data directory?")
        default:
            return .io(path: path, operation: operation, reason: detail)
        }
    }

    /// The symbolic name of a primary result code, so logs can be searched for it.
    static func codeName(_ primary: Int32) -> String {
        switch primary {
        case SQLITE_OK: "SQLITE_OK"
        case SQLITE_ERROR: "SQLITE_ERROR"
        case SQLITE_INTERNAL: "SQLITE_INTERNAL"
        case SQLITE_PERM: "SQLITE_PERM"
        case SQLITE_ABORT: "SQLITE_ABORT"
        case SQLITE_BUSY: "SQLITE_BUSY"
        case SQLITE_LOCKED: "SQLITE_LOCKED"
        case SQLITE_NOMEM: "SQLITE_NOMEM"
        case SQLITE_READONLY: "SQLITE_READONLY"
        case SQLITE_INTERRUPT: "SQLITE_INTERRUPT"
        case SQLITE_IOERR: "SQLITE_IOERR"
        case SQLITE_CORRUPT: "SQLITE_CORRUPT"
        case SQLITE_NOTFOUND: "SQLITE_NOTFOUND"
        case SQLITE_FULL: "SQLITE_FULL"
        case SQLITE_CANTOPEN: "SQLITE_CANTOPEN"
        case SQLITE_PROTOCOL: "SQLITE_PROTOCOL"
        case SQLITE_EMPTY: "SQLITE_EMPTY"
        case SQLITE_SCHEMA: "SQLITE_SCHEMA"
        case SQLITE_TOOBIG: "SQLITE_TOOBIG"
        case SQLITE_CONSTRAINT: "SQLITE_CONSTRAINT"
        case SQLITE_MISMATCH: "SQLITE_MISMATCH"
        case SQLITE_MISUSE: "SQLITE_MISUSE"
        case SQLITE_NOLFS: "SQLITE_NOLFS"
        case SQLITE_AUTH: "SQLITE_AUTH"
        case SQLITE_FORMAT: "SQLITE_FORMAT"
        case SQLITE_RANGE: "SQLITE_RANGE"
        case SQLITE_NOTADB: "SQLITE_NOTADB"
        case SQLITE_NOTICE: "SQLITE_NOTICE"
        case SQLITE_WARNING: "SQLITE_WARNING"
        case SQLITE_ROW: "SQLITE_ROW"
        case SQLITE_DONE: "SQLITE_DONE"
        default: "SQLite result code \(primary)"
        }
    }
}
