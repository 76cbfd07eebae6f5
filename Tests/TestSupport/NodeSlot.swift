import Raft
import Synchronization

/// Where a transport's callbacks find their node, which is created after the transport.
public final class NodeSlot<Machine: StateMachine>: Sendable {
    private let slot = Mutex<RaftNode<Machine>?>(nil)

    public init() {}

    public var node: RaftNode<Machine>? {
        get { slot.withLock { $0 } }
        set { slot.withLock { $0 = newValue } }
    }
}
