import KeyVal
import RaftCore

/// What a node keeps across a crash: exactly what its `Ready`s made durable.
struct SimulatedDisk {
    var hardState = HardState()
    /// Entries after `compactedThrough`, contiguous.
    var entries: [Entry] = []
    var compactedThrough = LogIndex.zero
    var snapshot: Snapshot?
    /// Recorded before the entries it covers are applied, as `RaftNode` does.
    var commitIndex = LogIndex.zero

    /// Nothing was ever written: a spare that no leader has contacted, or a wiped disk.
    var isEmpty: Bool { hardState == HardState() && entries.isEmpty && snapshot == nil }

    func term(at index: LogIndex) -> Term? {
        let k = Int(index.value) - Int(compactedThrough.value) - 1
        return k >= 0 && k < entries.count ? entries[k].term : nil
    }

    /// Writes entries, each replacing what is stored at its index and after.
    mutating func write(_ newEntries: [Entry]) -> Bool {
        guard let first = newEntries.first else { return true }
        let k = Int(first.index.value) - Int(compactedThrough.value) - 1
        guard k >= 0 && k <= entries.count else { return false }
        entries.removeSubrange(k...)
        entries += newEntries
        return true
    }

    /// Drops entries through `index`.
    mutating func compact(through index: LogIndex) {
        guard index > compactedThrough else { return }
        let drop = min(entries.count, Int(index.value - compactedThrough.value))
        entries.removeFirst(drop)
        compactedThrough = index
    }

    /// Stores a snapshot from the leader; keeps the entries after it only if the stored entry at
    /// its index has its term (Figure 13, rule 6).
    mutating func install(_ snapshot: Snapshot) {
        let metadata = snapshot.metadata
        if term(at: metadata.index) == metadata.term {
            compact(through: metadata.index)
        } else {
            entries = []
            compactedThrough = metadata.index
        }
        self.snapshot = snapshot
    }

    /// What a restarting node recovers: the snapshot, and the log entries that follow it. A crash
    /// between saving a snapshot and compacting the log leaves entries the snapshot covers; they
    /// are dropped, and if the log disagrees with the snapshot at its index, all of it is.
    func recover() -> (snapshot: Snapshot?, log: RaftLog) {
        guard let snapshot else { return (nil, RaftLog(entries: entries, committed: commitIndex)) }
        let metadata = snapshot.metadata
        var tail: [Entry] = []
        if metadata.index <= compactedThrough {
            tail = entries
        } else if term(at: metadata.index) == metadata.term {
            tail = entries.filter { $0.index > metadata.index }
        }
        if let first = tail.first, first.index != metadata.index.next { tail = [] }
        return (
            snapshot,
            RaftLog(
                snapshotIndex: metadata.index, snapshotTerm: metadata.term, entries: tail,
                committed: commitIndex)
        )
    }
}

/// One member of a simulated cluster: its core while it runs, its disk always, and the
/// in-memory state machine it rebuilds from its snapshot and log after a restart (the stand-in
/// register map, or the real `KVStore`, as `SimulationOptions.machine` says).
struct SimulatedNode {
    let id: NodeID
    var core: RaftCore?
    var disk = SimulatedDisk()
    var stateMachine: [String: String] = [:]
    var store = KVStore()
    var incarnation = 0
    /// Wiped and stopped for good; its id is never used again.
    var isRetired = false

    // Per incarnation: what the invariant checks have seen of this node.
    var lastCommitSeen = LogIndex.zero
    var lastAppliedSeen = LogIndex.zero
    var lastSnapshotIndex = LogIndex.zero
    /// The log's shape when its configuration was last checked.
    var lastConfigurationCheck: ConfigurationCheckKey?

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

    /// The state machine's snapshot: keys in order, each key and value followed by a zero byte.
    static func snapshot(of state: [String: String]) -> [UInt8] {
        var bytes: [UInt8] = []
        for key in state.keys.sorted() {
            bytes += Array(key.utf8) + [0] + Array(state[key]!.utf8) + [0]
        }
        return bytes
    }

    static func restore(from bytes: [UInt8]) -> [String: String] {
        var state: [String: String] = [:]
        let fields = bytes.split(separator: 0, omittingEmptySubsequences: false).dropLast()
        var iterator = fields.makeIterator()
        while let key = iterator.next(), let value = iterator.next() {
            state[String(decoding: key, as: UTF8.self)] = String(decoding: value, as: UTF8.self)
        }
        return state
    }

    static func decode(_ data: [UInt8]) -> (key: String, value: String)? {
        guard data.first == UInt8(ascii: "W"), let split = data.firstIndex(of: 0) else { return nil }
        return (
            String(decoding: data[1..<split], as: UTF8.self),
            String(decoding: data[(split + 1)...], as: UTF8.self)
        )
    }
}

/// What a node's configuration depends on, as far as the simulation's checks need to know.
struct ConfigurationCheckKey: Equatable {
    var lastIndex: LogIndex
    var lastTerm: Term
    var snapshotIndex: LogIndex
    var configurationIndex: LogIndex
    var configuration: ClusterConfiguration
}
