import KeyVal
import KeyValClient
import KeyValHTTP
import Raft
import Synchronization

/// A `KVReplica` over a real `KVStore`, without Raft: each write is applied at the next index.
/// Tests switch it between leading, following a given leader, and failing, set the replica count it
/// reports, and inspect what it was asked to do.
final class FakeReplica: KVReplica {
    enum Mode: Sendable {
        case leader
        /// Writes and membership changes throw `.notLeader(leader)`; reads are answered from the
        /// local store, as a follower serves them (linearizable ones after its ReadIndex round),
        /// except linearizable reads when no leader is known, which throw `.notLeader(nil)`.
        case follower(leader: StatusReport.Leader?)
        /// Every call except `status` throws this.
        case failing(ReplicaError)
    }

    struct State {
        var mode = Mode.leader
        var store = KVStore()
        var nextIndex: UInt64 = 1
        var commands: [KVCommand] = []
        var reads: [(key: String, consistency: ReadConsistency)] = []
        var joins: [JoinRequest] = []
        var removals: [String] = []
        /// What `replicaCount(holding:)` answers, whatever the version.
        var replicaCount: Int?
        /// The versions `replicaCount(holding:)` was asked about, in order.
        var replicaCountQueries: [LogIndex] = []
    }

    let id: String
    let haddr: Mutex<String>
    let state = Mutex(State())

    init(id: String, mode: Mode = .leader) {
        self.id = id
        self.haddr = Mutex("")
        state.withLock { $0.mode = mode }
    }

    var mode: Mode {
        get { state.withLock { $0.mode } }
        set { state.withLock { $0.mode = newValue } }
    }

    /// This replica as a leader that others can name.
    var asLeader: StatusReport.Leader {
        StatusReport.Leader(id: id, haddr: haddr.withLock { $0 }, raddr: "127.0.0.1:1")
    }

    /// Applies `command` directly, as if it had been replicated from elsewhere.
    @discardableResult
    func seed(_ command: KVCommand) -> KVResult {
        state.withLock { state in
            defer { state.nextIndex += 1 }
            return state.store.apply(command, at: LogIndex(state.nextIndex))
        }
    }

    var store: KVStore { state.withLock { $0.store } }
    var commands: [KVCommand] { state.withLock { $0.commands } }

    private func checkLeadership(_ state: State) throws(ReplicaError) {
        switch state.mode {
        case .leader: return
        case .follower(let leader): throw .notLeader(leader: leader)
        case .failing(let error): throw error
        }
    }

    func write(_ command: KVCommand) async throws(ReplicaError) -> KVResult {
        try state.withLock { state throws(ReplicaError) in
            try checkLeadership(state)
            state.commands.append(command)
            defer { state.nextIndex += 1 }
            return state.store.apply(command, at: LogIndex(state.nextIndex))
        }
    }

    func read(_ key: String, consistency: ReadConsistency) async throws(ReplicaError) -> KVItem? {
        try state.withLock { state throws(ReplicaError) in
            if consistency == .linearizable, case .follower(leader: nil) = state.mode {
                throw .notLeader(leader: nil)
            }
            if case .failing(let error) = state.mode { throw error }
            state.reads.append((key, consistency))
            return state.store.get(key)
        }
    }

    func addMember(_ request: JoinRequest) async throws(ReplicaError) {
        try state.withLock { state throws(ReplicaError) in
            try checkLeadership(state)
            state.joins.append(request)
        }
    }

    func transferLeadership(to target: String?) async throws(ReplicaError) -> String {
        try state.withLock { state throws(ReplicaError) in
            try checkLeadership(state)
            return target ?? "n2"
        }
    }

    func removeMember(id: String, force: Bool) async throws(ReplicaError) {
        try state.withLock { state throws(ReplicaError) in
            try checkLeadership(state)
            state.removals.append(force ? id + " (forced)" : id)
        }
    }

    func replicaCount(holding version: LogIndex) -> Int? {
        state.withLock { state in
            state.replicaCountQueries.append(version)
            return state.replicaCount
        }
    }

    func status() async -> StatusReport {
        let (mode, store) = state.withLock { ($0.mode, $0.store) }
        let leader: StatusReport.Leader? =
            switch mode {
            case .leader: asLeader
            case .follower(let leader): leader
            case .failing: nil
            }
        let isLeader = if case .leader = mode { true } else { false }
        return StatusReport(
            id: id, role: isLeader ? "leader" : "follower", term: 3, leader: leader,
            commitIndex: store.appliedIndex.value, appliedIndex: store.appliedIndex.value,
            lastIndex: store.appliedIndex.value, snapshotIndex: 0, clusterID: "00ff",
            members: [StatusReport.Member(id: id, haddr: asLeader.haddr, raddr: "127.0.0.1:1", voter: true)])
    }
}
