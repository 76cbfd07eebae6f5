import CSQLite

/// The production `LogStore`: a node's hard state and log in one SQLite database,
/// `<directory>/raft.db`, in WAL mode with `synchronous=FULL`, so each mutating call is one
/// transaction and one sync of the write-ahead log (group commit: one sync per `Ready`).
///
/// Used from one task at a time (the node's loop), as `LogStore` requires. It is deliberately
/// not `Sendable`: its connection and prepared statements are unsynchronized, and the node
/// actor owns the only reference.
///
/// Opening refuses, with `.corrupt` naming the file, anything it cannot trust rather than start
/// empty: a file that is not SQLite, an empty, truncated or structurally damaged one (length and
/// header checks, then `PRAGMA quick_check`), one without this store's schema, one of another
/// format version, and a `raft.db-wal` whose database is gone. The database is created complete
/// under a temporary name and renamed into place, so an existing `raft.db` without the schema can
/// only be damage. The connection holds SQLite's exclusive lock, so a second process on the same
/// directory is refused (`.io`).
/// NOTE: SQLite keeps no checksums of page contents, so a flipped bit inside an entry's data goes
/// unnoticed; a per-entry CRC column would be format version 2.
///
/// After a failed write the store refuses every further call with that error: once a sync has
/// failed, the kernel may have dropped the unwritten pages, so a retry could report a
/// durability it does not have. The node stops; restarting reopens the file.
public final class SQLiteLogStore: LogStore {
    /// The on-disk format this build reads and writes (`meta.format_version`).
    public static let formatVersion: Int64 = 1
    /// The database's name inside the data directory.
    public static let fileName = "raft.db"
    /// SQLite's default page size, which this store keeps.
    static let pageSize = 4_096

    /// The database file; every error names it.
    public let path: String

    private let connection: SQLiteConnection
    private let statements: Statements
    /// Summary of the stored log, read at open and kept current, so `persist` validates without
    /// reading the log.
    // Invariant: the log holds exactly the entries compactedThrough+1 ... lastIndex, and
    // compactedThrough <= lastIndex (equal when the log is empty). Rows at or below
    // compactedThrough are not part of the log: compaction only moves the point, and
    // `reclaimSpace` deletes those rows later, a bounded amount per call.
    private var compactedThrough: LogIndex
    private var lastIndex: LogIndex
    /// The lowest row in the table, when rows at or below `compactedThrough` remain to reclaim.
    private var oldestUnreclaimed: LogIndex?
    /// The first failed write; set once, then every call throws it.
    private var failure: StorageError?

    /// Opens `<directory>/raft.db`, creating it when the directory holds no database yet. The
    /// directory must exist.
    public init(directory: String) throws(StorageError) {
        try FileSystem.requireDirectory(directory)
        let path = (directory.hasSuffix("/") ? String(directory.dropLast()) : directory) + "/" + Self.fileName
        if try FileSystem.exists(path) {
            try Self.checkFileShape(path: path)
        } else {
            try Self.create(path: path, directory: directory)
        }
        let connection = try SQLiteConnection(path: path, create: false)
        try Self.configure(connection)
        let statements = try Statements(connection)
        self.path = path
        self.connection = connection
        self.statements = statements
        compactedThrough = try Self.readCompactedThrough(statements, path: path)
        // Rows at or below the compaction point may remain (not yet reclaimed); they are not
        // part of the log, so a table whose rows all lie there holds an empty log.
        lastIndex = compactedThrough
        if try statements.lastIndex.step(), !statements.lastIndex.isNull(at: 0) {
            lastIndex = max(
                compactedThrough,
                try Self.logIndex(statements.lastIndex.int64(at: 0), path: path, what: "the last log index"))
        }
        statements.lastIndex.reset()
        if try statements.firstIndex.step(), !statements.firstIndex.isNull(at: 0) {
            let first = try Self.logIndex(
                statements.firstIndex.int64(at: 0), path: path, what: "the first log index")
            if first <= compactedThrough { oldestUnreclaimed = first }
        }
        statements.firstIndex.reset()
    }

    // MARK: LogStore

