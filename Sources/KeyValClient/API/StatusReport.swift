/// `GET /status`: what one node knows about itself and the cluster. The field names are part of the
/// API: the CLI, the load tool, test harnesses and `../shared/bench` read them.
public struct StatusReport: Codable, Sendable, Equatable {
    /// A cluster member as the API names it.
    public struct Member: Codable, Sendable, Equatable {
        public var id: String
        /// HTTP address (`-haddr`); empty when the member never told it (a node added by a bare
        /// `{"id", "addr"}` join).
        public var haddr: String
        /// Raft address (`-raddr`).
        public var raddr: String
        public var voter: Bool
        /// A learner the leader will make a voter once it has caught up (a joining node).
        public var promoting: Bool
        /// On the leader only: the highest log index known to be stored on this member.
        public var matchIndex: UInt64?
        /// On the leader only: how many entries this member is behind the leader's last index.
        public var lag: UInt64?
        /// On the leader only: whether this member answered within the last election timeout.
        public var reachable: Bool?

        public init(
            id: String, haddr: String, raddr: String, voter: Bool, promoting: Bool = false,
            matchIndex: UInt64? = nil, lag: UInt64? = nil, reachable: Bool? = nil
        ) {
            self.reachable = reachable
            self.id = id
            self.haddr = haddr
            self.raddr = raddr
            self.voter = voter
            self.promoting = promoting
            self.matchIndex = matchIndex
            self.lag = lag
        }

        enum CodingKeys: String, CodingKey {
            case id, haddr, raddr, voter, promoting
            case matchIndex = "match_index"
            case lag, reachable
        }
    }

    /// The leader as the API names it: enough to reach it over HTTP or Raft.
    public struct Leader: Codable, Sendable, Equatable {
        public var id: String
        public var haddr: String
        public var raddr: String

        public init(id: String, haddr: String, raddr: String) {
            self.id = id
            self.haddr = haddr
            self.raddr = raddr
        }
    }

    public var id: String
    /// `"leader"`, `"follower"`, `"candidate"` (also while pre-voting) or `"learner"`.
    public var role: String
    public var term: UInt64
    public var leader: Leader?
    public var commitIndex: UInt64
    public var appliedIndex: UInt64
    public var lastIndex: UInt64
    public var snapshotIndex: UInt64
    /// Hex; the same on every member of one cluster.
    public var clusterID: String
    public var members: [Member]
    /// The index of the entry that made the configuration in effect, and whether it is committed
    /// (another membership change can start only once it is).
    public var configurationIndex: UInt64
    public var configurationCommitted: Bool

    /// The voters' and the learners' ids, from `members`.
    public var voters: [String] { members.filter(\.voter).map(\.id) }
    public var learners: [String] { members.filter { !$0.voter }.map(\.id) }

    public init(
        id: String, role: String, term: UInt64, leader: Leader?, commitIndex: UInt64, appliedIndex: UInt64,
        lastIndex: UInt64, snapshotIndex: UInt64, clusterID: String, members: [Member],
        configurationIndex: UInt64 = 0, configurationCommitted: Bool = true
    ) {
        self.configurationIndex = configurationIndex
        self.configurationCommitted = configurationCommitted
        self.id = id
        self.role = role
        self.term = term
        self.leader = leader
        self.commitIndex = commitIndex
        self.appliedIndex = appliedIndex
        self.lastIndex = lastIndex
        self.snapshotIndex = snapshotIndex
        self.clusterID = clusterID
        self.members = members
    }

    /// Written out only so that an unknown leader is `"leader": null` rather than left out (the
    /// synthesized encoder omits nil): readers see "no leader" stated, not a missing field.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(role, forKey: .role)
        try container.encode(term, forKey: .term)
        try container.encode(leader, forKey: .leader)
        try container.encode(commitIndex, forKey: .commitIndex)
        try container.encode(appliedIndex, forKey: .appliedIndex)
        try container.encode(lastIndex, forKey: .lastIndex)
        try container.encode(snapshotIndex, forKey: .snapshotIndex)
        try container.encode(clusterID, forKey: .clusterID)
        try container.encode(members, forKey: .members)
        try container.encode(voters, forKey: .voters)
        try container.encode(learners, forKey: .learners)
        try container.encode(configurationIndex, forKey: .configurationIndex)
        try container.encode(configurationCommitted, forKey: .configurationCommitted)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        role = try container.decode(String.self, forKey: .role)
        term = try container.decode(UInt64.self, forKey: .term)
        leader = try container.decodeIfPresent(Leader.self, forKey: .leader)
        commitIndex = try container.decode(UInt64.self, forKey: .commitIndex)
        appliedIndex = try container.decode(UInt64.self, forKey: .appliedIndex)
        lastIndex = try container.decode(UInt64.self, forKey: .lastIndex)
        snapshotIndex = try container.decode(UInt64.self, forKey: .snapshotIndex)
        clusterID = try container.decode(String.self, forKey: .clusterID)
        members = try container.decode([Member].self, forKey: .members)
        configurationIndex = try container.decode(UInt64.self, forKey: .configurationIndex)
        configurationCommitted = try container.decode(Bool.self, forKey: .configurationCommitted)
    }

    enum CodingKeys: String, CodingKey {
        case id, role, term, leader
        case commitIndex = "commit_index"
        case appliedIndex = "applied_index"
        case lastIndex = "last_index"
        case snapshotIndex = "snapshot_index"
        case clusterID = "cluster_id"
        case members, voters, learners
        case configurationIndex = "configuration_index"
        case configurationCommitted = "configuration_committed"
    }
}
