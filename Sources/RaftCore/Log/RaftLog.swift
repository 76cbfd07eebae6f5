/// The replicated log as one node holds it: the entries after its snapshot, in memory, and the
/// cursors that say how far they are durable, committed and applied. Disk is read only at startup.
///
/// Invariant: `snapshotIndex <= applied <= committed`, `committed <= lastIndex`,
/// `snapshotIndex <= stableIndex <= lastIndex`.
public struct RaftLog: Sendable {
    /// The last index covered by the snapshot this log starts after (zero: no snapshot).
    public private(set) var snapshotIndex: LogIndex
    public private(set) var snapshotTerm: Term
    /// `entries[k].index == snapshotIndex + 1 + k`.
    public private(set) var entries: [Entry]
    /// Entries through this index are durable on this node's disk.
    public private(set) var stableIndex: LogIndex
    /// Known to be stored on a quorum (Raft §5.3); never decreases.
    public private(set) var committed: LogIndex
    /// Handed to the state machine; never decreases.
    public private(set) var applied: LogIndex

    /// A log recovered from disk: everything given is already durable.
    /// `committed` is a commit index recorded before a restart: entries through it (as far as this
    /// log reaches) count as committed again at once, so they are applied without waiting for a leader.
    public init(
        snapshotIndex: LogIndex = .zero, snapshotTerm: Term = .zero, entries: [Entry] = [],
        committed: LogIndex = .zero
    ) {
        for (k, entry) in entries.enumerated() {
            precondition(
                entry.index == snapshotIndex.advanced(by: k + 1),
                "recovered log is not contiguous at \(entry.index) (snapshot \(snapshotIndex))")
        }
        self.snapshotIndex = snapshotIndex
        self.snapshotTerm = snapshotTerm
        self.entries = entries
        self.stableIndex = entries.last?.index ?? snapshotIndex
        self.committed = max(snapshotIndex, min(committed, entries.last?.index ?? snapshotIndex))
        self.applied = snapshotIndex
    }

    public var firstIndex: LogIndex { snapshotIndex.next }
    public var lastIndex: LogIndex { entries.last?.index ?? snapshotIndex }
    public var lastTerm: Term { entries.last?.term ?? snapshotTerm }

    private func position(_ index: LogIndex) -> Int { snapshotIndex.distance(to: index) - 1 }

    /// The term of the entry at `index`, or nil when it is compacted away or past the end.
    public func term(at index: LogIndex) -> Term? {
        if index == snapshotIndex { return snapshotTerm }
        guard index > snapshotIndex, index <= lastIndex else { return nil }
        return entries[position(index)].term
    }

    public func entry(at index: LogIndex) -> Entry? {
        guard index > snapshotIndex, index <= lastIndex else { return nil }
        return entries[position(index)]
    }

    public func contains(index: LogIndex, term: Term) -> Bool { self.term(at: index) == term }

    /// Whether a candidate whose log ends at `(lastIndex, lastTerm)` is at least as up to date as
    /// this log (Raft §5.4.1).
    public func isUpToDate(lastIndex candidateIndex: LogIndex, lastTerm candidateTerm: Term) -> Bool {
        candidateTerm > lastTerm || (candidateTerm == lastTerm && candidateIndex >= lastIndex)
    }

    /// Entries from `start` on, as many as fit in `maxBytes` but at least one.
    public func entries(from start: LogIndex, maxBytes: Int) -> [Entry] {
        guard start <= lastIndex else { return [] }
        precondition(start > snapshotIndex, "entries from \(start) are compacted (snapshot \(snapshotIndex))")
        var result: [Entry] = []
        var bytes = 0
        for k in position(start)..<entries.count {
            let entry = entries[k]
            if !result.isEmpty && bytes + entry.byteSize > maxBytes { break }
            bytes += entry.byteSize
            result.append(entry)
        }
        return result
    }

    /// Entries not yet durable, in order.
    public var unstableEntries: ArraySlice<Entry> {
        entries[(position(stableIndex) + 1)...]
    }

    /// Entries committed but not yet applied, in order.
    public var entriesToApply: ArraySlice<Entry> {
        guard committed > applied else { return [] }
        return entries[(position(applied) + 1)...position(committed)]
    }