    /// Reads the hard state and the whole log, verifying that the log starts right after the
    /// compaction point, is contiguous, has non-decreasing terms and only known entry kinds.
    public func load() throws(StorageError) -> PersistedLog {
        if let failure { throw failure }
        let hardState = try readHardState()
        let compactedThrough = try Self.readCompactedThrough(statements, path: path)
        var entries: [Entry] = []
        let read = statements.readLog
        defer { read.reset() }
        try read.bind(compactedThrough.value, at: 1)
        while try read.step() {
            let index = try Self.logIndex(read.int64(at: 0), path: path, what: "an entry's index")
            let term = try Self.term(read.int64(at: 1), path: path, what: "the term of \(index)")
            let rawKind = read.int64(at: 2)
            guard let byte = UInt8(exactly: rawKind), let kind = Entry.Kind(rawValue: byte) else {
                throw .corrupt(path: path, reason: "entry \(index)@\(term) has unknown kind \(rawKind)")
            }
            entries.append(Entry(term: term, index: index, kind: kind, data: read.bytes(at: 3)))
        }
        let commitIndex: LogIndex
        do {
            let read = statements.readCommitIndex
            defer { read.reset() }
            guard try read.step() else {
                throw .corrupt(path: path, reason: "the meta table has no commit_index row")
            }
            commitIndex = try Self.logIndex(read.int64(at: 0), path: path, what: "commit_index")
        }
        let log = PersistedLog(
            hardState: hardState, compactedThrough: compactedThrough, entries: entries,
            commitIndex: commitIndex)
        try LogStoreRules.verify(log, path: path)
        return log
    }

    /// One transaction, one sync: the hard state if given, then `entries`, after deleting every
    /// stored entry from the first one's index on. Refuses (`.invalidArgument`, nothing written)
    /// a batch that starts inside the compacted prefix or past the end, is not contiguous, or
    /// whose terms decrease.
    public func persist(hardState: HardState?, entries: [Entry], commitIndex: LogIndex?) throws(StorageError)
    {
        if let failure { throw failure }
        guard hardState != nil || !entries.isEmpty || commitIndex != nil else { return }
        if let commitIndex { try LogStoreRules.checkCompaction(through: commitIndex) }
        if let first = entries.first {
            try LogStoreRules.checkAppend(entries, compactedThrough: compactedThrough, lastIndex: lastIndex)
            let before = first.index.previous
            try LogStoreRules.checkTerms(
                entries, after: before > compactedThrough ? try term(at: before) : nil)
        }
        if let hardState { try LogStoreRules.checkHardState(hardState) }
        // A commit index alone is written without a sync of its own (as etcd records its commit in
        // the hard state without forcing a sync): it reaches the kernel at once, so it survives a
        // crash of the process, and the disk with the next synced batch. Only a power cut before
        // that can lose it, and then a restart applies less at first and learns the rest from the
        // leader. What it covers was synced before it could commit, and the write-ahead log
        // replays in order, so a recorded commit never outruns the entries on disk.
        let mustSync = hardState != nil || !entries.isEmpty
        if !mustSync { try withoutSync { () throws(StorageError) in try record(commitIndex: commitIndex) } }
        if !mustSync { return }
        try transaction("persist") { () throws(StorageError) in
            if let commitIndex {
                try statements.writeCommitIndex.bind(commitIndex.value, at: 1)
                try statements.writeCommitIndex.run()
            }
            if let hardState {
                try statements.writeHardState.bind(hardState.term.value, at: 1)
                try statements.writeHardState.bind(hardState.vote?.name, at: 2)
                try statements.writeHardState.run()
            }
            guard let first = entries.first else { return }
            if first.index <= lastIndex {
                // The conflicting suffix goes first: each entry replaces its index and everything after.
                try statements.deleteFrom.bind(first.index.value, at: 1)
                try statements.deleteFrom.run()
            }
            let insert = statements.insertEntry
            for entry in entries {
                try insert.bind(entry.index.value, at: 1)
                try insert.bind(entry.term.value, at: 2)
                try insert.bind(Int64(entry.kind.rawValue), at: 3)
                try insert.bind(entry.data, at: 4)
                try insert.run()
            }
        }
        if let last = entries.last { lastIndex = last.index }
    }

    /// Removes the entries through `index` from the log by recording the new compaction point
    /// (one row, one transaction); the rows themselves are deleted later by `reclaimSpace`, so a
    /// compaction costs the same however many entries it drops. An index at or below the current
    /// point changes nothing (compaction never goes back); one past the log's end empties the
    /// log, and the next entries start at `index + 1` (a follower that installed a newer snapshot
    /// than its log).
    ///
    /// The point is written without a sync of its own, like a commit index alone: it survives the
    /// process's crash at once and the disk's with the next synced batch. A power cut before that
    /// leaves the older point and every entry after it, a longer log that the saved snapshot
    /// still covers (`RecoveredState` drops what it covers). That sync competed with the snapshot
    /// file's own and took over 100 ms under load.
    public func compact(through index: LogIndex) throws(StorageError) {
        if let failure { throw failure }
        guard index > compactedThrough else { return }
        try LogStoreRules.checkCompaction(through: index)
        try withoutSync { () throws(StorageError) in
            try transaction("compact") { () throws(StorageError) in
                try statements.writeCompactedThrough.bind(index.value, at: 1)
                try statements.writeCompactedThrough.run()
            }
        }
        if compactedThrough < lastIndex, oldestUnreclaimed == nil {
            oldestUnreclaimed = compactedThrough.next
        }
        compactedThrough = index
        lastIndex = max(lastIndex, index)
    }

