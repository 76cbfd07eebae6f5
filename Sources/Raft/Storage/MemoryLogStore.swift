/// A `LogStore` kept in memory, for `-inmem` nodes and tests. It accepts and refuses exactly the
/// calls `SQLiteLogStore` does (both apply `LogStoreRules`), so a test that passes against this
/// store exercises the same contract.
///
/// "Durable" here means "kept by this object": `persisted` is what a crash at this moment would
/// leave, and a test restarts a node from it with `MemoryLogStore(store.persisted)`.
///
/// Used from one task at a time (the node's loop); it has no locking and is not `Sendable`.
public final class MemoryLogStore: LogStore {
    /// Everything the calls so far have written.
    // Invariant (unless `damage` is set): the entries are contiguous, start at
    // `compactedThrough + 1`, and their terms never decrease.
    public private(set) var persisted: PersistedLog

    /// Why `persisted` breaks the invariant, when the store was built from such a log: then every
    /// call throws it, as `SQLiteLogStore` does for a damaged file.
    private let damage: StorageError?

    /// The path reported in errors; there is no file.
    public static let path = "<memory log store>"

    /// A store holding `persisted`, as if it had been loaded from disk. An inconsistent log is
    /// accepted here and reported by every call, like a damaged file.
    public init(_ persisted: PersistedLog = PersistedLog()) {
        self.persisted = persisted
        do {
            try LogStoreRules.verify(persisted, path: Self.path)
            damage = nil
        } catch {
            damage = error
        }
    }

    public func load() throws(StorageError) -> PersistedLog {
        if let damage { throw damage }
        return persisted
    }

    public func persist(hardState: HardState?, entries: [Entry], commitIndex: LogIndex?) throws(StorageError)
    {
        if let damage { throw damage }
        if let first = entries.first {
            try LogStoreRules.checkAppend(
                entries, compactedThrough: persisted.compactedThrough, lastIndex: lastIndex)
            try LogStoreRules.checkTerms(entries, after: term(at: first.index.previous))
        }
        if let hardState { try LogStoreRules.checkHardState(hardState) }
        if let commitIndex {
            try LogStoreRules.checkCompaction(through: commitIndex)
            persisted.commitIndex = max(persisted.commitIndex, commitIndex)
        }
        if let hardState { persisted.hardState = hardState }
        if let first = entries.first {
            let kept = Int(first.index.value - persisted.compactedThrough.value - 1)
            persisted.entries.removeSubrange(kept...)
            persisted.entries.append(contentsOf: entries)
        }
    }

    public func compact(through index: LogIndex) throws(StorageError) {
        if let damage { throw damage }
        guard index > persisted.compactedThrough else { return }  // never goes back
        try LogStoreRules.checkCompaction(through: index)
        let removed = min(persisted.entries.count, Int(index.value - persisted.compactedThrough.value))
        persisted.entries.removeFirst(removed)
        persisted.compactedThrough = index
    }

    /// Compaction frees memory at once here: nothing is left to reclaim.
    public func reclaimSpace(maxBytes: Int) throws(StorageError) -> Bool { false }

    public func installSnapshot(index: LogIndex, term snapshotTerm: Term) throws(StorageError) {
        if let damage { throw damage }
        guard index > persisted.compactedThrough else { return }
        try LogStoreRules.checkCompaction(through: index)
        if term(at: index) == snapshotTerm {
            try compact(through: index)
        } else {
            persisted.entries = []
            persisted.compactedThrough = index
        }
    }

    /// The index of the last entry, or `compactedThrough` when the log is empty.
    private var lastIndex: LogIndex { persisted.entries.last?.index ?? persisted.compactedThrough }

    /// The term of the stored entry at `index`, nil when there is none (compacted or past the end).
    private func term(at index: LogIndex) -> Term? {
        guard index > persisted.compactedThrough, index <= lastIndex else { return nil }
        return persisted.entries[Int(index.value - persisted.compactedThrough.value - 1)].term
    }
}

