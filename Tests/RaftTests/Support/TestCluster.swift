import RaftCore
import Testing

// Helpers for driving one to three `RaftCore`s by hand: build them, tick them until they campaign,
// and move `Ready.messages` between them.

/// A core for tests: `electionTicks: 10, heartbeatTicks: 1, randomSeed: 1` unless a test needs otherwise.
func makeCore(
    _ id: NodeID, voters: [NodeID], hardState: HardState = HardState(), log: RaftLog = RaftLog(),
    maxAppendBytes: Int = 1 << 20, seed: UInt64 = 1, testingFault: TestingFault? = nil
) -> RaftCore {
    let config = RaftConfig(
        id: id, electionTicks: 10, heartbeatTicks: 1, maxAppendBytes: maxAppendBytes, randomSeed: seed,
        testingFault: testingFault)
    return RaftCore(
        config: config, configuration: ClusterConfiguration(voters: voters), hardState: hardState, log: log)
}

/// A recovered log of consecutive entries with the given terms, starting at index 1.
func makeLog(terms: [UInt64]) -> RaftLog {
    RaftLog(entries: makeEntries(from: 1, terms: terms))
}

/// Consecutive entries starting at `first`, one per term in `terms`.
func makeEntries(from first: UInt64, terms: [UInt64]) -> [Entry] {
    terms.enumerated().map { k, term in Entry(term: Term(term), index: LogIndex(first + UInt64(k))) }
}

/// Terms of `count` entries repeated: `runs([(1, 3), (2, 2)]) == [1, 1, 1, 2, 2]`.
func runs(_ runs: [(term: UInt64, count: Int)]) -> [UInt64] {
    runs.flatMap { Array(repeating: $0.term, count: $0.count) }
}

extension RaftCore {
    /// Whether `takeReady()` would hand out work, asked of a copy so that this core is untouched.
    /// Only after `advance(_:)`: a copy with a `Ready` in progress would trap.
    var hasReady: Bool {
        var copy = self
        return copy.takeReady() != nil
    }

    /// Ticks until the node leaves the follower role (starts a pre-vote or an election); returns the
    /// number of ticks that took. Records an issue if it never does.
    @discardableResult
    mutating func tickUntilCampaign(limit: Int = 100) -> Int {
        for ticks in 1...limit {
            tick()
            if role.name != .follower { return ticks }
        }
        Issue.record("\(id) did not campaign within \(limit) ticks")
        return limit
    }

    /// Takes the pending `Ready`, recording an issue and throwing if there is none; with `advance`
    /// (the default) also acknowledges it at once.
    mutating func requireReady(
        advance shouldAdvance: Bool = true, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> Ready {
        let ready = takeReady()
        if shouldAdvance, let ready { advance(ready) }
        return try #require(ready, "\(id) has no Ready", sourceLocation: sourceLocation)
    }

    /// Takes the pending `Ready` (if any), "persists and applies" it by doing nothing, and
    /// acknowledges it with `advance(_:)` at once.
    mutating func takeAndAdvance() -> Ready? {
        guard let ready = takeReady() else { return nil }
        advance(ready)
        return ready
    }
}

extension Ready {
    /// A `Ready` with the given parts, for exact comparisons in transcripts.
    static func expect(
        hardState: HardState? = nil, append: [Entry] = [], messages: [Envelope] = [], apply: [Entry] = [],
        serve: [ReadRequestID] = [], fail: [ReadRequestID] = [], events: [RaftEvent] = [],
        sendsBeforePersisting: Bool = false
    ) -> Ready {
        var ready = Ready()
        ready.hardState = hardState
        ready.entriesToAppend = append
        ready.messages = messages
        ready.entriesToApply = apply
        ready.readsToServe = serve
        ready.readsFailed = fail
        ready.events = events
        ready.canSendBeforePersisting = sendsBeforePersisting
        return ready
    }
}

extension Envelope {
    var isAppendEntries: Bool {
        if case .appendEntries = message { return true }
        return false
    }

    var isHeartbeat: Bool {
        if case .heartbeat = message { return true }
        return false
    }

