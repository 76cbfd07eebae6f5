import RaftCore
import Testing

// The leader's side of snapshot transfer (Raft §7, Figure 13): InstallSnapshot in chunks, one at a
// time, resumed at the follower's offset, resent when lost, restarted for a newer snapshot.
//
// Most tests start from `TestCluster.withCutOffFollower`: n1 leads in t1 with 4-byte chunks, its
// snapshot is at i5 (log compacted through i5, entries i6..i7 after it), and n3 holds only i1.

@Suite("Snapshots: the leader sends its snapshot")
struct SnapshotLeaderTests {
    @Test("§7: a leader that compacted past a follower's next index sends its snapshot, one chunk at a time")
    func sendsSnapshotInsteadOfEntries() throws {
        let scenario = try TestCluster.withCutOffFollower(data: snapshotBytes(10))
        var cluster = scenario.cluster
        let snapshot = scenario.snapshot
        #expect(
            snapshot.metadata
                == SnapshotMetadata(
                    index: LogIndex(5), term: Term(1), configuration: ClusterConfiguration(voters: three)))
        #expect(cluster["n1"].log.snapshotIndex == LogIndex(5))
        #expect(cluster["n1"].progress(of: "n3")?.next == LogIndex(2), "n3 needs i2, compacted away")

        cluster.expectReady(
            "n1",
            .expect(
                messages: [envelope("n1", "n3", 1, .snapshotChunk(snapshot, offset: 0))],
                events: [.sendingSnapshot(to: "n3", index: LogIndex(5))]))
        #expect(cluster["n1"].progressState(of: "n3") == .snapshotTransfer(5, offset: 0, awaiting: true))
        // While that chunk is unanswered nothing more goes to n3: no second chunk, no append.
        cluster.expectReady("n1", nil)
        #expect(cluster["n1"].progressState(of: "n2") == .replicate(inflight: []), "n2 is unaffected")
    }

    @Test(
        "§7: each answer moves the offset on and brings the next chunk of at most maxSnapshotChunkBytes",
        arguments: [0, 1, 4, 9, 12])
    func chunkByChunk(size: Int) throws {
        let data = snapshotBytes(size, first: 100)
        let scenario = try TestCluster.withCutOffFollower(data: data)
        var cluster = scenario.cluster
        let snapshot = scenario.snapshot
        let offsets = chunkOffsets(of: data, chunkBytes: 4)
        var sent: [InstallSnapshot] = []
        for (k, offset) in offsets.enumerated() {
            let ready = try cluster.requireCollect("n1")
            #expect(ready.messages == [envelope("n1", "n3", 1, .snapshotChunk(snapshot, offset: offset))])
            sent += ready.messages.compactMap(\.installSnapshot)
            #expect(
                cluster["n1"].progressState(of: "n3")
                    == .snapshotTransfer(5, offset: UInt64(offset), awaiting: true))
            cluster.deliverAll()

            let answer = try cluster.requireCollect("n3")
            cluster.deliverAll()
            if k == offsets.count - 1 {
                #expect(answer.messages == [envelope("n3", "n1", 1, .snapshotInstalled(index: 5, match: 5))])
            } else {
                let next = UInt64(offsets[k + 1])
                #expect(
                    answer.messages == [envelope("n3", "n1", 1, .snapshotReceiving(index: 5, next: next))])
                #expect(
                    cluster["n1"].progressState(of: "n3")
                        == .snapshotTransfer(5, offset: next, awaiting: false))
            }
        }
        #expect(sent.allSatisfy { $0.chunk.count <= 4 && $0.totalBytes == UInt64(size) })
        #expect(sent.flatMap(\.chunk) == data)
        #expect(cluster["n3"].snapshot == snapshot)
    }

    enum Loss: String, Sendable, CaseIterable, CustomTestStringConvertible {
        case chunk, answer
        var testDescription: String { "lost \(rawValue)" }
    }

    @Test(
        "§7: a lost chunk, or its lost answer, is sent again after two heartbeat rounds without an answer",
        arguments: Loss.allCases)
    func lostChunkIsResent(loss: Loss) throws {
        let scenario = try TestCluster.withCutOffFollower(data: snapshotBytes(10))
        var cluster = scenario.cluster
        let snapshot = scenario.snapshot
        let second = [envelope("n1", "n3", 1, .snapshotChunk(snapshot, offset: 4))]
        // The first chunk arrives and is answered; the second, or n3's answer to it, is lost.
        _ = try cluster.requireCollect("n1")
        cluster.deliverAll()
        _ = try cluster.requireCollect("n3")
        cluster.deliverAll()
        #expect(try cluster.requireCollect("n1").messages == second)
        if loss == .answer {
            cluster.deliverAll()
            #expect(try cluster.requireCollect("n3").messages.first?.installSnapshotResponse != nil)
        }
        cluster.inFlight.removeAll()
        #expect(cluster["n1"].progressState(of: "n3") == .snapshotTransfer(5, offset: 4, awaiting: true))

        for round in 1...2 {
            cluster["n1"].tick()
            #expect(try cluster.requireCollect("n1").messages.allSatisfy(\.isHeartbeat))
            cluster.deliverAll()
            _ = try cluster.requireCollect("n2")
            _ = try cluster.requireCollect("n3")
            cluster.deliverAll()
            if round == 1 {
                cluster.expectReady("n1", nil)  // one silent round may be a slow follower
            }
        }
        cluster.expectReady("n1", .expect(messages: second))

        cluster.settle()
        #expect(cluster["n3"].snapshot == snapshot, "the bytes arrive intact whichever message was lost")
        #expect(cluster["n3"].log.applied == LogIndex(7))
    }

    @Test("§7: installed(matchIndex:) makes the follower replicate from after the match; the tail follows")
    func installedResumesReplication() throws {
        let scenario = try TestCluster.withCutOffFollower(data: snapshotBytes(6))
        var cluster = scenario.cluster
        let snapshot = scenario.snapshot
        cluster.run(until: { $0["n3"].snapshot != nil })
        cluster.expectReady(
            "n3",
            Ready.expect(
                messages: [envelope("n3", "n1", 1, .snapshotInstalled(index: 5, match: 5))],
                events: [.receivedSnapshot(index: LogIndex(5))]
            ).installing(snapshot))
        cluster.deliverAll()
        let progress = try #require(cluster["n1"].progress(of: "n3"))
        #expect(progress.match == LogIndex(5))
        #expect(progress.next == LogIndex(6))
        #expect(progress.state == .replicate(inflight: []))

        let tail = cluster["n1"].log.entries
        #expect(tail.map(\.index) == [LogIndex(6), LogIndex(7)])
        cluster.expectReady(
            "n1",
            .expect(
                messages: [envelope("n1", "n3", 1, .append(prev: 5, prevTerm: 1, tail, commit: 7))],
                events: [.snapshotDelivered(to: "n3", index: LogIndex(5))]))
        cluster.deliverAll()
        cluster.expectReady(
            "n3", .expect(append: tail, messages: [envelope("n3", "n1", 1, .appendOK(match: 7))], apply: tail)
        )
        #expect(cluster["n3"].log.applied == LogIndex(7))
    }

    @Test("§7: a newer snapshot taken mid-transfer restarts the transfer with it from byte 0")
    func newerSnapshotRestartsTransfer() throws {
        let scenario = try TestCluster.withCutOffFollower(data: snapshotBytes(10))
        var cluster = scenario.cluster
        _ = try cluster.requireCollect("n1")
        cluster.deliverAll()
        #expect(
            try cluster.requireCollect("n3").messages
                == [envelope("n3", "n1", 1, .snapshotReceiving(index: 5, next: 4))])
        // Before n3's answer arrives, n1 snapshots again, at i7.
        let newer = try cluster["n1"].takeSnapshot(at: 7, data: snapshotBytes(6, first: 200))
        cluster.deliverAll()
        cluster.expectReady(
            "n1",
            .expect(
                messages: [envelope("n1", "n3", 1, .snapshotChunk(newer, offset: 0))],
                events: [.sendingSnapshot(to: "n3", index: LogIndex(7))]))
        #expect(cluster["n1"].progressState(of: "n3") == .snapshotTransfer(7, offset: 0, awaiting: true))

        cluster.settle()
        #expect(cluster["n3"].snapshot == newer)
        #expect(cluster.readies["n3", default: []].compactMap(\.snapshotToInstall) == [newer])
        #expect(cluster["n3"].log.applied == LogIndex(7))
        #expect(cluster["n1"].progress(of: "n3")?.match == LogIndex(7))
    }

    struct TailCase: Sendable, CustomTestStringConvertible {
        var compactingThrough: UInt64
        var sendsSnapshot: Bool
        var testDescription: String {
            "compacted through i\(compactingThrough): \(sendsSnapshot ? "snapshot" : "entries")"
        }
    }

    @Test(
        "§7: entries kept after the snapshot let a slightly lagging follower catch up from the log",
        arguments: [
            TailCase(compactingThrough: 3, sendsSnapshot: false),
            TailCase(compactingThrough: 5, sendsSnapshot: true),
        ])
    func lagWithinKeptTailUsesLog(_ c: TailCase) throws {
        // n3 holds i1..i3; the snapshot is at i5.
        let scenario = try TestCluster.withCutOffFollower(
            commandsBeforeCutOff: 2, commandsBeforeSnapshot: 2, data: snapshotBytes(10),
            compactingThrough: c.compactingThrough)
        var cluster = scenario.cluster
        #expect(scenario.snapshot.metadata.index == LogIndex(5))
        #expect(cluster["n1"].log.snapshotIndex == LogIndex(c.compactingThrough))
        #expect(cluster["n1"].progress(of: "n3")?.next == LogIndex(4))
        if c.sendsSnapshot {
            cluster.expectReady(
                "n1",
                .expect(
                    messages: [envelope("n1", "n3", 1, .snapshotChunk(scenario.snapshot, offset: 0))],
                    events: [.sendingSnapshot(to: "n3", index: LogIndex(5))]))
        } else {
            let missing = cluster["n1"].log.entries
            #expect(missing.map(\.index) == (4...7).map(LogIndex.init))
            cluster.expectReady(
                "n1",
                .expect(messages: [envelope("n1", "n3", 1, .append(prev: 3, prevTerm: 1, missing, commit: 7))]
                ))
        }
        cluster.settle()
        #expect(cluster["n3"].log.applied == LogIndex(7))
        #expect((cluster["n3"].snapshot != nil) == c.sendsSnapshot)
    }

    @Test("§7: a follower that already has what the snapshot covers ends the transfer at its commit")
    func installedAboveSnapshotIndex() throws {
        let scenario = try TestCluster.withCutOffFollower(data: snapshotBytes(10))
        var cluster = scenario.cluster
        _ = try cluster.requireCollect("n1")
        cluster.inFlight.removeAll()
        // Meanwhile n3 learned i1..i7 (say from an earlier leader's appends) and committed them.
        cluster["n1"].step(envelope("n3", "n1", 1, .snapshotInstalled(index: 5, match: 7)))
        let progress = try #require(cluster["n1"].progress(of: "n3"))
        #expect(progress.match == LogIndex(7))
        #expect(progress.next == LogIndex(8))
        #expect(progress.state == .replicate(inflight: []))
        cluster.expectReady("n1", .expect(events: [.snapshotDelivered(to: "n3", index: LogIndex(5))]))
    }
}
