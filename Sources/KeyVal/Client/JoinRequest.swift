/// `POST /join`: the hraftd example's body, `{"id": ..., "addr": ...}` where `addr` is the Raft
/// address, plus an optional `haddr` (the HTTP address) that `keyvald -join` always sends so every
/// node can name the leader's HTTP address.
public struct JoinRequest: Codable, Sendable, Equatable {
    public var id: String
    public var addr: String
    public var haddr: String?

    public init(id: String, addr: String, haddr: String? = nil) {
        self.id = id
        self.addr = addr
        self.haddr = haddr
    }
}
