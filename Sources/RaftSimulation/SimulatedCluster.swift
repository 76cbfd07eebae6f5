import KeyVal
import Linearizability
import RaftCore

/// A whole Raft cluster in one process: N `RaftCore`s, a simulated disk per node, a network that
/// drops, duplicates, delays and reorders messages, partitions, crashes and restarts, and clients
/// whose operations are recorded for a linearizability check. Everything is driven by one seeded
/// generator and an event queue, so a seed replays exactly.
///
/// Safety invariants are checked as each change happens (so, after every step): at most one leader
/// per term, log matching, leader completeness, identical entries applied at each index, commit
/// and apply indexes never going back, and the membership invariants (see
/// `SimulatedCluster+Membership.swift`).
///
/// The initial voters `n1...nN` bootstrap from a configuration entry at index 1, as etcd's
/// statically configured members do; spare nodes start empty and get everything from a leader
/// once a membership change adds them.
public struct SimulatedCluster {
    public let options: SimulationOptions
    public internal(set) var now: Int64 = 0
    public internal(set) var stats = SimulationStats()
    public internal(set) var failure: SimulationFailure?

    var random: SplitMix64
    var queue = EventQueue<SimulationEvent>()
    var nodes: [SimulatedNode]
    var indexOf: [NodeID: Int]
    /// Every node id of this run: the initial voters, the spares, and fresh ids that replaced
    /// retired nodes (never reused).
    public internal(set) var ids: [NodeID]
    /// The voters of the bootstrap configuration (entry 1).
    public let initialVoters: [NodeID]

    // The network.
    var blockedLinks = Set<Link>()
    var isNetworkFaulty = true
    var isHealed = false
    /// A node the nemesis will crash in the middle of its next write that may send first (a
    /// leader's): after its messages went out, before its own copy is durable.
    var crashDuringWrite: NodeID?
    var messageCounts = [Int](repeating: 0, count: MessageKind.allCases.count)

    // What the invariant checks remember across nodes.
    var leaderOfTerm: [Term: NodeID] = [:]
    /// Each committed entry (by index - 1): its term, and the term of the node that first saw it
    /// committed, which is at least the term in which it was committed.
    var committedEntries: [(term: Term, knownCommittedIn: Term)] = []
    /// Clock of the client history: strictly increasing, so no two history events tie.
    var historyClock: Int64 = 0
    /// (term, kind, data, previous term) of every entry any node ever held, by index and term.
    var entriesSeen: [LogIndex: [Term: EntryFingerprint]] = [:]
    /// The entry applied at each index (index - 1), as first applied on any node.
    var appliedEntries: [Entry] = []
    /// Each committed configuration entry, by ascending index, as first seen committed.
    var committedConfigurations: [(index: LogIndex, configuration: ClusterConfiguration)] = []

    // Clients and their history.
    var clients: [SimulatedClient] = []
    var history: [KeyValueModel.Operation?] = []
    /// With the real store: its clients' history (nil: an operation that certainly had no effect),
    /// and the reference application of the entries as first applied.
    var keyValueHistory: [KeyValueStoreModel.Operation?] = []
    var reference: KeyValueReference
    var nextReadID: UInt64 = 1

    var trace: TraceBuffer

    public init(options: SimulationOptions) {
        precondition(options.clusterSize >= 1, "a cluster needs a node")
        self.options = options
        random = SplitMix64(seed: options.seed)
        initialVoters = (1...options.clusterSize).map { NodeID("n\($0)") }
        ids = (1...(options.clusterSize + options.spareNodes)).map { NodeID("n\($0)") }
        indexOf = Dictionary(uniqueKeysWithValues: ids.enumerated().map { ($1, $0) })
        nodes = ids.map { SimulatedNode(id: $0) }
        trace = TraceBuffer(capacity: options.traceLength)
        reference = KeyValueReference(sessionCapacity: options.sessionCapacity)
        bootstrap()
        for n in nodes.indices { start(node: n) }
        for n in nodes.indices {
            // Nodes tick out of phase, as real clocks do.
            queue.schedule(.tick(n), at: Int64.random(in: 0..<options.tickInterval, using: &random))
        }
        if options.nemesisEveryTicks > 0 { scheduleNemesis() }
        if options.membershipEveryTicks > 0 { scheduleMembershipAction() }
        clients = (0..<options.clients).map { SimulatedClient(id: $0) }
        for c in clients.indices { scheduleClientWake(c) }
    }

    // MARK: Running

