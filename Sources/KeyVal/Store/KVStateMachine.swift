import RaftCore

/// `KVStore` as the state machine a `RaftNode` drives. A class because the node's loop owns and
/// mutates one instance; the store inside stays a value, so reads get a consistent copy, and a
/// snapshot is a copy of it (O(1): its keys sit in an `OrderedMap` whose copies share nodes)
/// encoded off the loop.
public final class KVStateMachine: StateMachine {
    public private(set) var store: KVStore

    public init(store: KVStore = KVStore()) {
        self.store = store
    }

    /// The result of a command, or nil for a no-op entry.
    public func apply(_ entry: Entry) -> KVResult? {
        store.apply(entry)
    }

    public func snapshot() -> [UInt8] {
        store.snapshot()
    }

    public func snapshotState() -> KVStore { store }

    public static func encodeSnapshot(_ state: KVStore) -> [UInt8] { state.snapshot() }

    public func restore(from snapshot: [UInt8]) throws {
        store = try KVStore(snapshot: snapshot)
    }
}
