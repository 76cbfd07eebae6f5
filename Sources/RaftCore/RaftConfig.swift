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
    /// Negative controls: deliberately broken variants of the algorithm, so tests can prove the
    /// simulation catches each one. Empty in production. Each is checked in one place, through a
    /// property of `RaftCore+NegativeControls.swift`: a bit test, no string or enum compares.
    public var negativeControls: NegativeControls

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
        self.negativeControls = testingFault?.control ?? []
    }
}

/// Known-wrong variants of the algorithm, by name: what `raft-sim --fault <name>` and the
/// simulation's negative-control tests select (`RaftConfig(testingFault:)`). Each names one bit of
/// `NegativeControls`.
public enum TestingFault: String, Sendable, CaseIterable {
    /// Commit an entry of an earlier term by counting its replicas: the Figure 8 bug (§5.4.2).
    case commitEarlierTermByCounting
    /// Treat one node as a quorum: commits and elections without a majority.
    case quorumOfOne
    /// Serve reads at once, without confirming leadership or waiting for the apply index (thesis §6.4).
    case readWithoutReadIndex
    /// A follower serves a read at its own commit index, without asking the leader for a read
    /// index: a follower that is behind, or cut off from a newer leader, answers stale (thesis §6.4).
    case followerReadWithoutReadIndex
    /// A follower asks the leader for a read index but serves as soon as the answer comes, without
    /// waiting until it has applied that index (thesis §6.4).
    case followerReadBeforeApply
    /// Append every snapshot chunk received, whatever its offset: a lost chunk corrupts the snapshot.
    case ignoreSnapshotChunkOffsets
    /// Accept a membership change while another is uncommitted, or before the leader committed an
    /// entry of its term: two single-server changes in flight can leave two disjoint majorities
    /// (thesis §4.1; the 2015 single-server bug).
    case allowConcurrentMembershipChanges
    /// Let every node, not only a leader, send before its write is durable: a follower's
    /// acknowledgement or a vote then speaks of state a crash can take back (Figure 2, "persistent
    /// state").
    case everyNodeSendsBeforePersisting

    /// The negative control this name selects.
    public var control: NegativeControls {
        switch self {
        case .commitEarlierTermByCounting: .commitEarlierTermByCounting
        case .quorumOfOne: .quorumOfOne
        case .readWithoutReadIndex: .readWithoutReadIndex
        case .followerReadWithoutReadIndex: .followerReadWithoutReadIndex
        case .followerReadBeforeApply: .followerReadBeforeApply
        case .ignoreSnapshotChunkOffsets: .ignoreSnapshotChunkOffsets
        case .allowConcurrentMembershipChanges: .allowConcurrentMembershipChanges
        case .everyNodeSendsBeforePersisting: .everyNodeSendsBeforePersisting
        }
    }
}

/// The set of negative controls a core runs with (see `TestingFault` for what each breaks). Empty
/// in production, where every check of one is a test of a bit that is never set.
public struct NegativeControls: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let commitEarlierTermByCounting = NegativeControls(rawValue: 1 << 0)
    public static let quorumOfOne = NegativeControls(rawValue: 1 << 1)
    public static let readWithoutReadIndex = NegativeControls(rawValue: 1 << 2)
    public static let ignoreSnapshotChunkOffsets = NegativeControls(rawValue: 1 << 3)
    public static let allowConcurrentMembershipChanges = NegativeControls(rawValue: 1 << 4)
    public static let everyNodeSendsBeforePersisting = NegativeControls(rawValue: 1 << 5)
    public static let followerReadWithoutReadIndex = NegativeControls(rawValue: 1 << 6)
    public static let followerReadBeforeApply = NegativeControls(rawValue: 1 << 7)
}
