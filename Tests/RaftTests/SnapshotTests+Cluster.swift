import RaftCore
import Testing

// Snapshots end to end on hand-driven three-node clusters (Raft §7): a follower catches up by
// snapshot and then by log, and a node restarted from a snapshot leads and brings empty nodes up.

@Suite("Snapshots: whole clusters")
struct SnapshotClusterTests {
    @Test("§7: a follower cut off while the leader compacted catches up by snapshot, then by log")
    func cutOffFollowerCatchesUp() throws {
        let data = snapshotBytes(10, first: 7)
        // No report from the transport: n1 notices from heartbeats that its appends to n3 were lost.
        let scenario = try TestCluster.withCutOffFollower(data: data, reportUnreachable: false)
        var cluster = scenario.cluster
        let snapshot = scenario.snapshot
        for _ in 0..<10 where cluster["n3"].log.applied < cluster["n1"].log.committed {
            cluster["n1"].tick()
            cluster.settle()
        }
        #expect(cluster["n1"].log.committed == LogIndex(7))
        #expect(cluster["n3"].log.applied == cluster["n1"].log.committed)

        // By snapshot: in chunks of at most 4 bytes, each sent once, together the leader's bytes.
        let chunks = cluster.delivered.compactMap(\.installSnapshot)
        #expect(chunks.allSatisfy { $0.chunk.count <= 4 && $0.metadata == snapshot.metadata })
        #expect(chunks.map(\.offset) == [0, 4, 8])
        #expect(chunks.flatMap(\.chunk) == data)
        let n1Events = cluster.readies["n1", default: []].flatMap(\.events)
        #expect(n1Events.contains(.sendingSnapshot(to: "n3", index: LogIndex(5))))
        #expect(n1Events.contains(.snapshotDelivered(to: "n3", index: LogIndex(5))))
        let n3Readies = cluster.readies["n3", default: []]
        #expect(n3Readies.flatMap(\.events).contains(.receivedSnapshot(index: LogIndex(5))))
        #expect(n3Readies.compactMap(\.snapshotToInstall) == [snapshot])

        // Then by log: n3 applied i1 before it was cut off, the snapshot, then i6..i7 one by one.
        let installAt = try #require(n3Readies.firstIndex { $0.snapshotToInstall != nil })
        #expect(n3Readies[..<installAt].flatMap(\.entriesToApply).map(\.index) == [LogIndex(1)])
        #expect(n3Readies[installAt...].flatMap(\.entriesToApply) == cluster["n1"].log.entries)
        #expect(cluster["n3"].log.snapshotIndex == LogIndex(5))
        #expect(cluster["n3"].log.entries == cluster["n1"].log.entries)
        #expect(cluster["n3"].snapshot == snapshot)

        // Replication carries on as usual.
        let index = try #require(try cluster.proposeCommands(1, on: "n1").first)
        cluster.settle()
        cluster["n1"].tick()
        cluster.settle()
        for id in three { #expect(cluster[id].log.applied == index, "\(id)") }
    }

    @Test("§7: a node restarted from a snapshot and a log tail leads and brings empty nodes up")
    func restartedLeaderSendsSnapshot() throws {
        let snapshot = makeSnapshot(index: 5, term: 1, data: snapshotBytes(10))
        let tail = [entry(6, 1), entry(7, 2), entry(8, 2)]
        let n1 = makeSnapshotCore(
            "n1", hardState: HardState(term: Term(2)),
            log: RaftLog(snapshotIndex: LogIndex(5), snapshotTerm: Term(1), entries: tail), snapshot: snapshot
        )
        var cluster = TestCluster([
            n1, makeSnapshotCore("n2", seed: 2), makeSnapshotCore("n3", seed: 3),
        ])
        cluster.elect("n1")
        #expect(cluster["n1"].term == Term(3))
        cluster["n1"].tick()  // a heartbeat carries the new commit index
        cluster.settle()

        let noop = entry(9, 3, .noop)
        for id: NodeID in ["n2", "n3"] {
            let readies = cluster.readies[id, default: []]
            #expect(readies.compactMap(\.snapshotToInstall) == [snapshot], "\(id)")
            #expect(readies.flatMap(\.entriesToApply) == tail + [noop], "\(id): nothing the snapshot covers")
            #expect(cluster[id].log.snapshotIndex == LogIndex(5), "\(id)")
        }
        for id in three { #expect(cluster[id].log.applied == LogIndex(9), "\(id)") }
    }
}