    /// Rule 7's discarded suffix (entries after `index`, usually few) is deleted at once, because
    /// entries after the snapshot will be appended there; the prefix is left to `reclaimSpace`.
    public func installSnapshot(index: LogIndex, term snapshotTerm: Term) throws(StorageError) {
        if let failure { throw failure }
        guard index > compactedThrough else { return }
        try LogStoreRules.checkCompaction(through: index)
        var keepsSuffix = false
        if index <= lastIndex { keepsSuffix = try term(at: index) == snapshotTerm }
        try transaction("install a snapshot") { () throws(StorageError) in
            if !keepsSuffix {
                try statements.deleteFrom.bind(index.next.value, at: 1)
                try statements.deleteFrom.run()
            }
            try statements.writeCompactedThrough.bind(index.value, at: 1)
            try statements.writeCompactedThrough.run()
        }
        if compactedThrough < min(lastIndex, index), oldestUnreclaimed == nil {
            oldestUnreclaimed = compactedThrough.next
        }
        compactedThrough = index
        lastIndex = keepsSuffix ? lastIndex : index
    }

    /// Deletes the oldest rows at or below the compaction point, about `maxBytes` of entry data
    /// (at least one row; each counts as at least a page), in one transaction without a sync of its own: they are no longer part
    /// of the log, so losing this work in a crash only leaves it to do again, and the write-ahead
    /// log keeps it ordered after the compaction point it depends on.
    public func reclaimSpace(maxBytes: Int) throws(StorageError) -> Bool {
        if let failure { throw failure }
        guard let oldest = oldestUnreclaimed else { return false }
        var through = oldest
        do {
            // `length()` of a blob comes from the row's header; the data is not read.
            let sizes = statements.rowSizes
            defer { sizes.reset() }
            try sizes.bind(oldest.value, at: 1)
            try sizes.bind(compactedThrough.value, at: 2)
            var bytes = 0
            while bytes < maxBytes, try sizes.step() {
                through = try Self.logIndex(sizes.int64(at: 0), path: path, what: "an entry's index")
                // Deleting a row touches at least a page however small its data: 1 MiB of
                // 150-byte entries, 7,000 rows, took about 100 ms.
                bytes += max(Int(sizes.int64(at: 1)), Self.pageSize)
            }
        }
        try withoutSync { () throws(StorageError) in
            try transaction("reclaim compacted entries") { () throws(StorageError) in
                try statements.deleteThrough.bind(through.value, at: 1)
                try statements.deleteThrough.run()
            }
        }
        oldestUnreclaimed = through < compactedThrough ? through.next : nil
        return oldestUnreclaimed != nil
    }

    // MARK: Reading and writing

    /// Runs `body` in one transaction. Any failure rolls back and poisons the store (see the type).
    /// SQLite's `synchronous` setting now (2 is FULL); for tests that check a write without a sync
    /// leaves later writes synced.
    var synchronousSetting: String? {
        try? connection.strings("PRAGMA synchronous", operation: "read synchronous").first
    }

    /// How many rows the `log` table holds, compacted ones not yet reclaimed included; for tests.
    var storedRowCount: Int {
        Int(try! connection.strings("SELECT count(*) FROM log", operation: "count rows").first!)!
    }

    private func record(commitIndex: LogIndex?) throws(StorageError) {
        guard let commitIndex else { return }
        try transaction("record the commit index") { () throws(StorageError) in
            try statements.writeCommitIndex.bind(commitIndex.value, at: 1)
            try statements.writeCommitIndex.run()
        }
    }

    /// Runs `body`'s transactions with `synchronous=NORMAL`: in WAL mode their commits do not sync,
    /// and the next commit under `FULL` syncs them with its own frames. Failing to switch back is
    /// a storage failure like any other: later writes must not silently go unsynced.
    /// The pragmas are run as text each time: SQLite applies `synchronous` when a statement is
    /// compiled, so a prepared one would act once, at prepare time.
    private func withoutSync(_ body: () throws(StorageError) -> Void) throws(StorageError) {
        try connection.execute("PRAGMA synchronous = NORMAL", operation: "set synchronous=NORMAL")
        var bodyError: StorageError?
        do { try body() } catch { bodyError = error }
        do {
            try connection.execute("PRAGMA synchronous = FULL", operation: "set synchronous=FULL")
        } catch {
            failure = error
            throw error
        }
        if let bodyError { throw bodyError }
    }

    private func transaction(_ operation: String, _ body: () throws(StorageError) -> Void)
        throws(StorageError)
    {
        do {
            try statements.begin.run()
            try body()
            try statements.commit.run()
        } catch {
            if connection.isInTransaction { try? statements.rollback.run() }
            failure = error
            throw error
        }
    }

