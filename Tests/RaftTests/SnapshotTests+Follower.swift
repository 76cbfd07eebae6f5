import RaftCore
import Testing

// The follower's side of snapshot transfer (Raft §7, Figure 13): chunks assembled in
// order from one leader for one snapshot, installed only when newer than the commit index, and
// handed to the driver in the same `Ready` as the answer that reports it.

@Suite("Snapshots: the follower receives and installs a snapshot")
struct SnapshotFollowerTests {
    /// The usual 10-byte snapshot at i5@t1 (chunks at offsets 0, 4, 8).
    static let snapshot = makeSnapshot(index: 5, term: 1, data: snapshotBytes(10))

    /// The chunk of `snapshot` at `offset`, from `from` to n2 in `term`.
    static func chunk(
        _ offset: Int, of snapshot: Snapshot = snapshot, from: NodeID = "n1", term: UInt64 = 2
    ) -> Envelope {
        envelope(from, "n2", term, .snapshotChunk(snapshot, offset: offset))
    }

    /// n2's answer to `to` about the snapshot at `index`: it wants byte `next` on.
    static func wants(_ next: UInt64, index: UInt64 = 5, to: NodeID = "n1", term: UInt64 = 2) -> [Envelope] {
        [envelope("n2", to, term, .snapshotReceiving(index: index, next: next))]
    }

