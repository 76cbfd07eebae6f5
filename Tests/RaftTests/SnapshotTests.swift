import RaftCore
import Testing

// Snapshots (Raft §7, Figure 13): the log's compaction and restore, taking a
// snapshot and restarting from one. The leader's transfer is in SnapshotTests+Leader.swift, the
// follower's install in SnapshotTests+Follower.swift, whole clusters in SnapshotTests+Cluster.swift.

// MARK: - RaftLog

@Suite("Snapshots: RaftLog compaction and restore")
struct SnapshotLogTests {
    /// Terms [1, 1, 2, 2, 3] at i1..i5, durable, committed through i5 and applied through `applied`.
    static func committedLog(applied: UInt64) -> RaftLog {
        var log = makeLog(terms: [1, 1, 2, 2, 3])
        log.commit(to: LogIndex(5))
        log.markApplied(through: LogIndex(applied))
        return log
    }

    @Test("§7: compact(through:) forgets the entries but still answers the term at the compaction point")
    func compactKeepsTermAtCompactionPoint() {
        var log = Self.committedLog(applied: 4)
        log.compact(through: LogIndex(3))
        #expect(log.snapshotIndex == LogIndex(3))
        #expect(log.snapshotTerm == Term(2))
        #expect(log.firstIndex == LogIndex(4))
        #expect(log.entries == makeEntries(from: 4, terms: [2, 3]))
        // The consistency check of an AppendEntries with prevLogIndex i3 still works (§5.3).
        #expect(log.term(at: LogIndex(3)) == Term(2))
        #expect(log.contains(index: LogIndex(3), term: Term(2)))
        #expect(log.entry(at: LogIndex(3)) == nil, "the entry itself is gone")
        #expect(log.term(at: LogIndex(2)) == nil, "below the compaction point nothing is known")
        #expect(log.entries(from: LogIndex(4), maxBytes: 1 << 20).map(\.index) == [LogIndex(4), LogIndex(5)])
        // The cursors do not move.
        #expect(log.committed == LogIndex(5))
        #expect(log.applied == LogIndex(4))
        #expect(log.stableIndex == LogIndex(5))
        #expect(log.entriesToApply.map(\.index) == [LogIndex(5)])
    }

    @Test("§5.4.1, §7: a log compacted to nothing still has its last index and term for elections")
    func compactWholeLogKeepsLastIndexAndTerm() {
        var log = Self.committedLog(applied: 5)
        log.compact(through: LogIndex(5))
        #expect(log.entries.isEmpty)
        #expect(log.lastIndex == LogIndex(5))
        #expect(log.lastTerm == Term(3))
        #expect(log.unstableEntries.isEmpty)
        #expect(log.entriesToApply.isEmpty)
        #expect(log.isUpToDate(lastIndex: LogIndex(5), lastTerm: Term(3)))
        #expect(!log.isUpToDate(lastIndex: LogIndex(4), lastTerm: Term(3)))
        #expect(!log.isUpToDate(lastIndex: LogIndex(9), lastTerm: Term(2)))
    }

    @Test("compacting at or below the snapshot index changes nothing")
    func compactBelowSnapshotIsNoOp() {
        var log = Self.committedLog(applied: 5)
        log.compact(through: LogIndex(3))
        log.compact(through: LogIndex(3))
        log.compact(through: LogIndex(1))
        #expect(log.snapshotIndex == LogIndex(3))
        #expect(log.snapshotTerm == Term(2))
        #expect(log.entries == makeEntries(from: 4, terms: [2, 3]))
    }