    /// The last index of the term `term` in this log at or below `index`, if the log has any.
    public func lastIndex(ofTerm term: Term, atOrBelow index: LogIndex) -> LogIndex? {
        var i = min(index, lastIndex)
        while i > snapshotIndex {
            let t = entries[position(i)].term
            if t == term { return i }
            if t < term { return nil }
            i = i.previous
        }
        return nil
    }

    /// The first index holding `term`, searching back from `index` (for rejection hints).
    public func firstIndex(ofTermAt index: LogIndex) -> LogIndex {
        guard let term = term(at: index) else { return index }
        var i = index
        while i.previous > snapshotIndex, entries[position(i.previous)].term == term { i = i.previous }
        return i
    }

    /// The index of the first incoming entry that conflicts with this log (same index, other term).
    public func firstConflict(in incoming: [Entry]) -> LogIndex? {
        for entry in incoming where entry.index > snapshotIndex {
            guard let existing = term(at: entry.index) else { return nil }
            if existing != entry.term { return entry.index }
        }
        return nil
    }

    /// Appends entries made by this node as leader.
    public mutating func appendAsLeader(_ entry: Entry) {
        precondition(entry.index == lastIndex.next, "leader append at \(entry.index) after \(lastIndex)")
        entries.append(entry)
    }

    /// Applies the entries of an AppendEntries whose consistency check passed at `prevLogIndex`.
    /// Deletes only from the first entry that conflicts (same index, different term), so a stale
    /// or duplicated message never removes entries (Figure 2, AppendEntries rule 3).
    /// Returns the index of the last entry the message covered.
    public mutating func appendFromLeader(after prevLogIndex: LogIndex, _ incoming: [Entry]) -> LogIndex {
        var k = 0
        // Skip what we already hold, and what a snapshot already covers.
        while k < incoming.count {
            let entry = incoming[k]
            if entry.index <= snapshotIndex {
                k += 1
                continue
            }
            guard let existing = term(at: entry.index) else { break }
            if existing != entry.term {
                precondition(
                    entry.index > committed, "conflict at committed \(entry.index) (committed \(committed))")
                truncate(from: entry.index)
                break
            }
            k += 1
        }
        for entry in incoming[k...] {
            precondition(entry.index == lastIndex.next, "gap appending \(entry.index) after \(lastIndex)")
            entries.append(entry)
        }
        return prevLogIndex.advanced(by: incoming.count)
    }

    /// Removes `index` and everything after it.
    mutating func truncate(from index: LogIndex) {
        entries.removeSubrange(position(index)...)
        if stableIndex >= index { stableIndex = index.previous }
    }

    /// Records that entries through `index` reached the disk, unless the entry there has since
    /// been replaced by one of another term (then the new one is not durable yet).
    public mutating func markStable(through index: LogIndex, term: Term) {
        guard index > stableIndex, self.term(at: index) == term else { return }
        stableIndex = index
    }

    /// Forgets the entries through `index`, which a durable snapshot now covers.
    public mutating func compact(through index: LogIndex) {
        guard index > snapshotIndex else { return }
        precondition(
            index <= applied && index <= stableIndex,
            "compacting \(index) past applied \(applied) or stable \(stableIndex)")
        snapshotTerm = term(at: index)!
        entries.removeSubrange(...position(index))
        snapshotIndex = index
    }

    /// Replaces the log's prefix with a snapshot received from the leader (Figure 13, rules 6-7):
    /// if this log holds the snapshot's last entry, the entries after it stay; otherwise the whole
    /// log is discarded. The snapshot counts as committed, applied and durable.
    public mutating func restore(index: LogIndex, term: Term) {
        precondition(index > committed, "restoring snapshot \(index) at or below commit \(committed)")
        if self.term(at: index) == term {
            entries.removeSubrange(...position(index))
        } else {
            entries = []
            stableIndex = index
        }
        stableIndex = max(stableIndex, index)
        snapshotIndex = index
        snapshotTerm = term
        committed = index
        applied = index
    }

    public mutating func commit(to index: LogIndex) {
        precondition(index <= lastIndex, "commit \(index) beyond last \(lastIndex)")
        if index > committed { committed = index }
    }

    public mutating func markApplied(through index: LogIndex) {
        precondition(index <= committed, "applied \(index) beyond commit \(committed)")
        precondition(index >= applied, "applied regressed \(applied) → \(index)")
        applied = index
    }
}