    /// Runs the faulty phase, heals the cluster, checks liveness, then checks the history.
    public mutating func run() -> Result<SimulationStats, SimulationFailure> {
        let healAt = Int64(options.faultyTicks) * options.tickInterval
        let deadline = healAt + Int64(options.healTicks) * options.tickInterval
        run(until: healAt)
        guard failure == nil else { return .failure(failure!) }
        heal()
        while failure == nil && !hasRecovered {
            guard let next = queue.nextTime, next <= deadline else {
                fail(
                    "liveness: no leader committed every client's final write within \(options.healTicks) ticks of healing (\(livenessSummary))"
                )
                break
            }
            step()
        }
        if failure == nil {
            stats.ticksToRecover = Int((now - healAt) / options.tickInterval)
            // Give followers a few heartbeats to learn the final commit index, then check they converged.
            run(until: now + Int64(options.electionTicks * 2) * options.tickInterval)
            if failure == nil { checkConvergence() }
        }
        if failure == nil {
            switch options.machine {
            case .register: checkHistory()
            case .keyValue: checkKeyValueHistory()
            }
        }
        stats.messagesByKind = Dictionary(
            uniqueKeysWithValues: MessageKind.allCases.map { ($0.name, messageCounts[$0.rawValue]) })
        if let failure { return .failure(failure) }
        return .success(stats)
    }

    /// Processes events until simulated time reaches `time` (or a check fails).
    public mutating func run(until time: Int64) {
        while failure == nil, let next = queue.nextTime, next <= time { step() }
        if failure == nil { now = max(now, time) }
    }

    public mutating func run(ticks: Int) { run(until: now + Int64(ticks) * options.tickInterval) }

    /// Processes events one at a time until `condition` holds (checked after each); returns
    /// false if it did not within `maxTicks` or a check failed.
    @discardableResult
    public mutating func run(untilTrue condition: (SimulatedCluster) -> Bool, maxTicks: Int) -> Bool {
        let deadline = now + Int64(maxTicks) * options.tickInterval
        while failure == nil && !condition(self) {
            guard let next = queue.nextTime, next <= deadline else { return false }
            step()
        }
        return failure == nil
    }

    /// Processes the next event.
    mutating func step() {
        guard let (time, event) = queue.popFirst() else { return }
        now = time
        stats.events += 1
        switch event {
        case .tick(let n):
            guard !nodes[n].isRetired else { return }
            queue.schedule(
                .tick(n), at: now + options.tickInterval + Int64.random(in: -2...2, using: &random))
            guard nodes[n].isUp else { return }
            nodes[n].core!.tick()
            drain(n)
        case .deliver(let envelope):
            deliver(envelope)
        case .nemesis:
            runNemesis()
        case .membership:
            runMembershipAction()
        case .clientWake(let c):
            clientWake(c)
        case .clientTimeout(let c, let sequence):
            clientTimeout(c, sequence: sequence)
        case .compact(let n, let incarnation, let snapshot):
            compact(n, incarnation: incarnation, through: snapshot)
        }
    }

    // MARK: Nodes

    mutating func start(node n: Int) {
        let disk = nodes[n].disk
        let config = RaftConfig(
            id: nodes[n].id, electionTicks: options.electionTicks, heartbeatTicks: options.heartbeatTicks,
            preVote: options.preVote, checkQuorum: options.checkQuorum,
            maxAppendBytes: options.maxAppendBytes,
            maxInflightAppends: options.maxInflightAppends,
            maxSnapshotChunkBytes: options.maxSnapshotChunkBytes,
            randomSeed: random.next(), testingFault: options.testingFault)
        let (snapshot, log) = disk.recover()
        // Every node's base configuration is empty: the initial voters learn theirs from the bootstrap
        // entry on their disks, the others from a leader. So the configuration at any index is the
        // same on every node, which keeps the configuration checks free of special cases.
        nodes[n].core = RaftCore(
            config: config, configuration: ClusterConfiguration(members: []), hardState: disk.hardState,
            log: log, snapshot: snapshot)
        switch options.machine {
        case .register:
            nodes[n].stateMachine = snapshot.map { SimulatedCommand.restore(from: $0.data) } ?? [:]
        case .keyValue: nodes[n].store = restoredStore(from: snapshot, at: n)
        }
        if snapshot != nil && nodes[n].incarnation > 0 { stats.restartsFromSnapshot += 1 }
        nodes[n].incarnation += 1
        nodes[n].lastConfigurationCheck = nil
        nodes[n].lastCommitSeen = log.snapshotIndex
        nodes[n].lastAppliedSeen = log.snapshotIndex
        nodes[n].lastSnapshotIndex = log.snapshotIndex
    }

