/// Why a proposal or read was refused; the caller can act on each case.
public enum ProposalError: Error, Sendable, Equatable {
    /// Only the leader accepts proposals and reads; `leaderHint` is the leader this node knows of.
    case notLeader(leaderHint: NodeID?)
    /// This leader is handing leadership over (thesis §3.10): ask the next one in a moment.
    case leadershipTransferInProgress
}

/// The Raft algorithm for one node (Ongaro & Ousterhout 2014, Figure 2, §5-§6; thesis §6.4, §9.6),
/// as a deterministic value: no I/O, no clock, no ambient randomness, no logging.
///
/// Inputs: `tick()`, `step(_:)` for a peer's message, `propose(_:)` and `requestRead(_:)`.
/// Outputs: `takeReady()` returns the work those inputs produced. The caller MUST persist what a
/// `Ready` says before sending its messages, and MUST call `advance(_:)` once the whole `Ready` is
/// done, before taking the next one (see `Ready`).
public struct RaftCore: Sendable {
    public let config: RaftConfig
    /// Every configuration from the snapshot's on; the latest is `configuration`.
    var configurations: ConfigurationHistory
    /// A committed configuration that dropped this node as a voter, not yet reported.
    var removalToReport: LogIndex?
    public var id: NodeID { config.id }

    public internal(set) var hardState: HardState
    public internal(set) var role: Role
    public internal(set) var log: RaftLog
    /// Linearizable reads in progress; confirmed ones survive a step-down (they were valid when confirmed).
    var reads = ReadIndexQueue()
    /// This node's reads waiting for a read index from its leader, while it follows one.
    var followerReads: FollowerReadRequests
    /// The latest snapshot, taken here or installed from a leader; sent to followers that need it.
    public internal(set) var snapshot: Snapshot?
    /// A snapshot arriving from the leader in chunks.
    public internal(set) var incomingSnapshot: IncomingSnapshot?
    /// A received snapshot not yet handed out in a `Ready`.
    var snapshotToInstall: Snapshot?

    /// Ticks since the last message from a live leader (follower), since the election began
    /// (candidates), or unused (leader).
    var electionElapsed = 0
    /// In `electionTicks ..< 2 * electionTicks`, drawn anew at each role change (§5.2).
    var randomizedElectionTimeout: Int
    var heartbeatElapsed = 0
    var random: SplitMix64

    // Output not yet handed out.
    var outbox: [Envelope] = []
    var events: [RaftEvent] = []
    var failedReads: [ReadRequestID] = []
    var persistedHardState: HardState
    var readyInProgress = false

    /// A node starting from what it had on disk (all of it empty for a new cluster). `log` must
    /// start right after `snapshot`, if there is one; the state machine is restored from it.
    /// `configuration` is the one in effect before any configuration entry of `log` (a snapshot
    /// carries its own): the cluster's voters for a static cluster, or empty for a node that will
    /// get everything from a leader (a bootstrapping node logs its configuration as entry 1).
    public init(
        config: RaftConfig, configuration: ClusterConfiguration, hardState: HardState = HardState(),
        log: RaftLog = RaftLog(), snapshot: Snapshot? = nil
    ) {
        precondition(
            log.snapshotIndex == (snapshot?.metadata.index ?? .zero),
            "log starts after \(log.snapshotIndex), snapshot is at \(snapshot?.metadata.index ?? .zero)")
        self.snapshot = snapshot
        self.config = config
        var configurations = ConfigurationHistory(
            base: snapshot?.metadata.configuration ?? configuration, at: log.snapshotIndex)
        for entry in log.entries { configurations.append(entry) }
        self.configurations = configurations
        self.hardState = hardState
        self.persistedHardState = hardState
        self.log = log
        self.role = .follower(leader: nil)
        self.random = SplitMix64(seed: config.randomSeed)
        self.randomizedElectionTimeout = config.electionTicks
        // A stream of its own, so read contexts do not shift the election jitter drawn from `random`.
        var contexts = SplitMix64(seed: config.randomSeed ^ 0x7265_6164_696e_6478)
        self.followerReads = FollowerReadRequests(firstContext: contexts.next())
        resetElectionTimer()
    }

    public var term: Term { hardState.term }
    public var isLeader: Bool { role.name == .leader }

    /// The leader this node currently follows (itself when leading), if known.
    public var leader: NodeID? {
        switch role {
        case .follower(let leader): leader
        case .leader: id
        case .preCandidate, .candidate: nil
        }
    }

