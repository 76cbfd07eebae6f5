import Raft
import Synchronization

/// An in-memory network between `RaftNode`s in this process, on which a test decides message by
/// message what is lost (`drop(where:)`) and watches everything sent (`onSend`).
final class ScriptedNetwork: Sendable {
    private let nodes = Mutex<[NodeID: @Sendable (Envelope) -> Void]>([:])
    // In a struct: a bare closure in a Mutex is re-abstracted on every `withLock` (its inout
    // write-back wraps it in one more thunk each time), until the stack overflows.
    private struct DropRule: Sendable { var drops: @Sendable (Envelope) -> Bool }
    private let dropRule = Mutex<DropRule?>(nil)
    private let watchers = Mutex<[@Sendable (Envelope) -> Void]>([])

    func attach(_ id: NodeID, _ deliver: @escaping @Sendable (Envelope) -> Void) {
        nodes.withLock { $0[id] = deliver }
    }

    func detach(_ id: NodeID) { nodes.withLock { $0[id] = nil } }

    /// From now on, envelopes for which `rule` is true are lost; nil delivers everything.
    func drop(where rule: (@Sendable (Envelope) -> Bool)?) {
        dropRule.withLock { $0 = rule.map(DropRule.init) }
    }

    /// Calls `watch` with every envelope a node sends, delivered or not, before it is delivered.
    func onSend(_ watch: @escaping @Sendable (Envelope) -> Void) { watchers.withLock { $0.append(watch) } }

    /// Sends `envelopes` as `from`'s transport does: in order, each to its node if attached.
    func send(_ envelopes: [Envelope]) {
        let rule = dropRule.withLock { $0 }
        let watch = watchers.withLock { $0 }
        for envelope in envelopes {
            for w in watch { w(envelope) }
            if let rule, rule.drops(envelope) { continue }
            nodes.withLock { $0[envelope.to] }?(envelope)
        }
    }

    func transport() -> Transport { Transport(network: self) }

    struct Transport: RaftTransport {
        let network: ScriptedNetwork
        func send(_ envelopes: [Envelope]) { network.send(envelopes) }
    }
}