    private func readHardState() throws(StorageError) -> HardState {
        let read = statements.readHardState
        defer { read.reset() }
        guard try read.step() else {
            throw .corrupt(path: path, reason: "the hard_state table has no row")
        }
        let term = try Self.term(read.int64(at: 0), path: path, what: "the hard state's term")
        return HardState(term: term, vote: read.text(at: 1).map { NodeID($0) })
    }

    /// The term of the stored entry at `index`, which must exist.
    private func term(at index: LogIndex) throws(StorageError) -> Term {
        let read = statements.termAt
        defer { read.reset() }
        try read.bind(index.value, at: 1)
        guard try read.step() else {
            throw .corrupt(
                path: path,
                reason: "entry \(index) is missing inside the log \(compactedThrough.next)...\(lastIndex)")
        }
        return try Self.term(read.int64(at: 0), path: path, what: "the term of \(index)")
    }

    private static func readCompactedThrough(_ statements: Statements, path: String) throws(StorageError)
        -> LogIndex
    {
        let read = statements.readCompactedThrough
        defer { read.reset() }
        guard try read.step() else {
            throw .corrupt(path: path, reason: "the meta table has no compacted_through row")
        }
        return try logIndex(read.int64(at: 0), path: path, what: "compacted_through")
    }

    private static func logIndex(_ value: Int64, path: String, what: String) throws(StorageError) -> LogIndex
    {
        guard let value = UInt64(exactly: value) else {
            throw .corrupt(path: path, reason: "\(what) is negative (\(value))")
        }
        return LogIndex(value)
    }

    private static func term(_ value: Int64, path: String, what: String) throws(StorageError) -> Term {
        guard let value = UInt64(exactly: value) else {
            throw .corrupt(path: path, reason: "\(what) is negative (\(value))")
        }
        return Term(value)
    }
}

extension SQLiteLogStore {
    /// Every statement the store runs, prepared once at open and reused.
    private struct Statements {
        let begin, commit, rollback: SQLiteStatement
        let readHardState, writeHardState: SQLiteStatement
        let readCompactedThrough, writeCompactedThrough: SQLiteStatement
        let readCommitIndex, writeCommitIndex: SQLiteStatement
        let lastIndex, firstIndex, termAt, readLog, rowSizes: SQLiteStatement
        let deleteFrom, deleteThrough, insertEntry: SQLiteStatement

        init(_ connection: SQLiteConnection) throws(StorageError) {
            func prepare(_ sql: String, _ operation: String) throws(StorageError) -> SQLiteStatement {
                try SQLiteStatement(connection: connection, sql: sql, operation: operation)
            }
            // IMMEDIATE: take the write lock at BEGIN, so a conflict shows before any work.
            begin = try prepare("BEGIN IMMEDIATE", "begin transaction")
            commit = try prepare("COMMIT", "commit (sync)")
            rollback = try prepare("ROLLBACK", "roll back")
            readHardState = try prepare("SELECT term, vote FROM hard_state WHERE id = 0", "read hard state")
            writeHardState = try prepare(
                "INSERT INTO hard_state (id, term, vote) VALUES (0, ?1, ?2) "
                    + "ON CONFLICT (id) DO UPDATE SET term = excluded.term, vote = excluded.vote",
                "write hard state")
            readCompactedThrough = try prepare(
                "SELECT value FROM meta WHERE key = 'compacted_through'", "read compacted_through")
            writeCompactedThrough = try prepare(
                "UPDATE meta SET value = ?1 WHERE key = 'compacted_through'", "write compacted_through")
            readCommitIndex = try prepare(
                "SELECT value FROM meta WHERE key = 'commit_index'", "read commit_index")
            writeCommitIndex = try prepare(
                "UPDATE meta SET value = max(value, ?1) WHERE key = 'commit_index'", "write commit_index")
            lastIndex = try prepare("SELECT max(idx) FROM log", "read the last log index")
            termAt = try prepare("SELECT term FROM log WHERE idx = ?1", "read an entry's term")
            firstIndex = try prepare("SELECT min(idx) FROM log", "read the first log index")
            readLog = try prepare(
                "SELECT idx, term, kind, data FROM log WHERE idx > ?1 ORDER BY idx", "read the log")
            rowSizes = try prepare(
                "SELECT idx, length(data) FROM log WHERE idx >= ?1 AND idx <= ?2 ORDER BY idx",
                "measure compacted entries")
            deleteFrom = try prepare("DELETE FROM log WHERE idx >= ?1", "truncate the log's suffix")
            deleteThrough = try prepare("DELETE FROM log WHERE idx <= ?1", "compact the log")
            insertEntry = try prepare(
                "INSERT INTO log (idx, term, kind, data) VALUES (?1, ?2, ?3, ?4)", "append an entry")
        }
    }
}