/// The rules every `LogStore` here applies, so `SQLiteLogStore` and `MemoryLogStore` accept and
/// refuse exactly the same calls, and load only what these rules could have produced.
///
/// NOTE: it lives beside `MemoryLogStore` (the reference semantics) only because this change
/// owns no other file; `LogStore+Rules.swift` would be its natural home.
enum LogStoreRules {
    /// The largest index or term a store accepts: SQLite integers are signed 64-bit.
    static let maximumValue = UInt64(Int64.max)

    /// Checks a non-empty `persist` batch against the stored log, which holds
    /// `compactedThrough + 1 ... lastIndex`: the batch must start after the compacted prefix and at
    /// most one past the end, and be contiguous.
    static func checkAppend(_ entries: [Entry], compactedThrough: LogIndex, lastIndex: LogIndex)
        throws(StorageError)
    {
        guard let first = entries.first, let last = entries.last else { return }
        guard first.index > compactedThrough else {
            throw .invalidArgument(
                "entries start at \(first.index), inside the compacted prefix (compacted through \(compactedThrough))"
            )
        }
        guard first.index <= lastIndex.next else {
            throw .invalidArgument(
                "entries start at \(first.index), leaving a gap after the stored log's end \(lastIndex)")
        }
        for (previous, entry) in zip(entries, entries.dropFirst()) where entry.index != previous.index.next {
            throw .invalidArgument(
                "entries are not contiguous: \(previous.index) is followed by \(entry.index)")
        }
        guard last.index.value <= maximumValue, last.term.value <= maximumValue else {
            throw .invalidArgument("\(last) is beyond the largest storable index or term \(maximumValue)")
        }
    }

    /// Checks that a hard state can be stored.
    static func checkHardState(_ hardState: HardState) throws(StorageError) {
        guard hardState.term.value <= maximumValue else {
            throw .invalidArgument("\(hardState.term) is beyond the largest storable term \(maximumValue)")
        }
    }

    /// Checks that a compaction point can be stored.
    static func checkCompaction(through index: LogIndex) throws(StorageError) {
        guard index.value <= maximumValue else {
            throw .invalidArgument("\(index) is beyond the largest storable index \(maximumValue)")
        }
    }

    /// Checks that terms never decrease along the log, from the stored entry before the batch
    /// (`termBefore`, nil when there is none or it is compacted) through the batch. Every Raft log
    /// has this shape (a leader appends only entries of its own term, the newest it knows, after
    /// entries of older terms), so a decrease can only be a bug in the caller.
    static func checkTerms(_ entries: [Entry], after termBefore: Term?) throws(StorageError) {
        guard let first = entries.first else { return }
        if let termBefore, first.term < termBefore {
            throw .invalidArgument(
                "entry terms decrease: \(first) follows an entry of \(termBefore) at \(first.index.previous)")
        }
        for (previous, entry) in zip(entries, entries.dropFirst()) where entry.term < previous.term {
            throw .invalidArgument("entry terms decrease: \(previous) is followed by \(entry)")
        }
    }

    /// Checks a loaded log: the first entry at `compactedThrough + 1`, contiguous, terms never
    /// decreasing. A violation is damage on disk, reported as `.corrupt` naming `path`.
    static func verify(_ log: PersistedLog, path: String) throws(StorageError) {
        guard let first = log.entries.first else { return }
        guard first.index == log.compactedThrough.next else {
            throw .corrupt(
                path: path,
                reason:
                    "the log starts at \(first.index), but entries were compacted through \(log.compactedThrough): expected \(log.compactedThrough.next)"
            )
        }
        for (previous, entry) in zip(log.entries, log.entries.dropFirst()) {
            guard entry.index == previous.index.next else {
                throw .corrupt(
                    path: path,
                    reason: "the log is not contiguous: \(previous.index) is followed by \(entry.index)")
            }
            guard entry.term >= previous.term else {
                throw .corrupt(
                    path: path, reason: "the log's terms decrease: \(previous) is followed by \(entry)")
            }
        }
    }
}
