import RaftCore
import Testing

// Helpers for snapshot tests (Raft §7, Figure 13): cores with a small snapshot chunk size, snapshots
// of known bytes, InstallSnapshot messages built and read by hand, and a cluster whose leader has
// compacted away entries a cut-off follower still needs.

/// A core like `makeCore`'s, with `chunkBytes` of snapshot per InstallSnapshot and, for a restart,
/// the snapshot its `log` starts after.
func makeSnapshotCore(
    _ id: NodeID, voters: [NodeID] = three, hardState: HardState = HardState(), log: RaftLog = RaftLog(),
    snapshot: Snapshot? = nil, chunkBytes: Int = 4, seed: UInt64 = 1, testingFault: TestingFault? = nil
) -> RaftCore {
    let config = RaftConfig(
        id: id, electionTicks: 10, heartbeatTicks: 1, maxSnapshotChunkBytes: chunkBytes, randomSeed: seed,
        testingFault: testingFault)
    return RaftCore(
        config: config, configuration: ClusterConfiguration(voters: voters), hardState: hardState, log: log,
        snapshot: snapshot)
}

/// `count` bytes `first, first + 1, …` (wrapping), standing for a state machine's snapshot.
func snapshotBytes(_ count: Int, first: UInt8 = 0) -> [UInt8] {
    (0..<count).map { first &+ UInt8(truncatingIfNeeded: $0) }
}

/// A snapshot at `index`@`term` of a cluster of `voters` holding `data`.
func makeSnapshot(index: UInt64, term: UInt64, voters: [NodeID] = three, data: [UInt8]) -> Snapshot {
    Snapshot(
        metadata: SnapshotMetadata(
            index: LogIndex(index), term: Term(term), configuration: ClusterConfiguration(voters: voters)),
        data: data)
}

/// Splits `data` the way a leader with `chunkBytes` does: consecutive chunks, at least one.
func chunkOffsets(of data: [UInt8], chunkBytes: Int) -> [Int] {
    data.isEmpty ? [0] : Array(stride(from: 0, to: data.count, by: chunkBytes))
}

extension Message {
    /// The InstallSnapshot chunk of `snapshot` starting at `offset`, at most `size` bytes.
    static func snapshotChunk(_ snapshot: Snapshot, offset: Int, size: Int = 4) -> Message {
        let end = min(offset + size, snapshot.data.count)
        return .installSnapshot(
            InstallSnapshot(
                metadata: snapshot.metadata, totalBytes: UInt64(snapshot.data.count), offset: UInt64(offset),
                chunk: Array(snapshot.data[offset..<end])))
    }

    /// "I hold the first `next` bytes of the snapshot at `index`."
    static func snapshotReceiving(index: UInt64, next: UInt64) -> Message {
        .installSnapshotResponse(
            InstallSnapshotResponse(snapshotIndex: LogIndex(index), result: .receiving(nextOffset: next)))
    }

    /// "My log matches through `match`" in answer to the snapshot at `index`.
    static func snapshotInstalled(index: UInt64, match: UInt64) -> Message {
        .installSnapshotResponse(
            InstallSnapshotResponse(
                snapshotIndex: LogIndex(index), result: .installed(matchIndex: LogIndex(match))))
    }
}

extension Envelope {
    var installSnapshot: InstallSnapshot? {
        if case .installSnapshot(let chunk) = message { return chunk }
        return nil
    }

    var installSnapshotResponse: InstallSnapshotResponse? {
        if case .installSnapshotResponse(let response) = message { return response }
        return nil
    }
}

extension Ready {
    /// This `Ready` with `snapshot` to install, for exact comparisons.
    func installing(_ snapshot: Snapshot) -> Ready {
        var ready = self
        ready.snapshotToInstall = snapshot
        return ready
    }
}

extension RaftCore {
    /// Snapshots the (imaginary) state machine at the applied index `index` as `data` and hands it
    /// to the core, compacting through `compactingThrough` (default: `index`), as a driver does.
    @discardableResult
    mutating func takeSnapshot(
        at index: UInt64, compactingThrough: UInt64? = nil, data: [UInt8],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> Snapshot {
        let metadata = try #require(
            snapshotMetadata(at: LogIndex(index)), "\(id) cannot snapshot at i\(index)",
            sourceLocation: sourceLocation)
        let snapshot = Snapshot(metadata: metadata, data: data)
        snapshotTaken(snapshot, compactingThrough: LogIndex(compactingThrough ?? index))
        return snapshot
    }

    /// The leader's replication state for `peer` (nil unless this node leads).
    func progressState(of peer: NodeID) -> Progress.State? { progress(of: peer)?.state }

