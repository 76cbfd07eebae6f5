import CSQLite

// Creating and checking `raft.db`: the schema, the format version, and the open-time checks.
extension SQLiteLogStore {
    /// `PRAGMA application_id` of every `raft.db` ("KVRF"), so a foreign SQLite file is told
    /// apart from damage, and `file(1)` can identify ours.
    static let applicationID: Int64 = 0x4B56_5246

    /// Format version 1. `STRICT` tables make SQLite refuse a value of the wrong type.
    /// - `meta`: `format_version`, `compacted_through` (the log holds nothing at or below it) and
    ///   `commit_index` (the highest commit index recorded);
    /// - `hard_state`: one row (`id = 0`) with the current term and the vote (NULL: none);
    /// - `log`: one row per entry; `kind` is `Entry.Kind.rawValue`.
    private static let schemaVersion1 = """
        CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL) STRICT;
        CREATE TABLE hard_state (
            id INTEGER PRIMARY KEY CHECK (id = 0),
            term INTEGER NOT NULL CHECK (term >= 0),
            vote TEXT
        ) STRICT;
        CREATE TABLE log (
            idx INTEGER PRIMARY KEY CHECK (idx > 0),
            term INTEGER NOT NULL CHECK (term >= 0),
            kind INTEGER NOT NULL,
            data BLOB NOT NULL
        ) STRICT;
        INSERT INTO meta (key, value) VALUES ('format_version', 1), ('compacted_through', 0), ('commit_index', 0);
        INSERT INTO hard_state (id, term, vote) VALUES (0, 0, NULL);
        """

    /// Creates a complete, empty database at `path`: built under a temporary name, synced, then
    /// renamed into place and the directory synced. So a `raft.db` that exists was complete once,
    /// and one without the schema is damage, never an interrupted first start.
    static func create(path: String, directory: String) throws(StorageError) {
        // Refuse to start empty when the write-ahead log of a lost database is still there: its
        // frames would be replayed into the new file, or its acknowledged writes silently lost.
        for leftover in [path + "-wal", path + "-journal"] {
            if let size = try FileSystem.size(leftover), size > 0 {
                throw .corrupt(
                    path: path,
                    reason:
                        "is missing, but \(leftover) holds \(size) bytes written for it: the database file was lost; refusing to start with an empty log"
                )
            }
            try FileSystem.removeIfPresent(leftover)
        }
        try FileSystem.removeIfPresent(path + "-shm")
        let temporary = path + ".init"
        for suffix in ["", "-journal", "-wal", "-shm"] {
            try FileSystem.removeIfPresent(temporary + suffix)  // an earlier creation that crashed
        }
        let connection = try SQLiteConnection(path: temporary, create: true)
        // The rollback journal while building: on close, everything is in the one file we rename.
        try connection.execute(
            "PRAGMA journal_mode = DELETE; PRAGMA synchronous = FULL; PRAGMA application_id = \(applicationID);",
            operation: "create")
        try connection.execute("BEGIN; \(schemaVersion1) COMMIT;", operation: "create the schema")
        connection.close()
        try FileSystem.sync(file: temporary)
        try FileSystem.renameFile(temporary, to: path)
        try FileSystem.syncDirectory(directory)
    }

    /// Checks the file's length and header before SQLite reads it, when there is no write-ahead
    /// log: then the last close checkpointed everything into the file and synced it, so the file
    /// must be whole pages. SQLite itself rounds a short last page up with zeros and only notices
    /// a missing page, so a file cut inside its last page would otherwise open. With a
    /// non-empty WAL the file may legitimately end in a page the WAL completes (a crash during a
    /// checkpoint), so this check is skipped and SQLite's own checks apply.
    static func checkFileShape(path: String) throws(StorageError) {
        guard (try FileSystem.size(path + "-wal") ?? 0) == 0 else { return }
        let size = try FileSystem.size(path) ?? 0
        guard size > 0 else {
            throw .corrupt(
                path: path, reason: "is empty: truncated to nothing; refusing to start with an empty log")
        }
        let header = try FileSystem.readPrefix(path, count: 100)
        guard header.count == 100 else {
            throw .corrupt(path: path, reason: "is \(size) bytes, shorter than an SQLite header: truncated")
        }
        guard header.starts(with: Array("SQLite format 3\0".utf8)) else {
            throw .corrupt(
                path: path, reason: "is not an SQLite database (no SQLite header): damaged or another file")
        }
        let field = Int(header[16]) << 8 | Int(header[17])
        let pageSize = field == 1 ? 65_536 : field
        guard pageSize >= 512, pageSize <= 65_536, pageSize & (pageSize - 1) == 0 else {
            throw .corrupt(path: path, reason: "has an invalid page size \(field) in its header: damaged")
        }
        guard size % pageSize == 0 else {
            throw .corrupt(
                path: path,
                reason: "is \(size) bytes, not a whole number of its \(pageSize)-byte pages: truncated")
        }
    }

    /// Takes the exclusive lock, checks that the file is an intact `raft.db` of this format
    /// version, then switches to WAL with `synchronous=FULL`.
    static func configure(_ connection: SQLiteConnection) throws(StorageError) {
        let path = connection.path
        // Before the first read: keep the lock for the connection's life (no other process may
        // use the directory) and keep the WAL index in memory rather than in a -shm file.
        try connection.execute("PRAGMA locking_mode = EXCLUSIVE", operation: "lock")
        // Every page of every table (the log has no secondary index, so quick_check misses
        // nothing integrity_check would find). Reads the whole file: O(size) at start-up.
        let problems = try connection.strings("PRAGMA quick_check(20)", operation: "check integrity")
        guard problems == ["ok"] else {
            throw .corrupt(path: path, reason: "damaged: " + problems.joined(separator: "; "))
        }
        let tables = Set(
            try connection.strings(
                "SELECT name FROM sqlite_schema WHERE type = 'table'", operation: "read the schema"))
        let applicationID = Int64(
            try connection.strings("PRAGMA application_id", operation: "read the application id").first ?? "")
        if tables.isEmpty {
            throw .corrupt(
                path: path,
                reason:
                    "holds no tables: the file is empty or was truncated; refusing to start with an empty log"
            )
        }
        guard applicationID == Self.applicationID else {
            throw .corrupt(
                path: path,
                reason:
                    "is an SQLite database but not a keyval Raft log (application_id \(applicationID.map(String.init) ?? "?"), expected \(Self.applicationID))"
            )
        }
        guard tables.contains("meta") else {
            throw .corrupt(path: path, reason: "has no meta table, so no format version")
        }
        let version = try connection.strings(
            "SELECT value FROM meta WHERE key = 'format_version'", operation: "read the format version")
        guard let version = version.first.flatMap({ Int64($0) }) else {
            throw .corrupt(path: path, reason: "has no format_version in its meta table")
        }
        guard version == formatVersion else {
            throw .corrupt(
                path: path,
                reason:
                    "is format version \(version), but this build reads only format version \(formatVersion)")
        }
        for table in ["hard_state", "log"] where !tables.contains(table) {
            throw .corrupt(path: path, reason: "has no \(table) table (format version \(version))")
        }
        let mode = try connection.strings("PRAGMA journal_mode = WAL", operation: "switch to WAL")
        guard mode == ["wal"] else {
            throw .io(path: path, operation: "switch to WAL", reason: "SQLite kept journal mode \(mode)")
        }
        // FULL: a commit syncs the WAL before it returns, so a returned call is durable.
        try connection.execute("PRAGMA synchronous = FULL", operation: "set synchronous=FULL")
    }
}
