import Raft
import Synchronization
import TestSupport
import Testing

// Real `RaftNode`s over an in-memory network, whose processes "die" at chosen moments: a crash
// harness for the shell's persist-before-send order.
//
// The model of a crash. A `LogStore` call is durable when it returns (that is the protocol's
// contract; `MemoryLogStore.persisted` is what a crash leaves). A crash takes effect at one instant
// of a node's loop: from then on its writes vanish and its messages are lost, as if the process
// had died there; the harness then stops the dead incarnation and later starts a new one on what
// the store kept. Crashes come at random moments, and at the moment a node sends a granted vote
// or an accepted append: the moment where a node that sent before persisting would die having
// spoken of state it then forgets.
//
// The checks (any of them failing is a safety violation, recorded in `SafetyHistory`):
// - no node grants its vote to two candidates in one term (§5.2);
// - no two entries are ever applied at one index, by any node or incarnation (state machine
//   safety, §5.4.3): so a committed entry never changes;
// - every write acknowledged to a client is applied by the last leader (§5.4, leader
//   completeness). A write counts as acknowledged only if the node that answered it was alive
//   when the answer was seen: a dead process answers nobody.

/// One incarnation of a node: alive until it crashes.
final class Life: Sendable {
    private let state = Mutex<(isDead: Bool, diesAtNextAcknowledgement: Bool)>((false, false))

    var isDead: Bool { state.withLock { $0.isDead } }
    func kill() { state.withLock { $0.isDead = true } }
    /// The process dies right after it next sends a granted vote or an accepted append.
    func armCrashAtNextAcknowledgement() { state.withLock { $0.diesAtNextAcknowledgement = true } }

    /// Called once `envelope` has left: whether the process dies now.
    func diesAfterSending(_ envelope: Envelope) -> Bool {
        let acknowledges =
            switch envelope.message {
            case .requestVoteResponse(let response): response.granted && !response.isPreVote
            case .appendEntriesResponse(let response):
                if case .accepted = response.result { true } else { false }
            default: false
            }
        return state.withLock { state in
            guard acknowledges, state.diesAtNextAcknowledgement else { return state.isDead }
            state.isDead = true
            return true
        }
    }
}

/// The log store of one incarnation, over the node's "disk", which outlives it: calls made after
/// the incarnation died vanish (they never reach the disk).
final class CrashableLogStore: LogStore {
    let disk: MemoryLogStore
    let life: Life

    init(disk: MemoryLogStore, life: Life) {
        self.disk = disk
        self.life = life
    }

    func load() throws(StorageError) -> PersistedLog { try disk.load() }
    func persist(hardState: HardState?, entries: [Entry], commitIndex: LogIndex?) throws(StorageError) {
        guard !life.isDead else { return }
        try disk.persist(hardState: hardState, entries: entries, commitIndex: commitIndex)
    }
    func compact(through index: LogIndex) throws(StorageError) {
        guard !life.isDead else { return }
        try disk.compact(through: index)
    }
    func installSnapshot(index: LogIndex, term: Term) throws(StorageError) {
        guard !life.isDead else { return }
        try disk.installSnapshot(index: index, term: term)
    }
    func reclaimSpace(maxBytes: Int) throws(StorageError) -> Bool { false }
}

/// What the cluster did, as the checks need it, and the violations found.
final class SafetyHistory: Sendable {
    private struct State {
        var votes: [String: NodeID] = [:]  // "voter term" → candidate
        var applied: [LogIndex: (term: Term, data: [UInt8])] = [:]
        var acknowledged: [String] = []
        var violations: [String] = []
    }
    private let state = Mutex(State())

    var violations: [String] { state.withLock { $0.violations } }
    var acknowledged: [String] { state.withLock { $0.acknowledged } }

    /// Every envelope a live node sends.
    func sent(_ envelope: Envelope) {
        guard case .requestVoteResponse(let response) = envelope.message, response.granted,
            !response.isPreVote
        else { return }
        state.withLock { state in
            let key = "\(envelope.from) \(envelope.term)"
            if let earlier = state.votes[key], earlier != envelope.to {
                state.violations.append(
                    "\(envelope.from) voted twice in \(envelope.term): for \(earlier), then for \(envelope.to)"
                )
            }
            state.votes[key] = envelope.to
        }
    }

