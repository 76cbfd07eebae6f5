/// Carries envelopes between nodes. Sends are best-effort and must not block: the node's loop
/// calls `send` after each batch is durable, and Raft tolerates loss, duplication and reordering.
public protocol RaftTransport: Sendable {
    func send(_ envelopes: [Envelope])
}
