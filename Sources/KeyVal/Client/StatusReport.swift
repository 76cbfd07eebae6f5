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
        /// On the leader only: the highest log index known to be stored on this member.
        public var matchIndex: UInt64?
        /// On the leader only: how many entries this member is behind the leader's last index.
        public var lag: UInt64?

        public init(
            id: String, haddr: String, raddr: String, voter: Bool, matchIndex: UInt64? = nil,
            lag: UInt64? = nil
        ) {
            self.id = id
            self.haddr = haddr
            self.raddr = raddr
            self.voter = voter
            self.matchIndex = matchIndex
            self.lag = lag
        }

        enum CodingKeys: String, CodingKey {
            case id, haddr, raddr, voter
            case matchIndex = "match_index"
            case lag
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

    public init(
        id: String, role: String, term: UInt64, leader: Leader?, commitIndex: UInt64, appliedIndex: UInt64,
        lastIndex: UInt64, snapshotIndex: UInt64, clusterID: String, members: [Member]
    ) {
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
    }

    enum CodingKeys: String, CodingKey {
        case id, role, term, leader
        case commitIndex = "commit_index"
        case appliedIndex = "applied_index"
        case lastIndex = "last_index"
        case snapshotIndex = "snapshot_index"
        case clusterID = "cluster_id"
        case members
    }
}
