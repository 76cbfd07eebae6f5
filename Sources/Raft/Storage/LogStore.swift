/// What a node finds on its disk when it starts: its vote and term, and the log after the
/// newest snapshot (the snapshot itself lives in a `SnapshotStore`).
public struct PersistedLog: Sendable, Equatable {
    public var hardState: HardState
    /// Entries were removed through this index (zero: none ever were). The first entry, if any,
    /// is at `compactedThrough + 1`, and the entries are contiguous.
    public var compactedThrough: LogIndex
    public var entries: [Entry]
    /// The highest commit index recorded: entries through it were committed (and may have been
    /// applied) before the node stopped, so a restart applies them again at once.
    public var commitIndex: LogIndex

    public init(
        hardState: HardState = HardState(), compactedThrough: LogIndex = .zero, entries: [Entry] = [],
        commitIndex: LogIndex = .zero
    ) {
        self.hardState = hardState
        self.compactedThrough = compactedThrough
        self.entries = entries
        self.commitIndex = commitIndex
    }
}

/// Durable storage of a node's Raft state: the hard state (term, vote) and the log.
///
/// Used from one task at a time (the node's loop), so implementations need no locking.
/// Every mutating call is atomic and durable when it returns: after a crash at any moment, the
/// store holds either all of a call's effect or none of it. A call refused with
/// `.invalidArgument` has changed nothing; after any other failure the stored state is unknown
/// (a failed sync may have lost pages), so implementations refuse every further call and the
/// shell stops the node (`SQLiteLogStore` and `MemoryLogStore` follow the same rules).
public protocol LogStore: AnyObject {
    /// Reads everything durable. Called once, at start-up. The log is verified: it starts at
    /// `compactedThrough + 1`, is contiguous and its terms never decrease; anything else is
    /// `.corrupt`, never a silently shorter or empty log.
    func load() throws(StorageError) -> PersistedLog

    /// Writes one batch of work from the core in one transaction with one sync (group commit):
    /// the hard state if given, and `entries`, each replacing any stored entry at its index and
    /// every entry after it (a conflicting suffix is truncated). So the caller passes entries only
    /// from the first new or conflicting index on: truncate only on conflict (Figure 2,
    /// AppendEntries rule 3). `commitIndex`, if given, is recorded in the same transaction (the
    /// stored value only ever grows); the node records it before applying what it covers, so a
    /// restart after a crash never applies less than before. A call with only a commit index need
    /// not sync: it must survive the process's crash, and may be lost with a power cut until the
    /// next synced call. A call with none of the three does nothing.
    ///
    /// Refused with `.invalidArgument`, writing nothing (not even the hard state), unless
    /// `entries` are contiguous, the first one is after the compacted prefix and at most one
    /// past the stored log's end (`compactedThrough` when the log is empty), and their terms
    /// never decrease, starting from the stored entry before the first one (true of every Raft
    /// log: a leader appends only entries of its own, newest, term).
    func persist(hardState: HardState?, entries: [Entry], commitIndex: LogIndex?) throws(StorageError)

    /// Removes every entry through `index` and records `index` as `compactedThrough`, once a
    /// durable snapshot covers them. An index at or below `compactedThrough` changes nothing
    /// (compaction never goes back). An index past the log's end empties the log (a follower
    /// that installed a snapshot newer than its log); the next entries then start at `index + 1`.
    /// Unlike the other calls it need not sync: it must survive the process's crash, and a power
    /// cut may undo it until the next synced call, leaving the longer log a durable snapshot
    /// already covers.
    func compact(through index: LogIndex) throws(StorageError)

    /// Frees, a little at a time, the space of entries `compact` and `installSnapshot` removed, if
    /// the store defers that work: deleting 10,000 entries at once took a node's loop 0.1 to 2 s,
    /// longer than an election timeout, while no heartbeat went out. Frees about `maxBytes` of
    /// entry data (at least one entry; a store may count small entries as more) and returns whether more remains. Entries removed this way
    /// were already gone from the log as `load` and every other call see it, so this changes
    /// nothing observable and needs no sync.
    func reclaimSpace(maxBytes: Int) throws(StorageError) -> Bool

    /// Records that a snapshot from the leader, whose last entry is `index` at `term`, replaced the
    /// log's prefix (Raft Figure 13): if the stored entry at `index` has `term`, the entries after it
    /// stay (rule 6); otherwise every entry goes (rule 7). Either way `compactedThrough` becomes
    /// `index`, in one transaction. An index at or below `compactedThrough` changes nothing.
    func installSnapshot(index: LogIndex, term: Term) throws(StorageError)
}

/// Why storage failed. The shell stops the node rather than run without durability.
public enum StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A file is missing, unreadable, corrupt, or of another format version: `path` names it.
    case corrupt(path: String, reason: String)
    /// The operating system or SQLite refused an operation.
    case io(path: String, operation: String, reason: String)
    /// The caller broke the store's contract (entries not contiguous, a gap after the stored log).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .corrupt(let path, let reason): "\(path): \(reason)"
        case .io(let path, let operation, let reason): "\(path): \(operation) failed: \(reason)"
        case .invalidArgument(let reason): "invalid storage request: \(reason)"
        }
    }
}

extension LogStore {
    /// `persist(hardState:entries:commitIndex:)` without recording a commit index.
    public func persist(hardState: HardState?, entries: [Entry]) throws(StorageError) {
        try persist(hardState: hardState, entries: entries, commitIndex: nil)
    }
}