    /// Stops a node, losing everything that is not on its disk.
    public mutating func crash(_ id: NodeID) {
        let n = indexOf[id]!
        guard nodes[n].isUp else { return }
        nodes[n].core = nil
        stats.crashes += 1
        trace.record(now, .crash(id))
        // In index and id order: dictionary order changes from process to process (hashing is
        // seeded per process), and abandoning draws from the generator, so a seed would not
        // replay in another process.
        for (_, waiter) in nodes[n].pendingWrites.sorted(by: { $0.key < $1.key }) {
            abandon(client: waiter.client)
        }
        for (_, client) in nodes[n].pendingReads.sorted(by: { $0.key.value < $1.key.value }) {
            abandon(client: client)
        }
        nodes[n].pendingWrites = [:]
        nodes[n].pendingReads = [:]
    }

    /// Starts a crashed node again from what its disk holds.
    public mutating func restart(_ id: NodeID) {
        let n = indexOf[id]!
        guard !nodes[n].isUp, !nodes[n].isRetired else { return }
        start(node: n)
        trace.record(now, .restart(id))
    }

    /// Hands the node's pending work to the "driver": persist, send, apply, serve reads, advance.
    mutating func drain(_ n: Int) {
        while failure == nil, let ready = nodes[n].core?.takeReady() {
            if ready.canSendBeforePersisting {
                // A leader's appends go out before its own write (thesis §10.2.1), as in RaftNode;
                // the nemesis may crash it in between, so that write never happens.
                for envelope in ready.messages { send(envelope) }
                if crashDuringWrite == nodes[n].id, ready.mustSync {
                    crashDuringWrite = nil
                    trace.record(
                        now, .note("\(nodes[n].id) crashes after sending, before its write is durable"))
                    crash(nodes[n].id)
                    return
                }
                persist(ready, at: n)
            } else {
                persist(ready, at: n)
                for envelope in ready.messages { send(envelope) }
            }
            apply(ready, at: n)
            for event in ready.events { observe(event, at: n) }
            nodes[n].core!.advance(ready)
            checkProgress(of: n)
            takeSnapshotIfDue(n)
        }
    }

    /// Every `snapshotEvery` applied entries: save a snapshot durably now, and compact a little
    /// later, so a crash can fall between the two as it can in the real shell.
    mutating func takeSnapshotIfDue(_ n: Int) {
        guard options.snapshotEvery > 0, failure == nil, let core = nodes[n].core else { return }
        let applied = core.log.applied
        guard applied.value >= nodes[n].lastSnapshotIndex.value + UInt64(options.snapshotEvery),
            let metadata = core.snapshotMetadata(at: applied)
        else { return }
        let data: [UInt8]
        switch options.machine {
        case .register:
            data = SimulatedCommand.snapshot(of: nodes[n].stateMachine)
        case .keyValue:
            guard nodes[n].store.appliedIndex == applied else {
                return fail(
                    "\(nodes[n].id)'s store applied \(nodes[n].store.appliedIndex), its core \(applied)")
            }
            data = nodes[n].store.snapshot()
        }
        let snapshot = Snapshot(metadata: metadata, data: data)
        verifySnapshot(snapshot, at: n)
        nodes[n].disk.snapshot = snapshot
        nodes[n].lastSnapshotIndex = applied
        stats.snapshotsTaken += 1
        trace.record(now, .note("\(nodes[n].id) saved snapshot at \(applied)"))
        queue.schedule(
            .compact(n, incarnation: nodes[n].incarnation, snapshot: applied),
            at: now + Int64.random(in: 0...(options.tickInterval * 2), using: &random))
    }

    mutating func compact(_ n: Int, incarnation: Int, through snapshotIndex: LogIndex) {
        guard nodes[n].isUp, nodes[n].incarnation == incarnation,
            let snapshot = nodes[n].disk.snapshot, snapshot.metadata.index == snapshotIndex
        else { return }
        let keep = UInt64(options.snapshotKeepEntries)
        let through = LogIndex(snapshotIndex.value > keep ? snapshotIndex.value - keep : 0)
        nodes[n].core!.snapshotTaken(snapshot, compactingThrough: through)
        // The core may have compacted further already (an installed snapshot); the disk follows it.
        nodes[n].disk.compact(through: nodes[n].core!.log.snapshotIndex)
        trace.record(now, .note("\(nodes[n].id) compacted through \(nodes[n].core!.log.snapshotIndex)"))
        drain(n)
    }