    /// Steps `envelope`, then takes and advances the `Ready` it produced (recording an issue and
    /// throwing if there is none).
    mutating func stepAndTakeReady(
        _ envelope: Envelope, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> Ready {
        step(envelope)
        return try requireReady(sourceLocation: sourceLocation)
    }
}

extension Progress.State {
    /// `.snapshot(index:offset:awaitingResponse:)` with plain numbers.
    static func snapshotTransfer(_ index: UInt64, offset: UInt64, awaiting: Bool) -> Progress.State {
        .snapshot(index: LogIndex(index), offset: offset, awaitingResponse: awaiting)
    }
}

/// n2 following n1 in `term` (it has heard one heartbeat), with a recovered log of `terms` from i1
/// whose first `committed` entries are committed and applied, and no work pending.
func makeSnapshotFollower(
    terms: [UInt64] = [], term: UInt64 = 2, committed: UInt64 = 0, testingFault: TestingFault? = nil
) throws -> RaftCore {
    var n2 = makeSnapshotCore(
        "n2", hardState: HardState(term: Term(term)), log: makeLog(terms: terms), testingFault: testingFault)
    n2.step(envelope("n1", "n2", term, .beat(commit: committed)))
    _ = try n2.requireReady()
    #expect(n2.log.applied == LogIndex(committed))
    #expect(!n2.hasReady)
    return n2
}

extension TestCluster {
    /// Three nodes n1..n3 sending snapshots in chunks of `chunkBytes`; the k-th node is seeded k + 1.
    init(snapshotChunkBytes chunkBytes: Int, ids: [NodeID] = three) {
        self.init(
            ids.enumerated().map { k, id in
                makeSnapshotCore(id, voters: ids, chunkBytes: chunkBytes, seed: UInt64(k + 1))
            })
    }

    /// Proposes `count` commands on `leader` (data: the index's low byte); returns their indexes.
    @discardableResult
    mutating func proposeCommands(_ count: Int, on leader: NodeID) throws -> [LogIndex] {
        try (0..<count).map { _ in
            let next = self[leader].log.lastIndex.next
            return try self[leader].propose([UInt8(truncatingIfNeeded: next.value)])
        }
    }

    /// A cluster in which the leader has compacted away entries a follower needs (Raft §7):
    ///
    /// n1 leads n1..n3 in t1 (no-op at i1, committed everywhere). n3 stores the next
    /// `commandsBeforeCutOff` commands too, then is cut off while n1 and n2 commit
    /// `commandsBeforeSnapshot` more; n1 snapshots `data` at the last of them, compacting through
    /// `compactingThrough` (default: the snapshot index), and commits `commandsAfterSnapshot` more.
    /// Then n3 is reachable again and, with `reportUnreachable`, the transport reports it
    /// unreachable once, so n1 probes it from just after its match (without, n1 finds out from
    /// heartbeats). Nothing is in flight and no node has work.
    static func withCutOffFollower(
        chunkBytes: Int = 4, commandsBeforeCutOff: Int = 0, commandsBeforeSnapshot: Int = 4,
        data: [UInt8], compactingThrough: UInt64? = nil, commandsAfterSnapshot: Int = 2,
        reportUnreachable: Bool = true
    ) throws -> (cluster: TestCluster, snapshot: Snapshot) {
        var cluster = TestCluster(snapshotChunkBytes: chunkBytes)
        cluster.elect("n1")
        try cluster.proposeCommands(commandsBeforeCutOff, on: "n1")
        cluster.settle()
        cluster["n1"].tick()  // a heartbeat carries the commit index to the followers
        cluster.settle()

        cluster.isolated = ["n3"]
        try cluster.proposeCommands(commandsBeforeSnapshot, on: "n1")
        cluster.settle()
        let snapshotIndex = cluster["n1"].log.lastIndex.value
        #expect(cluster["n1"].log.applied == LogIndex(snapshotIndex))
        let snapshot = try cluster["n1"].takeSnapshot(
            at: snapshotIndex, compactingThrough: compactingThrough, data: data)
        try cluster.proposeCommands(commandsAfterSnapshot, on: "n1")
        cluster.settle()
        #expect(cluster["n1"].log.applied == cluster["n1"].log.lastIndex)

        cluster.isolated = []
        if reportUnreachable { cluster["n1"].reportUnreachable("n3") }
        #expect(cluster["n3"].log.lastIndex == LogIndex(1 + UInt64(commandsBeforeCutOff)))
        #expect(cluster.inFlight.isEmpty)
        return (cluster, snapshot)
    }
}
