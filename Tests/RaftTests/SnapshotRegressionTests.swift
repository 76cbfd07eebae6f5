import RaftCore
import Testing

/// Rough edges found in review of the snapshot code, each pinned so it stays fixed.
@Suite("Snapshots: regressions")
struct SnapshotRegressionTests {
    @Test("a snapshot installed between takeReady and advance does not trip advance's apply mark")
    func installBetweenTakeAndAdvance() throws {
        var n2 = try makeSnapshotFollower(terms: [1, 1, 1], term: 2, committed: 0)
        n2.step(envelope("n1", "n2", 2, .beat(commit: 3)))
        let taken = n2.takeReady()  // not advanced yet: the snapshot arrives in between
        let ready = try #require(taken)
        #expect(ready.entriesToApply.map(\.index) == [LogIndex(1), LogIndex(2), LogIndex(3)])
        let snapshot = makeSnapshot(index: 5, term: 1, data: [1, 2, 3])
        n2.step(envelope("n1", "n2", 2, .snapshotChunk(snapshot, offset: 0, size: 16)))
        n2.advance(ready)
        #expect(n2.log.applied == LogIndex(5))
        #expect(n2.log.committed == LogIndex(5))
    }

    @Test("a late append acknowledgement does not restart a snapshot transfer from byte 0")
    func lateAcknowledgementKeepsTransfer() throws {
        var (cluster, snapshot) = try TestCluster.withCutOffFollower(data: Array(0..<12))
        // Run until n1 is sending n3 the snapshot, with its first chunk out.
        for _ in 0..<10 {
            if case .snapshot(_, _, true) = cluster["n1"].progressState(of: "n3") { break }
            cluster.collectAll()
            cluster.deliverAll()
        }
        guard case .snapshot(let index, let offset, true) = cluster["n1"].progressState(of: "n3") else {
            Issue.record("n1 never started sending n3 its snapshot")
            return
        }
        #expect(index == snapshot.metadata.index)
        // An answer to an append sent long before the transfer arrives late.
        let term = cluster["n1"].term.value
        cluster["n1"].step(
            envelope(
                "n3", "n1", term,
                .appendEntriesResponse(AppendEntriesResponse(.accepted(matchIndex: LogIndex(1))))))
        #expect(
            cluster["n1"].progressState(of: "n3")
                == .snapshot(index: index, offset: offset, awaitingResponse: true))
        let restarted = (cluster.collect("n1")?.events ?? []).contains {
            if case .sendingSnapshot = $0 { return true }
            return false
        }
        #expect(!restarted, "the transfer started over")
        _ = snapshot
    }
}