    @Test("compacting past the applied index is a bug and traps (the snapshot cannot cover it yet)")
    func compactPastAppliedTraps() async {
        await #expect(processExitsWith: .failure) {
            var log = makeLog(terms: [1, 1, 1])
            log.commit(to: LogIndex(3))
            log.markApplied(through: LogIndex(1))
            log.compact(through: LogIndex(2))
        }
    }

    @Test("compacting past the stable index is a bug and traps (the entries are not on disk yet)")
    func compactPastStableTraps() async {
        await #expect(processExitsWith: .failure) {
            var log = RaftLog()
            _ = log.appendFromLeader(after: .zero, makeEntries(from: 1, terms: [1, 1, 1]))
            log.commit(to: LogIndex(3))
            log.markApplied(through: LogIndex(3))  // applied before durable: allowed, compaction is not
            log.compact(through: LogIndex(2))
        }
    }

    struct RestoreCase: Sendable, CustomTestStringConvertible {
        var name: String
        /// The durable log, as the term of each entry from i1.
        var log: [UInt64]
        var index: UInt64
        var term: UInt64
        /// Terms of the entries expected after the snapshot, from `index + 1`.
        var kept: [UInt64]
        var testDescription: String { name }
    }

    @Test(
        "Figure 13 rules 6-7: restore keeps the entries after a matching last entry, else none",
        arguments: [
            RestoreCase(
                name: "rule 6: the log has the snapshot's last entry: the entries after it stay",
                log: [1, 1, 2, 2, 3], index: 3, term: 2, kept: [2, 3]),
            RestoreCase(
                name: "rule 6: the snapshot ends at the log's last entry", log: [1, 1, 2], index: 3,
                term: 2, kept: []),
            RestoreCase(
                name: "rule 7: another term at the snapshot's index: the whole log goes",
                log: [1, 1, 2, 2, 3], index: 3, term: 3, kept: []),
            RestoreCase(
                name: "rule 7: the snapshot reaches past the log's end", log: [1, 1], index: 5, term: 2,
                kept: []),
            RestoreCase(name: "rule 7: an empty log", log: [], index: 4, term: 1, kept: []),
        ])
    func restore(_ c: RestoreCase) {
        var log = makeLog(terms: c.log)
        log.restore(index: LogIndex(c.index), term: Term(c.term))
        #expect(log.snapshotIndex == LogIndex(c.index))
        #expect(log.snapshotTerm == Term(c.term))
        #expect(log.entries == makeEntries(from: c.index + 1, terms: c.kept))
        #expect(log.lastIndex == LogIndex(c.index + UInt64(c.kept.count)))
        #expect(log.lastTerm == Term(c.kept.last ?? c.term))
        #expect(log.term(at: LogIndex(c.index)) == Term(c.term))
        // The snapshot counts as committed, applied and durable; kept entries were durable already.
        #expect(log.committed == LogIndex(c.index))
        #expect(log.applied == LogIndex(c.index))
        #expect(log.stableIndex == log.lastIndex)
        #expect(log.unstableEntries.isEmpty)
        #expect(log.entriesToApply.isEmpty)
    }

    @Test("restore moves committed and applied up to the snapshot; kept entries apply once committed")
    func restoreMovesCursors() {
        var log = makeLog(terms: [1, 1, 2, 2, 3, 3])
        log.commit(to: LogIndex(2))
        log.markApplied(through: LogIndex(1))
        log.restore(index: LogIndex(4), term: Term(2))
        #expect(log.committed == LogIndex(4))
        #expect(log.applied == LogIndex(4))
        #expect(log.entriesToApply.isEmpty, "entries the snapshot covers are never applied one by one")
        log.commit(to: LogIndex(6))
        #expect(log.entriesToApply.map(\.index) == [LogIndex(5), LogIndex(6)])
    }

    @Test("restore keeps kept entries that are not durable yet unstable, and drops discarded ones")
    func restoreAndUnstableEntries() {
        var matching = RaftLog()
        _ = matching.appendFromLeader(after: .zero, makeEntries(from: 1, terms: [1, 1, 2, 2]))
        matching.restore(index: LogIndex(2), term: Term(1))
        #expect(matching.stableIndex == LogIndex(2))
        #expect(Array(matching.unstableEntries) == makeEntries(from: 3, terms: [2, 2]))

        var conflicting = RaftLog()
        _ = conflicting.appendFromLeader(after: .zero, makeEntries(from: 1, terms: [1, 1, 2, 2]))
        conflicting.restore(index: LogIndex(2), term: Term(2))
        #expect(conflicting.stableIndex == LogIndex(2))
        #expect(conflicting.lastIndex == LogIndex(2))
        #expect(conflicting.unstableEntries.isEmpty)
    }
}

// MARK: - Taking a snapshot, restarting from one

@Suite("Snapshots: snapshotTaken and restart")
struct SnapshotTakenTests {
    /// n2 following n1 in t3, with terms [1, 1, 2, 2, 3, 3, 3, 3] at i1..i8, i1..i7 applied.
    static func appliedFollower() throws -> RaftCore {
        try makeSnapshotFollower(terms: [1, 1, 2, 2, 3, 3, 3, 3], term: 3, committed: 7)
    }

