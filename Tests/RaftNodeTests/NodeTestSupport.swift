import Foundation
import Raft
import Synchronization
import TestSupport
import Testing

/// Delivers envelopes between nodes in this process, and can cut nodes off.
final class LocalNetwork: Sendable {
    private let nodes = Mutex<[NodeID: @Sendable (Envelope) -> Void]>([:])
    private let isolated = Mutex<Set<NodeID>>([])

    func attach(_ id: NodeID, _ deliver: @escaping @Sendable (Envelope) -> Void) {
        nodes.withLock { $0[id] = deliver }
    }
    func detach(_ id: NodeID) { nodes.withLock { $0[id] = nil } }
    func isolate(_ id: NodeID) { isolated.withLock { _ = $0.insert(id) } }
    func heal() { isolated.withLock { $0 = [] } }

    func transport() -> some RaftTransport { Transport(network: self) }

    struct Transport: RaftTransport {
        let network: LocalNetwork
        func send(_ envelopes: [Envelope]) {
            let cut = network.isolated.withLock { $0 }
            for envelope in envelopes where !cut.contains(envelope.from) && !cut.contains(envelope.to) {
                network.nodes.withLock { $0[envelope.to] }?(envelope)
            }
        }
    }
}

/// A log store that counts its writes, around the in-memory one.
final class CountingLogStore: LogStore {
    let inner: MemoryLogStore
    private(set) var persistCalls = 0

    init(_ inner: MemoryLogStore = MemoryLogStore()) { self.inner = inner }
    func load() throws(StorageError) -> PersistedLog { try inner.load() }
    func persist(hardState: HardState?, entries: [Entry], commitIndex: LogIndex?) throws(StorageError) {
        persistCalls += 1
        try inner.persist(hardState: hardState, entries: entries, commitIndex: commitIndex)
    }
    func compact(through index: LogIndex) throws(StorageError) { try inner.compact(through: index) }
    func reclaimSpace(maxBytes: Int) throws(StorageError) -> Bool {
        try inner.reclaimSpace(maxBytes: maxBytes)
    }
    func installSnapshot(index: LogIndex, term: Term) throws(StorageError) {
        try inner.installSnapshot(index: index, term: term)
    }
}

func config(_ id: NodeID, seed: UInt64) -> RaftConfig {
    RaftConfig(id: id, electionTicks: 10, heartbeatTicks: 1, randomSeed: seed)
}

let fastTicks = RaftNodeOptions(
    tickInterval: .milliseconds(5), snapshotThreshold: 0, snapshotThresholdBytes: 0)