    mutating func persist(_ ready: Ready, at n: Int) {
        if let snapshot = ready.snapshotToInstall { nodes[n].disk.install(snapshot) }
        if let hardState = ready.hardState { nodes[n].disk.hardState = hardState }
        if let applied = ready.entriesToApply.last?.index, applied > nodes[n].disk.commitIndex {
            nodes[n].disk.commitIndex = applied
        }
        guard let first = ready.entriesToAppend.first else { return }
        let core = nodes[n].core!
        for entry in ready.entriesToAppend {
            recordEntry(entry, previousTerm: core.log.term(at: entry.index.previous) ?? .zero, at: n)
        }
        if !nodes[n].disk.write(ready.entriesToAppend) {
            fail("\(nodes[n].id) asked to persist \(first.index), not contiguous with its disk")
        }
    }

    mutating func apply(_ ready: Ready, at n: Int) {
        if let snapshot = ready.snapshotToInstall {
            verifySnapshot(snapshot, at: n)
            switch options.machine {
            case .register: nodes[n].stateMachine = SimulatedCommand.restore(from: snapshot.data)
            case .keyValue: nodes[n].store = restoredStore(from: snapshot, at: n)
            }
            nodes[n].lastSnapshotIndex = snapshot.metadata.index
            stats.snapshotsInstalled += 1
            // Writes waiting on entries the snapshot replaced can no longer tell their outcome here.
            for (index, waiter) in nodes[n].pendingWrites.sorted(by: { $0.key < $1.key })
            where index <= snapshot.metadata.index {
                nodes[n].pendingWrites[index] = nil
                abandon(client: waiter.client)
            }
        }
        for entry in ready.entriesToApply {
            recordApplied(entry, at: n)
            switch options.machine {
            case .register:
                if entry.kind == .command, let (key, value) = SimulatedCommand.decode(entry.data) {
                    nodes[n].stateMachine[key] = value
                }
                if let waiter = nodes[n].pendingWrites.removeValue(forKey: entry.index) {
                    completeWrite(client: waiter.client, succeeded: waiter.term == entry.term)
                }
            case .keyValue:
                let result = applyKeyValue(entry, at: n)
                if let waiter = nodes[n].pendingWrites.removeValue(forKey: entry.index) {
                    keyValueWriteApplied(
                        client: waiter.client, result: result, entry: entry, proposedIn: waiter.term)
                }
            }
            stats.committedEntries = max(stats.committedEntries, Int(entry.index.value))
        }
        for id in ready.readsToServe {
            guard let client = nodes[n].pendingReads.removeValue(forKey: id) else { continue }
            if !nodes[n].core!.isLeader { stats.followerReadsServed += 1 }
            switch options.machine {
            case .register:
                completeRead(client: client, value: nodes[n].stateMachine[clients[client].pending!.key])
            case .keyValue: completeKeyValueRead(client: client, at: n)
            }
        }
        for id in ready.readsFailed {
            guard let client = nodes[n].pendingReads.removeValue(forKey: id) else { continue }
            failOperation(client: client)
        }
    }

    // MARK: Network

    mutating func send(_ envelope: Envelope) {
        stats.messagesSent += 1
        messageCounts[MessageKind(envelope.message).rawValue] += 1
        var copies = 1
        if isNetworkFaulty {
            if Double.random(in: 0..<1, using: &random) < options.dropRate {
                stats.messagesDropped += 1
                trace.record(now, .dropped(envelope))
                return
            }
            if Double.random(in: 0..<1, using: &random) < options.duplicateRate { copies = 2 }
        }
        for _ in 0..<copies {
            var delay = Int64.random(in: 5...40, using: &random)
            if isNetworkFaulty && Double.random(in: 0..<1, using: &random) < options.longDelayRate {
                delay = Int64.random(in: options.tickInterval...(options.tickInterval * 8), using: &random)
            }
            queue.schedule(.deliver(envelope), at: now + delay)
        }
    }

    mutating func deliver(_ envelope: Envelope) {
        let n = indexOf[envelope.to]!
        guard nodes[n].isUp, !blockedLinks.contains(Link(from: envelope.from, to: envelope.to)) else {
            stats.messagesDropped += 1
            return
        }
        trace.record(now, .delivered(envelope))
        nodes[n].core!.step(envelope)
        drain(n)
    }

    /// Cuts the network into groups that cannot talk to each other.
    public mutating func partition(_ groups: [[NodeID]]) {
        blockedLinks = []
        for a in ids {
            for b in ids where a != b {
                let together = groups.contains { $0.contains(a) && $0.contains(b) }
                if !together { blockedLinks.insert(Link(from: a, to: b)) }
            }
        }
        trace.record(
            now,
            .note(
                "partition \(groups.map { $0.map(\.name).joined(separator: ",") }.joined(separator: " | "))"))
    }