    @Test("snapshotMetadata(at:) names the term and configuration of an applied index, nothing else")
    func snapshotMetadataBeforeCompaction() throws {
        let n2 = try Self.appliedFollower()
        #expect(
            n2.snapshotMetadata(at: LogIndex(4))
                == SnapshotMetadata(
                    index: LogIndex(4), term: Term(2), configuration: ClusterConfiguration(voters: three)))
        #expect(n2.snapshotMetadata(at: LogIndex(7))?.term == Term(3))
        #expect(n2.snapshotMetadata(at: LogIndex(8)) == nil, "i8 is in the log but not applied")
        #expect(n2.snapshotMetadata(at: LogIndex(9)) == nil)
    }

    @Test("§7: snapshotTaken keeps the snapshot and compacts through the index given, which may be lower")
    func snapshotTakenCompacts() throws {
        var n2 = try Self.appliedFollower()
        let snapshot = try n2.takeSnapshot(at: 6, compactingThrough: 4, data: snapshotBytes(5))
        #expect(n2.snapshot == snapshot)
        #expect(snapshot.metadata.term == Term(3))
        #expect(n2.log.snapshotIndex == LogIndex(4))
        #expect(n2.log.entries == makeEntries(from: 5, terms: [3, 3, 3, 3]))
        // Metadata stays correct at and after the compaction point, and is unknown before it.
        #expect(n2.snapshotMetadata(at: LogIndex(4))?.term == Term(2))
        #expect(n2.snapshotMetadata(at: LogIndex(5))?.term == Term(3))
        #expect(n2.snapshotMetadata(at: LogIndex(6)) == snapshot.metadata)
        #expect(n2.snapshotMetadata(at: LogIndex(3)) == nil)
        // A later snapshot compacts further.
        let later = try n2.takeSnapshot(at: 7, data: snapshotBytes(6))
        #expect(n2.snapshot == later)
        #expect(n2.log.snapshotIndex == LogIndex(7))
        #expect(n2.snapshotMetadata(at: LogIndex(7)) == later.metadata)
        #expect(n2.snapshotMetadata(at: LogIndex(6)) == nil)
        #expect(!n2.hasReady, "taking a snapshot produces no work")
    }

    @Test("§7: snapshotTaken ignores a snapshot that is not newer than the one it has")
    func snapshotTakenIgnoresOlder() throws {
        var n2 = try Self.appliedFollower()
        let current = try n2.takeSnapshot(at: 5, data: snapshotBytes(5))
        // Older: its index is compacted away, so the core could not even check its term.
        n2.snapshotTaken(
            makeSnapshot(index: 3, term: 2, data: snapshotBytes(3)), compactingThrough: LogIndex(3))
        // Same index, other bytes (a duplicate from a slow snapshot job).
        n2.snapshotTaken(Snapshot(metadata: current.metadata, data: [9]), compactingThrough: LogIndex(5))
        #expect(n2.snapshot == current)
        #expect(n2.log.snapshotIndex == LogIndex(5))
        #expect(n2.log.entries == makeEntries(from: 6, terms: [3, 3, 3]))
    }

    @Test("§7: a core restarted from a snapshot and a log tail resumes at the snapshot's index")
    func restartFromSnapshotAndLogTail() throws {
        let snapshot = makeSnapshot(index: 5, term: 1, data: snapshotBytes(10))
        let tail = [entry(6, 1), entry(7, 2), entry(8, 2)]
        var n2 = makeSnapshotCore(
            "n2", hardState: HardState(term: Term(2)),
            log: RaftLog(snapshotIndex: LogIndex(5), snapshotTerm: Term(1), entries: tail), snapshot: snapshot
        )
        #expect(n2.snapshot == snapshot)
        #expect(n2.log.applied == LogIndex(5), "the driver restored the state machine from the snapshot")
        #expect(n2.log.committed == LogIndex(5))
        #expect(n2.log.lastIndex == LogIndex(8))
        #expect(n2.snapshotMetadata(at: LogIndex(5)) == snapshot.metadata)
        #expect(n2.takeReady() == nil, "nothing to redo: the snapshot is not handed out again")

        // The leader's consistency check at the snapshot's index passes; the tail applies once committed.
        let ready = try n2.stepAndTakeReady(
            envelope("n1", "n2", 2, .append(prev: 5, prevTerm: 1, tail, commit: 8)))
        #expect(
            ready
                == .expect(
                    messages: [envelope("n2", "n1", 2, .appendOK(match: 8))], apply: tail,
                    events: [.leaderChanged(term: Term(2), leader: "n1")]))
        #expect(n2.log.applied == LogIndex(8))
    }
}