    /// Linearizable reads accepted and not yet served or failed.
    public var pendingReadCount: Int { reads.pendingCount + followerReads.pendingCount }

    /// The leader's replication progress for `peer`; nil unless this node leads.
    public func progress(of peer: NodeID) -> Progress? {
        guard case .leader(let state) = role else { return nil }
        return state.progress[peer]
    }

    var quorum: Int { takesOneNodeForAQuorum ? 1 : configuration.quorum }

    // MARK: Inputs

    /// Advances logical time by one tick: elections for followers and candidates, heartbeats and
    /// the check-quorum pass for a leader.
    public mutating func tick() {
        // Nothing waits forever for a leader's answer that was lost (thesis §6.4).
        failedReads += followerReads.tick(timeout: config.electionTicks)
        if case .leader = role {
            tickAsLeader()
            return
        }
        electionElapsed += 1
        if electionElapsed >= randomizedElectionTimeout && mayCampaign {
            startElection()
        }
    }

    /// Handles a message from a peer. Stale, duplicated and reordered messages are expected and
    /// ignored where they could do harm; they never throw.
    public mutating func step(_ envelope: Envelope) {
        guard envelope.to == id, envelope.from != id else { return }
        guard admitTerm(of: envelope) else { return }

        switch envelope.message {
        case .requestVote(let request):
            handleRequestVote(request, from: envelope.from, term: envelope.term)
        case .requestVoteResponse(let response):
            handleRequestVoteResponse(response, from: envelope.from)
        case .appendEntries(let request):
            guard acceptLeader(envelope.from) else { return }
            handleAppendEntries(request, from: envelope.from)
        case .heartbeat(let heartbeat):
            guard acceptLeader(envelope.from) else { return }
            handleHeartbeat(heartbeat, from: envelope.from)
        case .appendEntriesResponse(let response):
            handleAppendEntriesResponse(response, from: envelope.from)
        case .heartbeatResponse(let response):
            handleHeartbeatResponse(response, from: envelope.from)
        case .installSnapshot(let chunk):
            guard acceptLeader(envelope.from) else { return }
            handleInstallSnapshot(chunk, from: envelope.from)
        case .installSnapshotResponse(let response):
            handleInstallSnapshotResponse(response, from: envelope.from)
        case .timeoutNow:
            // Only from the leader this node follows, in its term (§3.10).
            guard case .follower(let leader) = role, leader == envelope.from, mayCampaign else { return }
            becomeCandidate(isLeadershipTransfer: true)
        case .readIndex(let request):
            handleReadIndexRequest(request, from: envelope.from)
        case .readIndexResponse(let response):
            handleReadIndexResponse(response, from: envelope.from)
        }
    }

    /// Appends a command to the log if this node leads; returns its index. The command is
    /// committed once it is applied with this index and the current term.
    public mutating func propose(_ data: [UInt8]) throws(ProposalError) -> LogIndex {
        guard case .leader(let state) = role else { throw .notLeader(leaderHint: leader) }
        // Entries appended now might never reach the target before it takes over.
        guard state.transfer == nil else { throw .leadershipTransferInProgress }
        let entry = Entry(term: term, index: log.lastIndex.next, kind: .command, data: data)
        log.appendAsLeader(entry)  // replicated with the next Ready, committed after it is durable
        return entry.index
    }

    /// Starts a linearizable read (ReadIndex, thesis §6.4), on the leader or on a follower (a
    /// learner too) that knows its leader. The id comes back in `Ready.readsToServe` once the state
    /// machine may answer it, or in `Ready.readsFailed`. A follower asks its leader for a read
    /// index (one request for all reads accepted within one `Ready`) and serves once it has applied
    /// that index; it fails the read if its leader or term changes or no answer comes within an
    /// election timeout. Throws `.notLeader(leaderHint: nil)` on a node that knows no leader.
    public mutating func requestRead(_ id: ReadRequestID) throws(ProposalError) {
        switch role {
        case .leader:
            break
        case .follower(let leader?):
            if servesFollowerReadsAtOwnCommit {
                reads.confirm([id], at: log.committed)
                return
            }
            failedReads += followerReads.add(id, leader: leader, term: term)
            return
        case .follower(nil), .preCandidate, .candidate:
            throw .notLeader(leaderHint: nil)
        }
        // A leader that is removing itself does not count toward a quorum of heartbeat answers.
        guard configuration.isVoter(self.id) else { throw .notLeader(leaderHint: nil) }
        if servesReadsWithoutReadIndex {
            reads.confirm([id], at: .zero)
            return
        }
        if log.term(at: log.committed) != term {
            reads.awaitingTermCommit.append(.local(id))
            return
        }
        enqueueReads([.local(id)])
    }