    var appendEntries: AppendEntries? {
        if case .appendEntries(let request) = message { return request }
        return nil
    }

    var appendResult: AppendEntriesResponse.Result? {
        if case .appendEntriesResponse(let response) = message { return response.result }
        return nil
    }

    var isRejection: Bool {
        if case .rejected = appendResult { return true }
        return false
    }

    var isPreVote: Bool {
        switch message {
        case .requestVote(let request): request.isPreVote
        case .requestVoteResponse(let response): response.isPreVote
        default: false
        }
    }

    var voteResponse: RequestVoteResponse? {
        if case .requestVoteResponse(let response) = message { return response }
        return nil
    }
}

/// A hand-driven network of cores. Every `takeReady()` is followed at once by `advance(_:)` (the
/// "disk" and "state machine" are instantaneous), and its messages go into `inFlight` until a
/// test delivers them. Messages to or from an isolated node are dropped when delivered.
struct TestCluster {
    var nodes: [NodeID: RaftCore]
    /// Sent and not yet delivered, in send order.
    var inFlight: [Envelope] = []
    /// Every message ever delivered (not dropped), in delivery order.
    var delivered: [Envelope] = []
    /// Every `Ready` each node produced, in order.
    var readies: [NodeID: [Ready]] = [:]
    var isolated: Set<NodeID> = []

    init(_ cores: [RaftCore]) {
        nodes = Dictionary(uniqueKeysWithValues: cores.map { ($0.id, $0) })
    }

    /// A cluster of fresh nodes, all voters. The k-th node (from 0) is seeded with k + 1, so the first
    /// has the default seed and nodes ticked together do not time out in lockstep.
    init(ids: [NodeID], maxAppendBytes: Int = 1 << 20, testingFault: TestingFault? = nil) {
        self.init(
            ids.enumerated().map { k, id in
                makeCore(
                    id, voters: ids, maxAppendBytes: maxAppendBytes, seed: UInt64(k + 1),
                    testingFault: testingFault)
            })
    }

    var ids: [NodeID] { nodes.keys.sorted() }

    subscript(id: NodeID) -> RaftCore {
        get { nodes[id]! }
        set { nodes[id] = newValue }
    }

    /// Takes and advances `id`'s `Ready`, queueing its messages; returns it.
    @discardableResult
    mutating func collect(_ id: NodeID) -> Ready? {
        guard let ready = nodes[id]!.takeAndAdvance() else { return nil }
        readies[id, default: []].append(ready)
        inFlight += ready.messages
        return ready
    }

    /// Like `collect(_:)`, but records an issue and throws when there is no `Ready`.
    mutating func requireCollect(_ id: NodeID, sourceLocation: SourceLocation = #_sourceLocation) throws
        -> Ready
    {
        let ready = collect(id)
        return try #require(ready, "\(id) has no Ready", sourceLocation: sourceLocation)
    }

    /// Collects `id`'s `Ready` and expects it to equal `expected` exactly (nil: no work at all).
    mutating func expectReady(
        _ id: NodeID, _ expected: Ready?, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let ready = collect(id)
        #expect(ready == expected, "\(id)", sourceLocation: sourceLocation)
    }

    /// Collects every node's `Ready`, in sorted id order; returns whether any had one.
    @discardableResult
    mutating func collectAll() -> Bool {
        var any = false
        for id in ids where collect(id) != nil { any = true }
        return any
    }

    /// Delivers everything in flight (in send order) and returns what was delivered.
    @discardableResult
    mutating func deliverAll() -> [Envelope] {
        let batch = inFlight
        inFlight = []
        var handed: [Envelope] = []
        for envelope in batch where !isolated.contains(envelope.from) && !isolated.contains(envelope.to) {
            nodes[envelope.to]?.step(envelope)
            handed.append(envelope)
        }
        delivered += handed
        return handed
    }

    /// Collects and delivers until no node has work and nothing is in flight. Returns what was delivered.
    @discardableResult
    mutating func settle(maxRounds: Int = 100) -> [Envelope] {
        var all: [Envelope] = []
        for _ in 0..<maxRounds {
            let hadReady = collectAll()
            if !hadReady && inFlight.isEmpty { return all }
            all += deliverAll()
        }
        Issue.record("cluster did not settle within \(maxRounds) rounds")
        return all
    }

    /// Ticks `id` until it campaigns, then settles the cluster; `id` should end up leading.
    mutating func elect(_ id: NodeID) {
        nodes[id]!.tickUntilCampaign()
        settle()
        #expect(nodes[id]!.isLeader, "\(id) should have won the election")
    }

    /// Ticks every node once, in sorted order.
    mutating func tickAll() {
        for id in ids { nodes[id]!.tick() }
    }
}

// MARK: Building messages by hand

/// An envelope from `from` to `to` stamped with `term`.
func envelope(_ from: NodeID, _ to: NodeID, _ term: UInt64, _ message: Message) -> Envelope {
    Envelope(from: from, to: to, term: Term(term), message: message)
}

/// An entry at `index` of `term`.
func entry(_ index: UInt64, _ term: UInt64, _ kind: Entry.Kind = .command, data: [UInt8] = []) -> Entry {
    Entry(term: Term(term), index: LogIndex(index), kind: kind, data: data)
}

extension Message {
    static func vote(pre: Bool = false, lastIndex: UInt64 = 0, lastTerm: UInt64 = 0) -> Message {
        .requestVote(
            RequestVote(isPreVote: pre, lastLogIndex: LogIndex(lastIndex), lastLogTerm: Term(lastTerm)))
    }

