/// `POST /join`: the hraftd example's body, `{"id": ..., "addr": ...}` where `addr` is the Raft
/// address, plus an optional `haddr` (the HTTP address), which `keyvald -join` always sends so every
/// node can name the leader's HTTP address, and an optional `cluster_id`: the cluster the joining
/// node's data belongs to, so a node of another cluster is refused rather than mixed in.
public struct JoinRequest: Codable, Sendable, Equatable {
    public var id: String
    public var addr: String
    public var haddr: String?
    public var clusterID: String?

    public init(id: String, addr: String, haddr: String? = nil, clusterID: String? = nil) {
        self.id = id
        self.addr = addr
        self.haddr = haddr
        self.clusterID = clusterID
    }

    enum CodingKeys: String, CodingKey {
        case id, addr, haddr
        case clusterID = "cluster_id"
    }
}