    /// The driver durably saved `snapshot`, of the state machine after applying every entry through
    /// `snapshot.metadata.index` (get its metadata from `snapshotMetadata(at:)`). The core keeps it
    /// for followers that fall behind and forgets the log through `compactingThrough`: keeping some
    /// entries after the snapshot lets a slightly lagging follower catch up from the log instead
    /// (§7). The driver then compacts its log store through the same index.
    public mutating func snapshotTaken(_ snapshot: Snapshot, compactingThrough: LogIndex) {
        let index = snapshot.metadata.index
        precondition(index <= log.applied, "\(id): snapshot at \(index) beyond applied \(log.applied)")
        precondition(
            compactingThrough <= index,
            "\(id): compacting through \(compactingThrough) past snapshot \(index)")
        guard index > (self.snapshot?.metadata.index ?? .zero) else { return }
        precondition(
            log.term(at: index) == snapshot.metadata.term,
            "\(id): snapshot term \(snapshot.metadata.term) does not match the log at \(index)")
        self.snapshot = snapshot
        log.compact(through: compactingThrough)
        configurations.compact(through: compactingThrough)
    }

    /// The metadata a snapshot of the state machine at `index` (applied, not compacted) must carry.
    public func snapshotMetadata(at index: LogIndex) -> SnapshotMetadata? {
        guard index <= log.applied, let term = log.term(at: index) else { return nil }
        return SnapshotMetadata(
            index: index, term: term, configuration: configurations.configuration(at: index))
    }

    /// The transport could not reach `peer`: stop pipelining to it and probe once it is back.
    public mutating func reportUnreachable(_ peer: NodeID) {
        withLeaderState { state in
            guard var progress = state.progress[peer], progress.isPipelining else { return }
            progress.becomeProbe()
            state.progress[peer] = progress
        }
    }

    // MARK: Output

    /// Hands out the work produced since the last `Ready`, or nil when there is none.
    /// The caller MUST process it as `Ready` documents and then call `advance(_:)`.
    public mutating func takeReady() -> Ready? {
        precondition(!readyInProgress, "\(id): takeReady() called again before advance()")
        if isLeader {
            promoteCaughtUpLearners()
            sendAppendsToAll()
            retireRemovedPeers()
        }
        if isLeader && isConfigurationCommitted && !configuration.isVoter(id) {
            // Removed: tell the followers the change committed before stepping down (§4.2.2), so
            // they need not wait for the next leader to learn it.
            broadcastHeartbeat(readContext: 0)
        }
        handleCommittedRemoval()
        reads.isLastRoundOpen = false
        sendFollowerReadRequest()

        var ready = Ready()
        if hardState != persistedHardState { ready.hardState = hardState }
        ready.snapshotToInstall = snapshotToInstall
        ready.entriesToAppend = Array(log.unstableEntries)
        ready.messages = outbox
        ready.entriesToApply = Array(log.entriesToApply)
        ready.readsToServe = reads.takeServable(applied: ready.entriesToApply.last?.index ?? log.applied)
        ready.readsFailed = failedReads
        ready.events = events
        if ready.isEmpty { return nil }
        ready.canSendBeforePersisting =
            letsEveryNodeSendBeforePersisting
            || (isLeader && !ready.entriesToAppend.isEmpty && ready.hardState == nil
                && ready.snapshotToInstall == nil)

        outbox = []
        events = []
        failedReads = []
        snapshotToInstall = nil
        readyInProgress = true
        return ready
    }

    /// Acknowledges that `ready` was fully processed: its state is durable and its entries applied.
    public mutating func advance(_ ready: Ready) {
        precondition(readyInProgress, "\(id): advance() without a Ready in progress")
        readyInProgress = false
        if let hardState = ready.hardState { persistedHardState = hardState }
        if let last = ready.entriesToAppend.last {
            log.markStable(through: last.index, term: last.term)
        }
        // A snapshot installed since this Ready was taken may already cover what it applied.
        if let last = ready.entriesToApply.last, last.index > log.applied {
            log.markApplied(through: last.index)
        }
        // The leader counts its own log only once it is durable (thesis §10.2.1).
        if isLeader { commitIfQuorumReached() }
    }

