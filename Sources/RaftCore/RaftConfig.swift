/// How one node's core behaves. Time is counted in ticks; the shell decides how long a tick is.
public struct RaftConfig: Sendable {
    public var id: NodeID
    /// A follower that hears nothing from a leader for a random time in
    /// `electionTicks ..< 2 * electionTicks` starts an election (§5.2).
    public var electionTicks: Int
    /// The leader sends a heartbeat every `heartbeatTicks`; must be well below `electionTicks`.
    public var heartbeatTicks: Int
    /// Ask for pre-votes before starting a real election (thesis §9.6).
    public var preVote: Bool
    /// Every `electionTicks` a leader checks that it heard from a quorum since the last check, and
    /// steps down if not (so after `electionTicks ..< 2 * electionTicks` of silence); a node that
    /// heard from a leader within `electionTicks` refuses to vote (thesis §6.2, §9.6).
    public var checkQuorum: Bool
    /// Upper bound on the entry bytes in one AppendEntries (at least one entry is always sent).
    public var maxAppendBytes: Int
    /// Unacknowledged AppendEntries allowed in flight to one follower.
    public var maxInflightAppends: Int
    /// Bytes of snapshot data in one InstallSnapshot chunk.
    public var maxSnapshotChunkBytes: Int
    /// Seeds the election-timeout jitter. Production passes a random value; tests a scenario seed.
    public var randomSeed: UInt64
    /// Deliberately breaks the algorithm, so tests can prove the simulation catches it. Never set in production.
    public var testingFault: TestingFault?

    public init(
        id: NodeID, electionTicks: Int = 10, heartbeatTicks: Int = 1, preVote: Bool = true,
        checkQuorum: Bool = true, maxAppendBytes: Int = 1 << 20, maxInflightAppends: Int = 64,
        maxSnapshotChunkBytes: Int = 1 << 20, randomSeed: UInt64, testingFault: TestingFault? = nil
    ) {
        precondition(
            heartbeatTicks >= 1 && electionTicks > heartbeatTicks, "need 1 <= heartbeat < election ticks")
        precondition(
            maxInflightAppends >= 1 && maxAppendBytes >= 1 && maxSnapshotChunkBytes >= 1,
            "replication limits must be positive")
        self.id = id
        self.electionTicks = electionTicks
        self.heartbeatTicks = heartbeatTicks
        self.preVote = preVote
        self.checkQuorum = checkQuorum
        self.maxAppendBytes = maxAppendBytes
        self.maxInflightAppends = maxInflightAppends
        self.maxSnapshotChunkBytes = maxSnapshotChunkBytes
        self.randomSeed = randomSeed
        self.testingFault = testingFault
    }
}

/// Known-wrong variants of the algorithm, selected only by tests (the simulation's negative controls).
public enum TestingFault: String, Sendable, CaseIterable {
    /// Commit an entry of an earlier term by counting its replicas: the Figure 8 bug (§5.4.2).
    case commitEarlierTermByCounting
    /// Treat one node as a quorum: commits and elections without a majority.
    case quorumOfOne
    /// Serve reads at once, without confirming leadership or waiting for the apply index (thesis §6.4).
    case readWithoutReadIndex
    /// Append every snapshot chunk received, whatever its offset: a lost chunk corrupts the snapshot.
    case ignoreSnapshotChunkOffsets
    /// Accept a membership change while another is uncommitted, or before the leader committed an
    /// entry of its term: two single-server changes in flight can leave two disjoint majorities
    /// (thesis §4.1; the 2015 single-server bug).
    case allowConcurrentMembershipChanges
}