    /// Every entry a live node applies.
    func applied(_ entry: Entry, by node: NodeID) {
        state.withLock { state in
            if let earlier = state.applied[entry.index] {
                if earlier.term != entry.term || earlier.data != entry.data {
                    state.violations.append(
                        "\(node) applied \(entry.index) of \(entry.term) (\(String(decoding: entry.data, as: UTF8.self))); "
                            + "\(earlier.term) (\(String(decoding: earlier.data, as: UTF8.self))) was applied there before"
                    )
                }
            } else {
                state.applied[entry.index] = (entry.term, entry.data)
            }
        }
    }

    func acknowledge(_ command: String) { state.withLock { $0.acknowledged.append(command) } }
    func violation(_ description: String) { state.withLock { $0.violations.append(description) } }
}

/// A list of applied commands that reports every entry it applies, while its incarnation lives.
final class RecordingMachine: StateMachine {
    let node: NodeID
    let life: Life
    let history: SafetyHistory
    private(set) var items: [String] = []

    init(node: NodeID, life: Life, history: SafetyHistory) {
        self.node = node
        self.life = life
        self.history = history
    }

    func apply(_ entry: Entry) -> Int {
        if !life.isDead { history.applied(entry, by: node) }
        if entry.kind == .command { items.append(String(decoding: entry.data, as: UTF8.self)) }
        return items.count
    }