    // MARK: Terms and roles

    /// Applies the term rules every message passes through (§5.1): a newer term makes this node a
    /// follower, an older one is answered (so a stale leader learns) or dropped. Returns whether
    /// the message should be handled further.
    mutating func admitTerm(of envelope: Envelope) -> Bool {
        if envelope.term > term {
            switch envelope.message {
            case .requestVote(let request):
                // A node that heard from a live leader recently refuses to be disrupted (thesis §9.6),
                // unless that leader asked for this election (a transfer, §3.10).
                if isWithinLeaderLease && !request.isLeadershipTransfer { return false }
                if request.isPreVote { return true }
                becomeFollower(term: envelope.term, leader: nil)
            case .requestVoteResponse(let response) where response.isPreVote && response.granted:
                // A granted pre-vote carries the term the candidate would campaign in.
                return true
            case .appendEntries, .heartbeat:
                becomeFollower(term: envelope.term, leader: envelope.from)
            default:
                becomeFollower(term: envelope.term, leader: nil)
            }
            return true
        }
        if envelope.term < term {
            switch envelope.message {
            case .appendEntries, .heartbeat:
                // A deposed leader that we may not disrupt with votes (check-quorum, pre-vote)
                // would otherwise never learn the new term.
                send(to: envelope.from, .heartbeatResponse(HeartbeatResponse(readContext: 0)))
            case .requestVote(let request) where request.isPreVote:
                send(
                    to: envelope.from,
                    .requestVoteResponse(RequestVoteResponse(isPreVote: true, granted: false)))
            default:
                break
            }
            return false
        }
        return true
    }

    /// Whether a live leader was heard from within the minimum election timeout.
    var isWithinLeaderLease: Bool {
        guard config.checkQuorum else { return false }
        switch role {
        case .leader: return true
        case .follower(let leader): return leader != nil && electionElapsed < config.electionTicks
        case .preCandidate, .candidate: return false
        }
    }

    /// An AppendEntries or heartbeat of the current term: its sender is the leader of this term.
    mutating func acceptLeader(_ sender: NodeID) -> Bool {
        switch role {
        case .leader:
            // Two leaders in one term cannot happen in a correct cluster; ignore rather than crash
            // so the simulation's invariant checks can name the broken variant that caused it.
            return false
        case .follower(let leader) where leader == sender:
            break
        case .follower, .preCandidate, .candidate:
            becomeFollower(term: term, leader: sender)
        }
        electionElapsed = 0
        return true
    }

    mutating func becomeFollower(term newTerm: Term, leader: NodeID?) {
        precondition(newTerm >= term, "\(id) term regressed \(term) → \(newTerm)")
        let previous = role
        let isNewTerm = newTerm > term
        if isNewTerm {
            hardState = HardState(term: newTerm, vote: nil)
            incomingSnapshot = nil  // its leader is gone
        }
        role = .follower(leader: leader)
        if previous.name != .follower || isNewTerm {
            events.append(.becameFollower(term: newTerm, leader: leader))
        } else if case .follower(let old) = previous, old != leader, let leader {
            events.append(.leaderChanged(term: newTerm, leader: leader))
        }
        if previous.name == .leader {
            for read in reads.drainUnconfirmed() {
                switch read {
                case .local(let id): failedReads.append(id)
                case .remote(let follower, let context):
                    // So the follower fails its reads now rather than after its timeout.
                    send(
                        to: follower, .readIndexResponse(ReadIndexResponse(context: context, readIndex: nil)))
                }
            }
        }
        resetElectionTimer()
    }

    mutating func resetElectionTimer() {
        electionElapsed = 0
        heartbeatElapsed = 0
        randomizedElectionTimeout =
            config.electionTicks + Int.random(in: 0..<config.electionTicks, using: &random)
    }

    /// Runs `body` on the leader's state if this node leads; a no-op otherwise.
    mutating func withLeaderState(_ body: (inout LeaderState) -> Void) {
        guard case .leader(var state) = role else { return }
        role = .follower(leader: nil)  // release the payload so `body` mutates it in place
        body(&state)
        role = .leader(state)
    }

    mutating func send(to peer: NodeID, _ message: Message) {
        outbox.append(Envelope(from: id, to: peer, term: term, message: message))
    }

    /// Voters other than this node, in sorted order: they are asked for votes.
    var otherVoters: [NodeID] { configuration.voters.filter { $0 != id } }
}
