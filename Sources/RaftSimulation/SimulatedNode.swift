import RaftCore

/// What a node keeps across a crash: exactly what its `Ready`s made durable.
struct SimulatedDisk {
    var hardState = HardState()
    var entries: [Entry] = []
}

/// One member of a simulated cluster: its core while it runs, its disk always, and the
/// in-memory key-value state machine it rebuilds from the log after a restart.
struct SimulatedNode {
    let id: NodeID
    var core: RaftCore?
    var disk = SimulatedDisk()
    var stateMachine: [String: String] = [:]
    var incarnation = 0

    // Per incarnation: what the invariant checks have seen of this node.
    var lastCommitSeen = LogIndex.zero
    var lastAppliedSeen = LogIndex.zero

    /// Client writes waiting for their entry to apply here: index → (client, term it was proposed in).
    var pendingWrites: [LogIndex: (client: Int, term: Term)] = [:]
    /// Client reads waiting for the read barrier: id → client.
    var pendingReads: [ReadRequestID: Int] = [:]

    init(id: NodeID) { self.id = id }

    var isUp: Bool { core != nil }
}

/// The state machine's commands, encoded the way the simulation's clients propose them.
enum SimulatedCommand {
    static func put(key: String, value: String) -> [UInt8] {
        Array("W".utf8) + Array(key.utf8) + [0] + Array(value.utf8)
    }

    static func decode(_ data: [UInt8]) -> (key: String, value: String)? {
        guard data.first == UInt8(ascii: "W"), let split = data.firstIndex(of: 0) else { return nil }
        return (
            String(decoding: data[1..<split], as: UTF8.self),
            String(decoding: data[(split + 1)...], as: UTF8.self)
        )
    }
}