    // Snapshots are off in the harness; these only satisfy the protocol.
    func snapshot() -> [UInt8] { Array(items.joined(separator: "\n").utf8) }
    func restore(from snapshot: [UInt8]) throws {
        items =
            snapshot.isEmpty
            ? [] : String(decoding: snapshot, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}

/// Sends for one incarnation: nothing once it is dead, and it may die right after a message.
struct CrashingTransport: RaftTransport {
    let network: ScriptedNetwork
    let life: Life
    let history: SafetyHistory

    func send(_ envelopes: [Envelope]) {
        for envelope in envelopes {
            guard !life.isDead else { return }
            history.sent(envelope)
            network.send([envelope])
            if life.diesAfterSending(envelope) { return }
        }
    }
}

/// What `operation` returns, or nil if it has not returned within `timeout` (shared by the node
/// tests that wait on calls which a broken node might never answer). It runs on in its
/// own task until it returns (here: until the harness stops the nodes, which fails every call).
func within<T: Sendable>(_ timeout: Duration, _ operation: @escaping @Sendable () async -> T?) async -> T? {
    let result = ResultBox<T>()
    Task {
        let value = await operation()
        result.value.withLock { $0 = value }
    }
    _ = await eventually(timeout: timeout) { result.value.withLock { $0 != nil } }
    return result.value.withLock { $0 }
}

final class ResultBox<T: Sendable>: Sendable {
    let value = Mutex<T?>(nil)
}

/// The nodes cut off from all others.
final class Isolation: Sendable {
    let nodes = Mutex<Set<NodeID>>([])
}

/// A node's disk and its current incarnation.
final class CrashableMember: @unchecked Sendable {
    // @unchecked: `disk` is used by one incarnation's loop at a time (the harness stops one before
    // starting the next), and the other fields only by the harness's one task.
    let id: NodeID
    let disk = MemoryLogStore()
    let snapshots = MemorySnapshotStore()
    var life = Life()
    var node: RaftNode<RecordingMachine>?
    var task: Task<Void, any Error>?
    var incarnations = 0

    init(id: NodeID) { self.id = id }
}

/// Three nodes, crashed and restarted at random by a seeded driver, checked for safety.
final class CrashHarness: @unchecked Sendable {
    // @unchecked: used from the test's one task only; what nodes touch is Sendable.
    let network = ScriptedNetwork()
    let history = SafetyHistory()
    let members: [CrashableMember]
    let configuration: ClusterConfiguration
    let options: RaftNodeOptions
    private let isolated = Isolation()
    private var random: SplitMix64
    private var nextCommand = 0
    private var proposals: [Task<Void, Never>] = []

    init(seed: UInt64, sendsBeforePersisting: Bool) {
        members = ["n1", "n2", "n3"].map { CrashableMember(id: $0) }
        configuration = ClusterConfiguration(voters: members.map(\.id))
        var options = fastTicks
        options.sendsBeforePersisting = sendsBeforePersisting
        self.options = options
        random = SplitMix64(seed: seed)
        let isolated = self.isolated
        network.drop { envelope in
            isolated.nodes.withLock { $0.contains(envelope.from) || $0.contains(envelope.to) }
        }
    }

    func start(_ member: CrashableMember) throws {
        member.incarnations += 1
        let life = Life()
        member.life = life
        let node = try RaftNode(
            config: config(member.id, seed: random.next()), configuration: configuration,
            logStore: CrashableLogStore(disk: member.disk, life: life), snapshotStore: member.snapshots,
            stateMachine: RecordingMachine(node: member.id, life: life, history: history),
            transport: CrashingTransport(network: network, life: life, history: history), options: options)
        member.node = node
        network.attach(member.id) { node.receive($0) }
        member.task = Task { try await node.run() }
    }

    /// Stops a dead incarnation's loop (its writes and messages already go nowhere).
    func bury(_ member: CrashableMember) async {
        network.detach(member.id)
        member.node?.shutdown()
        _ = await member.task?.result
        member.node = nil
        member.task = nil
    }

    /// The live node that believes it leads, if any.
    func leader() async -> RaftNode<RecordingMachine>? {
        for member in members where !member.life.isDead {
            if let node = member.node, await node.status.role == .leader { return node }
        }
        return nil
    }

    /// Proposes `count` new commands to `node` without waiting; each is recorded as acknowledged
    /// if it succeeds while its incarnation lives.
    func propose(_ count: Int, to node: RaftNode<RecordingMachine>, life: Life) {
        for _ in 0..<count {
            nextCommand += 1
            let command = "w\(nextCommand)"
            let history = history
            proposals.append(
                Task {
                    guard (try? await node.propose(Array(command.utf8))) != nil, !life.isDead else { return }
                    history.acknowledge(command)
                })
        }
    }

    /// One random step: writes to the leader, a crash (now, or at a node's next acknowledgement),
    /// a restart, a partition or a heal; then a few ticks pass.
    func step() async throws {
        for member in members where member.life.isDead && member.node != nil { await bury(member) }
        let roll = random.next() % 100
        switch roll {
        case 0..<40:
            for member in members where !member.life.isDead {
                guard let node = member.node, await node.status.role == .leader else { continue }
                propose(1 + Int(random.next() % 3), to: node, life: member.life)
            }
        case 40..<60:
            let member = members[Int(random.next() % 3)]
            member.life.armCrashAtNextAcknowledgement()
        case 60..<70:
            let member = members[Int(random.next() % 3)]
            member.life.kill()
        case 70..<85:
            for member in members where member.node == nil { try start(member) }
        case 85..<93:
            let id = members[Int(random.next() % 3)].id
            isolated.nodes.withLock { $0 = [id] }
        default:
            isolated.nodes.withLock { $0 = [] }
        }
        try await Task.sleep(for: .milliseconds(10 + Int(random.next() % 30)))
    }

    /// Heals everything, restarts every node, waits for a leader to commit a last write, and checks
    /// that it applied every acknowledged one.
    func finish() async throws {
        isolated.nodes.withLock { $0 = [] }
        for member in members where member.life.isDead && member.node != nil { await bury(member) }
        for member in members where member.node == nil { try start(member) }
        var last: [String]?
        let settled = await eventually(timeout: .seconds(20)) {
            guard let node = await leader() else { return false }
            nextCommand += 1
            let command = Array("w\(nextCommand)".utf8)
            // A leader whose log a broken shell has damaged may never commit: ask with a deadline.
            let items = await within(.seconds(2)) { () async -> [String]? in
                guard (try? await node.propose(command)) != nil else { return nil }
                return try? await node.linearizableRead({ $0.items })
            }
            guard let items else { return false }
            last = items
            return true
        }
        if settled, let last {
            let applied = Set(last)
            for command in history.acknowledged where !applied.contains(command) {
                history.violation("the acknowledged write \(command) is not in the last leader's state")
            }
        } else {
            history.violation("no leader committed a last write within 20 s")
        }
        for member in members { await bury(member) }
        for proposal in proposals { await proposal.value }
    }

    /// Runs `steps` random steps from a fresh cluster and returns the violations found.
    static func run(seed: UInt64, steps: Int, sendsBeforePersisting: Bool) async throws -> (
        violations: [String], acknowledged: Int, restarts: Int
    ) {
        let harness = CrashHarness(seed: seed, sendsBeforePersisting: sendsBeforePersisting)
        for member in harness.members { try harness.start(member) }
        for _ in 0..<steps { try await harness.step() }
        try await harness.finish()
        let restarts = harness.members.map { $0.incarnations - 1 }.reduce(0, +)
        return (harness.history.violations, harness.history.acknowledged.count, restarts)
    }
}