    /// Cuts one direction of one link.
    public mutating func block(from: NodeID, to: NodeID) {
        blockedLinks.insert(Link(from: from, to: to))
        trace.record(now, .note("block \(from) → \(to)"))
    }

    public mutating func healNetwork() {
        blockedLinks = []
        trace.record(now, .note("network healed"))
    }

    /// Ends the faulty phase: a reliable network, every node up, no more nemesis.
    mutating func heal() {
        crashDuringWrite = nil
        isNetworkFaulty = false
        isHealed = true
        healNetwork()
        for id in ids { restart(id) }
    }

    // MARK: Inspection and scripting (scenario tests)

    public func core(_ id: NodeID) -> RaftCore? { nodes[indexOf[id]!].core }

    /// The running node that leads the highest term, if any.
    public var leader: NodeID? {
        nodes.compactMap(\.core).filter(\.isLeader).max { $0.term < $1.term }?.id
    }

    public func messageCount(_ kind: MessageKind) -> Int { messageCounts[kind.rawValue] }
    public mutating func resetMessageCounts() {
        messageCounts = [Int](repeating: 0, count: MessageKind.allCases.count)
    }

    /// Proposes a command at a node, as a client would; returns its index, or nil when not leader.
    public mutating func propose(key: String, value: String, at id: NodeID) -> LogIndex? {
        let n = indexOf[id]!
        let command =
            switch options.machine {
            case .register: SimulatedCommand.put(key: key, value: value)
            case .keyValue: KVCommand.set([key: value]).encode()
            }
        guard nodes[n].isUp, let index = try? nodes[n].core!.propose(command) else {
            return nil
        }
        drain(n)
        return index
    }

    /// Makes a node start an election now, as a leadership transfer would.
    public mutating func campaign(_ id: NodeID) {
        let n = indexOf[id]!
        nodes[n].core?.campaign()
        drain(n)
    }

    /// The value a node's state machine holds for `key`.
    public func value(of key: String, at id: NodeID) -> String? {
        switch options.machine {
        case .register: nodes[indexOf[id]!].stateMachine[key]
        case .keyValue: nodes[indexOf[id]!].store.get(key)?.value
        }
    }

    public var recentTrace: [String] { trace.lines }

    mutating func fail(_ reason: String) {
        guard failure == nil else { return }
        failure = SimulationFailure(
            seed: options.seed, clusterSize: options.clusterSize, machine: options.machine, time: now,
            reason: reason, recentTrace: trace.lines)
    }
}

extension SimulatedCluster: CustomStringConvertible {
    /// A one-line summary; the full state is far too large for a test report.
    public var description: String {
        let roles = nodes.map { node in
            guard let core = node.core else { return "\(node.id):down" }
            return
                "\(node.id):\(core.role.name.rawValue)@\(core.term) last=\(core.log.lastIndex) commit=\(core.log.committed)"
        }
        return "SimulatedCluster(seed \(options.seed), t=\(now): \(roles.joined(separator: ", ")))"
    }
}

enum SimulationEvent {
    case tick(Int)
    case deliver(Envelope)
    case nemesis
    case clientWake(Int)
    case clientTimeout(Int, sequence: UInt64)
    case compact(Int, incarnation: Int, snapshot: LogIndex)
    case membership
}

struct Link: Hashable {
    var from: NodeID
    var to: NodeID
}

struct EntryFingerprint: Equatable {
    var kind: Entry.Kind
    var data: [UInt8]
    var previousTerm: Term
}

/// Message kinds, for counting (budgets) and for the trace.
public enum MessageKind: Int, CaseIterable, Sendable {
    case preVote, preVoteResponse, vote, voteResponse, append, appendResponse, heartbeat, heartbeatResponse
    case snapshotChunk, snapshotResponse, timeoutNow, readIndex, readIndexResponse

    init(_ message: Message) {
        switch message {
        case .requestVote(let m): self = m.isPreVote ? .preVote : .vote
        case .requestVoteResponse(let m): self = m.isPreVote ? .preVoteResponse : .voteResponse
        case .appendEntries: self = .append
        case .appendEntriesResponse: self = .appendResponse
        case .heartbeat: self = .heartbeat
        case .heartbeatResponse: self = .heartbeatResponse
        case .installSnapshot: self = .snapshotChunk
        case .installSnapshotResponse: self = .snapshotResponse
        case .timeoutNow: self = .timeoutNow
        case .readIndex: self = .readIndex
        case .readIndexResponse: self = .readIndexResponse
        }
    }

    public var name: String { "\(self)" }
}