    static func voteReply(pre: Bool = false, granted: Bool) -> Message {
        .requestVoteResponse(RequestVoteResponse(isPreVote: pre, granted: granted))
    }

    static func append(prev: UInt64, prevTerm: UInt64, _ entries: [Entry] = [], commit: UInt64 = 0) -> Message
    {
        .appendEntries(
            AppendEntries(
                prevLogIndex: LogIndex(prev), prevLogTerm: Term(prevTerm), entries: entries,
                leaderCommit: LogIndex(commit)))
    }

    static func appendOK(match: UInt64) -> Message {
        .appendEntriesResponse(AppendEntriesResponse(.accepted(matchIndex: LogIndex(match))))
    }

    static func appendRejected(at index: UInt64, conflictTerm: UInt64?, firstIndex: UInt64) -> Message {
        .appendEntriesResponse(
            AppendEntriesResponse(
                .rejected(
                    rejectedIndex: LogIndex(index), conflictTerm: conflictTerm.map(Term.init),
                    firstIndexOfConflict: LogIndex(firstIndex))))
    }

    static func beat(commit: UInt64 = 0, context: UInt64 = 0) -> Message {
        .heartbeat(Heartbeat(commit: LogIndex(commit), readContext: context))
    }

    static func beatReply(context: UInt64 = 0) -> Message {
        .heartbeatResponse(HeartbeatResponse(readContext: context))
    }
}

extension TestCluster {
    /// Collects and delivers round by round until `condition` holds (checked before each round).
    mutating func run(until condition: (TestCluster) -> Bool, maxRounds: Int = 100) {
        for _ in 0..<maxRounds {
            if condition(self) { return }
            collectAll()
            deliverAll()
        }
        if !condition(self) { Issue.record("condition not reached within \(maxRounds) rounds") }
    }

    /// Three fresh nodes n1..n3 with n1 elected, its no-op committed and applied everywhere
    /// (one heartbeat carried the commit index to the followers), and nothing in flight.
    static func caughtUp(
        ids: [NodeID] = ["n1", "n2", "n3"], maxAppendBytes: Int = 1 << 20, testingFault: TestingFault? = nil
    ) -> TestCluster {
        var cluster = TestCluster(ids: ids, maxAppendBytes: maxAppendBytes, testingFault: testingFault)
        cluster.elect(ids[0])
        cluster[ids[0]].tick()
        cluster.settle()
        for id in ids {
            #expect(cluster[id].log.applied == cluster[ids[0]].log.lastIndex, "\(id) should be caught up")
        }
        return cluster
    }
}

/// The voters of the usual three-node test cluster.
let three: [NodeID] = ["n1", "n2", "n3"]