    @Test("Figure 13: chunks are taken only in order; any other offset is answered with the offset wanted")
    func chunksOnlyInOrder() throws {
        var n2 = try makeSnapshotFollower(terms: [1, 1])
        let data = Self.snapshot.data
        // (offset sent, offset wanted afterwards): a skip ahead, duplicates of earlier chunks.
        let steps: [(sent: Int, wanted: Int)] = [(0, 4), (8, 4), (0, 4), (4, 8), (4, 8), (0, 8)]
        for (sent, wanted) in steps {
            let ready = try n2.stepAndTakeReady(Self.chunk(sent))
            #expect(ready == .expect(messages: Self.wants(UInt64(wanted))), "after the chunk at \(sent)")
            #expect(n2.incomingSnapshot?.data == Array(data[..<wanted]))
            #expect(n2.incomingSnapshot?.leader == "n1")
        }
        let last = try n2.stepAndTakeReady(Self.chunk(8))
        #expect(
            last
                == Ready.expect(
                    messages: [envelope("n2", "n1", 2, .snapshotInstalled(index: 5, match: 5))],
                    events: [.receivedSnapshot(index: LogIndex(5))]
                ).installing(Self.snapshot))
        #expect(last.snapshotToInstall?.data == data, "exactly the leader's bytes")
        #expect(n2.snapshot == Self.snapshot)
        #expect(n2.incomingSnapshot == nil)
        #expect(n2.log.snapshotIndex == LogIndex(5))
        #expect(n2.log.committed == LogIndex(5))
        #expect(n2.log.applied == LogIndex(5))
    }

    @Test("Figure 13, persist before send: the snapshot comes in the same Ready as the installed answer")
    func snapshotAndAnswerInOneReady() throws {
        var n2 = try makeSnapshotFollower(terms: [1, 1])
        for offset in [0, 4] {
            let ready = try n2.stepAndTakeReady(Self.chunk(offset))
            #expect(ready.snapshotToInstall == nil)
            #expect(!ready.mustSync, "partial chunks are held in memory; nothing to persist yet")
        }
        let last = try n2.stepAndTakeReady(Self.chunk(8))
        #expect(last.snapshotToInstall == Self.snapshot)
        #expect(last.mustSync)
        #expect(last.messages == [envelope("n2", "n1", 2, .snapshotInstalled(index: 5, match: 5))])
        #expect(last.events == [.receivedSnapshot(index: LogIndex(5))])
        #expect(!n2.hasReady, "the snapshot is handed out once")
    }

    struct RuleCase: Sendable, CustomTestStringConvertible {
        var name: String
        var index: UInt64
        var term: UInt64
        /// Terms of the entries expected after the snapshot, from `index + 1`.
        var kept: [UInt64]
        var testDescription: String { name }
    }

    @Test(
        "Figure 13 rules 6-7: an installed snapshot keeps the entries after a matching last entry",
        arguments: [
            RuleCase(name: "rule 6: i4@t2 matches: i5, i6 stay", index: 4, term: 2, kept: [2, 2]),
            RuleCase(name: "rule 6: matches the last entry", index: 6, term: 2, kept: []),
            RuleCase(name: "rule 7: i4 has another term: the log goes", index: 4, term: 3, kept: []),
            RuleCase(name: "rule 7: past the log's end: the log goes", index: 8, term: 3, kept: []),
        ])
    func figure13Rules(_ c: RuleCase) throws {
        var n2 = try makeSnapshotFollower(terms: [1, 1, 2, 2, 2, 2], term: 3)
        let snapshot = makeSnapshot(index: c.index, term: c.term, data: snapshotBytes(3))
        let ready = try n2.stepAndTakeReady(envelope("n1", "n2", 3, .snapshotChunk(snapshot, offset: 0)))
        #expect(
            ready
                == Ready.expect(
                    messages: [envelope("n2", "n1", 3, .snapshotInstalled(index: c.index, match: c.index))],
                    events: [.receivedSnapshot(index: LogIndex(c.index))]
                ).installing(snapshot))
        #expect(n2.log.snapshotIndex == LogIndex(c.index))
        #expect(n2.log.entries == makeEntries(from: c.index + 1, terms: c.kept))
        #expect(n2.log.applied == LogIndex(c.index))
    }

    @Test(
        "§7: a chunk from another leader starts the transfer over from byte 0",
        arguments: [2, 3] as [UInt64])
    func otherLeaderStartsOver(term: UInt64) throws {
        var n2 = try makeSnapshotFollower(terms: [1], term: 2)
        #expect(try n2.stepAndTakeReady(Self.chunk(0)).messages == Self.wants(4))
        // n3 leads now (in t3; or in t2, which only a broken cluster does) and continues at byte 4.
        let continued = try n2.stepAndTakeReady(Self.chunk(4, from: "n3", term: term))
        #expect(continued.messages == Self.wants(0, to: "n3", term: term))
        #expect(n2.incomingSnapshot == nil)
        let fresh = try n2.stepAndTakeReady(Self.chunk(0, from: "n3", term: term))
        #expect(fresh.messages == Self.wants(4, to: "n3", term: term))
        #expect(n2.incomingSnapshot?.leader == "n3")
        #expect(n2.incomingSnapshot?.data == Array(Self.snapshot.data[..<4]))
    }

    struct OtherSnapshot: Sendable, CustomTestStringConvertible {
        var name: String
        var index: UInt64
        var term: UInt64
        var size: Int
        var testDescription: String { name }
    }

    @Test(
        "§7: a chunk of another snapshot starts the transfer over from byte 0, never mixing bytes",
        arguments: [
            OtherSnapshot(name: "a later index", index: 6, term: 1, size: 10),
            OtherSnapshot(name: "the same index in another term", index: 5, term: 2, size: 10),
            OtherSnapshot(name: "the same index and term, another size", index: 5, term: 1, size: 12),
        ])
    func otherSnapshotStartsOver(_ c: OtherSnapshot) throws {
        var n2 = try makeSnapshotFollower(terms: [1], term: 2)
        let other = makeSnapshot(index: c.index, term: c.term, data: snapshotBytes(c.size, first: 50))
        #expect(try n2.stepAndTakeReady(Self.chunk(0)).messages == Self.wants(4))
        #expect(try n2.stepAndTakeReady(Self.chunk(4, of: other)).messages == Self.wants(0, index: c.index))
        #expect(n2.incomingSnapshot == nil)
        var installed: Snapshot?
        for offset in chunkOffsets(of: other.data, chunkBytes: 4) {
            installed = try n2.stepAndTakeReady(Self.chunk(offset, of: other)).snapshotToInstall
        }
        #expect(installed == other)
        #expect(n2.snapshot == other)
    }

    @Test("§5.1, §7: a new term drops a half-received snapshot; the old leader's chunks are ignored")
    func newTermDropsIncomingSnapshot() throws {
        var n2 = try makeSnapshotFollower(terms: [1], term: 2)
        _ = try n2.stepAndTakeReady(Self.chunk(0))
        #expect(n2.incomingSnapshot != nil)
        _ = try n2.stepAndTakeReady(envelope("n1", "n2", 3, .beat()))
        #expect(n2.term == Term(3))
        #expect(n2.incomingSnapshot == nil)
        n2.step(Self.chunk(4, term: 2))
        #expect(n2.takeReady() == nil, "a chunk of the old term gets no answer")
        let ready = try n2.stepAndTakeReady(Self.chunk(4, term: 3))
        #expect(ready.messages == Self.wants(0, term: 3))
    }

    struct StaleCase: Sendable, CustomTestStringConvertible {
        var index: UInt64
        var size: Int
        var testDescription: String { "snapshot at i\(index), \(size) bytes" }
    }

    @Test(
        "§7: a snapshot at or below the commit index is never installed; the answer is the commit",
        arguments: [
            StaleCase(index: 3, size: 3), StaleCase(index: 5, size: 3), StaleCase(index: 5, size: 10),
        ])
    func snapshotAtOrBelowCommitIsNotInstalled(_ c: StaleCase) throws {
        var n2 = try makeSnapshotFollower(terms: [1, 1, 1, 1, 1, 1], term: 2, committed: 5)
        let stale = makeSnapshot(index: c.index, term: 1, data: snapshotBytes(c.size))
        let ready = try n2.stepAndTakeReady(Self.chunk(0, of: stale))
        #expect(
            ready
                == .expect(messages: [envelope("n2", "n1", 2, .snapshotInstalled(index: c.index, match: 5))]))
        #expect(n2.snapshot == nil)
        #expect(n2.incomingSnapshot == nil)
        #expect(n2.log.snapshotIndex == .zero)
        #expect(n2.log.lastIndex == LogIndex(6))
        #expect(n2.log.applied == LogIndex(5))
    }

    @Test("§7: a commit index that passes the snapshot mid-transfer cancels the install")
    func commitPassingSnapshotCancelsInstall() throws {
        var n2 = try makeSnapshotFollower(terms: [1, 1, 1, 1, 1, 1], term: 2)
        #expect(try n2.stepAndTakeReady(Self.chunk(0)).messages == Self.wants(4))
        _ = try n2.stepAndTakeReady(envelope("n1", "n2", 2, .beat(commit: 6)))
        #expect(n2.log.applied == LogIndex(6))
        let ready = try n2.stepAndTakeReady(Self.chunk(4))
        #expect(ready == .expect(messages: [envelope("n2", "n1", 2, .snapshotInstalled(index: 5, match: 6))]))
        #expect(n2.incomingSnapshot == nil)
        #expect(n2.snapshot == nil)
        #expect(n2.log.applied == LogIndex(6))
    }

    struct FaultCase: Sendable, CustomTestStringConvertible {
        var fault: TestingFault?
        var installed: [UInt8]
        var testDescription: String { fault.map { "with \($0)" } ?? "correct core" }
    }

    @Test(
        "negative control: only .ignoreSnapshotChunkOffsets lets a duplicated chunk corrupt the snapshot",
        arguments: [
            FaultCase(fault: nil, installed: snapshotBytes(10)),
            FaultCase(fault: .ignoreSnapshotChunkOffsets, installed: [0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7]),
        ])
    func duplicatedChunkUnderFault(_ c: FaultCase) throws {
        var n2 = try makeSnapshotFollower(terms: [1], term: 2, testingFault: c.fault)
        var installed: [Snapshot] = []
        for offset in [0, 0, 4, 8] {  // the first chunk arrives twice
            if let snapshot = try n2.stepAndTakeReady(Self.chunk(offset)).snapshotToInstall {
                installed.append(snapshot)
            }
        }
        #expect(installed.map(\.data) == [c.installed])
        #expect(installed.map(\.metadata) == [Self.snapshot.metadata])
    }
}
