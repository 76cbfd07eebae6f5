import NIOCore
import NIOPosix
import Synchronization

/// How the shell runs a core.
public struct RaftNodeOptions: Sendable {
    /// One core tick. Election and heartbeat timeouts are counted in ticks (`RaftConfig`).
    public var tickInterval: Duration
    /// Take a snapshot once this many entries were applied since the last one (0: never)...
    public var snapshotThreshold: Int
    /// ...or once this many bytes of entries were (0: no byte limit), whichever comes first, so
    /// the log's memory stays bounded however large the commands are.
    public var snapshotThresholdBytes: Int
    /// Entries kept in the log behind a snapshot, so a follower a little behind catches up from the
    /// log rather than needing the whole snapshot (§7).
    public var snapshotKeepEntries: Int
    /// NEGATIVE CONTROL, for tests only: each `Ready`'s messages are sent before it is persisted,
    /// breaking persist-before-send (Figure 2: a node must never speak of a vote or an entry it
    /// could forget in a crash), so the crash harness can show that its safety checks catch the
    /// break. Read once per `Ready`. Never set in production.
    public var sendsBeforePersisting = false
    /// NEGATIVE CONTROL, for tests only: each queued input is handled and its `Ready`s processed
    /// before the next input is looked at, so proposals queued together no longer share a sync
    /// (the group-commit test shows one sync per proposal). Read once per pass. Never set in
    /// production.
    public var processesInputsOneAtATime = false
    /// A pass of the loop that takes longer than this is reported (`NodeEvent.slowPass`).
    public var slowPassThreshold: Duration = .milliseconds(100)
    /// How much compacted entry data the log store may delete in one pass of the loop
    /// (`LogStore.reclaimSpace`): about 5 ms of work here, against a 50 ms heartbeat.
    public var reclaimBytesPerPass = 1 << 20

    public init(
        tickInterval: Duration = .milliseconds(50), snapshotThreshold: Int = 10_000,
        snapshotThresholdBytes: Int = 64 << 20, snapshotKeepEntries: Int = 1_000
    ) {
        precondition(
            tickInterval > .zero && snapshotThreshold >= 0 && snapshotThresholdBytes >= 0
                && snapshotKeepEntries >= 0,
            "bad node options")
        self.tickInterval = tickInterval
        self.snapshotThreshold = snapshotThreshold
        self.snapshotThresholdBytes = snapshotThresholdBytes
        self.snapshotKeepEntries = snapshotKeepEntries
    }
}

/// What a node reports about itself.
public struct RaftNodeStatus: Sendable, Equatable {
    public var id: NodeID
    public var role: RoleName
    public var term: Term
    public var leader: NodeID?
    public var commitIndex: LogIndex
    public var appliedIndex: LogIndex
    public var lastIndex: LogIndex
    public var snapshotIndex: LogIndex
    /// The configuration in effect, and the index of the entry that made it.
    public var configuration: ClusterConfiguration
    public var configurationIndex: LogIndex
    /// On a leader: each other member's replication progress (voters and learners).
    public var followers: [NodeID: Progress]
    /// On a leader: the followers it heard from within the last election timeout.
    public var reachable: Set<NodeID>
    /// On a leader handing leadership over: to whom.
    public var leadershipTransferTarget: NodeID?
    /// On a follower receiving a snapshot: bytes received of the total.
    public var incomingSnapshot: (index: LogIndex, received: UInt64, total: UInt64)?
    /// The last index known to be on this node's disk (entries after it are appended but not yet
    /// synced); what a leader counts itself as holding.
    public var stableIndex: LogIndex

    public static func == (lhs: RaftNodeStatus, rhs: RaftNodeStatus) -> Bool {
        lhs.id == rhs.id && lhs.role == rhs.role && lhs.term == rhs.term && lhs.leader == rhs.leader
            && lhs.commitIndex == rhs.commitIndex && lhs.appliedIndex == rhs.appliedIndex
            && lhs.lastIndex == rhs.lastIndex && lhs.stableIndex == rhs.stableIndex
            && lhs.snapshotIndex == rhs.snapshotIndex
            && lhs.followers == rhs.followers && lhs.reachable == rhs.reachable
            && lhs.leadershipTransferTarget == rhs.leadershipTransferTarget
            && lhs.configuration == rhs.configuration
            && lhs.configurationIndex == rhs.configurationIndex
            && lhs.incomingSnapshot?.index == rhs.incomingSnapshot?.index
            && lhs.incomingSnapshot?.received == rhs.incomingSnapshot?.received
    }
}

/// Something the node did that an operator wants to hear about, beyond the core's own events.
public enum NodeEvent: Sendable, Equatable {
    case raft(RaftEvent)
    case snapshotTaken(index: LogIndex, bytes: Int)
    case snapshotInstalled(index: LogIndex, bytes: Int)
    /// Storage failed: the node stops rather than run without durability.
    case storageFailed(String)
    /// One pass of the loop took longer than `RaftNodeOptions.slowPassThreshold`: while it ran,
    /// this node sent no heartbeat and read no message, so a long one costs an election. Says
    /// where the time went.
    case slowPass(LoopPassTimings)
}

/// Where one pass of the node's loop spent its time.
public struct LoopPassTimings: Sendable, Equatable, CustomStringConvertible {
    public var total: Duration = .zero
    /// Writing the log store (entries, hard state, commit index; their sync).
    public var persisting: Duration = .zero
    /// Applying committed entries to the state machine and restoring snapshots.
    public var applying: Duration = .zero
    /// Dropping log entries a saved snapshot covers.
    public var compacting: Duration = .zero
    /// Copying the state machine's state for a snapshot.
    public var startingSnapshot: Duration = .zero
    public var inputs = 0
    public var readies = 0

    public init() {}

    public var description: String {
        func ms(_ d: Duration) -> String {
            let value = Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) * 1e-15
            return value < 10
                ? String(Int((value * 10).rounded())).withDecimalPoint : String(Int(value.rounded()))
        }
        return
            "\(ms(total)) ms: persisting \(ms(persisting)), applying \(ms(applying)), compacting "
            + "\(ms(compacting)), starting a snapshot \(ms(startingSnapshot)); \(inputs) inputs, "
            + "\(readies) readies"
    }
}

extension String {
    /// "123" -> "12.3"; "7" -> "0.7": tenths written as a decimal.
    fileprivate var withDecimalPoint: String {
        let digits = count == 1 ? "0" + self : self
        return digits.dropLast() + "." + digits.suffix(1)
    }
}

/// The shell around a `RaftCore`: it owns the clock, the stores, the transport and the state
/// machine, and makes no protocol decisions (docs/design.md).
///
/// One loop (`run()`) owns the core and the state machine. Entry points (`receive`, `propose`,
/// reads) only enqueue; the loop takes everything queued at once, so a burst of proposals shares
/// one `Ready`, one transaction and one sync (group commit), then for each `Ready` it persists,
/// sends, applies and advances, in that order. Nothing inside a `Ready` awaits, so no other actor
/// call can observe the core between persisting and advancing.
public actor RaftNode<Machine: StateMachine> {
    /// The actor runs on a thread of its own (`NodeThreads`), so its blocking storage calls never
    /// hold a thread of the cooperative pool and its heartbeats never queue behind other tasks.
    private nonisolated let executor: any SerialExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    private var core: RaftCore
    private let machine: Machine
    private let logStore: any LogStore
    private let snapshotStore: SharedSnapshotStore
    private let transport: any RaftTransport
    private let options: RaftNodeOptions
    private let onEvent: @Sendable (NodeEvent) -> Void
    /// Internal, not private, so a test can see a burst queued (`Inbox.queuedProposals`).
    nonisolated let inbox = Inbox()

    private var proposals:
        [LogIndex: (term: Term, continuation: CheckedContinuation<Result<Machine.Output, NodeError>, Never>)] =
            [:]
    /// A leadership transfer this node started, waiting to learn that its target leads.
    private var transfer: (watch: LeadershipTransferWatch, continuation: TransferWaiter)?
    /// Membership changes waiting for their configuration entry to apply, by index.
    private var membershipChanges: [LogIndex: (term: Term, waiters: [MembershipWaiter])] = [:]
    /// The configuration in effect, readable without going through the loop (the transport looks
    /// up peer addresses in it).
    private let publishedConfiguration: Mutex<ClusterConfiguration>
    /// What `replicaCount(holding:)` reads, published by the loop (`publishReplication()`).
    private let publishedReplication = Mutex(ReplicationView())
    private var reads: [ReadRequestID: PendingRead] = [:]
    private var nextReadID: UInt64 = 1
    private var lastSnapshotIndex: LogIndex
    /// The commit index last recorded in the log store.
    private var recordedCommit: LogIndex
    /// Bytes of entries applied since the last snapshot.
    private var bytesSinceSnapshot = 0
    /// The index of the snapshot being encoded and saved off the loop, if one is; one at a time.
    private var snapshotInFlight: LogIndex?
    /// A snapshot the background job saved, for the loop to hand to the core and compact behind.
    private var savedSnapshot: Snapshot?
    /// Why the background job could not save a snapshot; the loop stops the node with it.
    private var snapshotFailure: StorageError?
    private var isStopped = false
    /// Whether the log store may hold compacted entries to delete (`reclaimLogSpace`); true at
    /// start, in case an earlier run left some.
    private var hasSpaceToReclaim = true
    /// Where the current pass of the loop spends its time, for `NodeEvent.slowPass`.
    private var pass = LoopPassTimings()

    public nonisolated let id: NodeID

    /// Opens a node on its stores: loads the newest snapshot and the log after it and restores the
    /// state machine. Throws `StorageError` (naming the file) if anything on disk is damaged.
    public init(
        config: RaftConfig, configuration: ClusterConfiguration, logStore: sending any LogStore,
        snapshotStore: sending any SnapshotStore, stateMachine: sending Machine, transport: any RaftTransport,
        options: RaftNodeOptions = RaftNodeOptions(), eventLoop: (any EventLoop)? = nil,
        onEvent: @escaping @Sendable (NodeEvent) -> Void = { _ in }
    ) throws(StorageError) {
        try self.init(
            config: config, configuration: configuration,
            storage: NodeStorage(logStore: logStore, snapshotStore: snapshotStore),
            stateMachine: stateMachine,
            transport: transport, options: options, eventLoop: eventLoop, onEvent: onEvent)
    }

    /// Opens a node on a data directory's stores (`DataDirectory.open`). The loop runs on
    /// `eventLoop`, by default one of `NodeThreads`; a test that blocks one node's thread on purpose
    /// gives each node a thread of its own.
    public init(
        config: RaftConfig, configuration: ClusterConfiguration, storage: sending NodeStorage,
        stateMachine: sending Machine, transport: any RaftTransport,
        options: RaftNodeOptions = RaftNodeOptions(), eventLoop: (any EventLoop)? = nil,
        onEvent: @escaping @Sendable (NodeEvent) -> Void = { _ in }
    ) throws(StorageError) {
        let logStore = storage.logStore
        let snapshotStore = storage.snapshotStore
        let recovered = try RecoveredState.load(logStore: logStore, snapshotStore: snapshotStore)
        if let snapshot = recovered.snapshot {
            do {
                try stateMachine.restore(from: snapshot.data)
            } catch {
                throw .corrupt(
                    path: "snapshot \(snapshot.metadata.index)",
                    reason: "the state machine refused it: \(error)")
            }
        }
        self.id = config.id
        self.executor = (eventLoop ?? NodeThreads.next()).executor
        self.core = RaftCore(
            config: config, configuration: recovered.snapshot?.metadata.configuration ?? configuration,
            hardState: recovered.hardState, log: recovered.log, snapshot: recovered.snapshot)
        self.machine = stateMachine
        self.logStore = logStore
        self.snapshotStore = SharedSnapshotStore(
            snapshotStore, newest: recovered.snapshot?.metadata.index ?? .zero)
        self.transport = transport
        self.options = options
        self.onEvent = onEvent
        self.lastSnapshotIndex = recovered.log.snapshotIndex
        self.recordedCommit = recovered.log.committed
        self.publishedConfiguration = Mutex(core.configuration)
    }

    /// The configuration in effect as of the loop's last pass; safe to call from any thread.
    public nonisolated var configuration: ClusterConfiguration { publishedConfiguration.withLock { $0 } }

    /// On the leader: how many members (voters and learners, itself included) are known to hold
    /// the entry at `index`. A follower counts once its acknowledged match reaches `index`; the
    /// leader counts itself once the entry is durable in its own log store. Nil when this node
    /// does not lead. Safe to call from any thread, and cheap: it reads what the loop last
    /// published, with no actor hop.
    ///
    /// The count is a lower bound. A follower that has stored the entry but whose acknowledgement
    /// has not arrived yet is not counted, and the view is as of the loop's last pass. For an
    /// entry this leader committed, and so for any write it answered, it is at least a quorum
    /// (unless a membership change removed members since): the matches that committed an entry
    /// are published before the entry is applied and its writer resumed.
    public nonisolated func replicaCount(holding index: LogIndex) -> Int? {
        publishedReplication.withLock { view in
            guard view.isLeading else { return nil }
            var count = 0
            for match in view.matches where match >= index { count += 1 }
            return count
        }
    }

    // MARK: Entry points (enqueue only)

    /// A message from a peer, from the transport.
    public nonisolated func receive(_ envelope: Envelope) { inbox.push(.receive(envelope)) }

    /// The transport lost its connection to `peer`.
    public nonisolated func reportUnreachable(_ peer: NodeID) { inbox.push(.unreachable(peer)) }

    /// Replicates `command` and returns the state machine's output once it is applied here.
    /// Fails with `.notLeader` at once on a follower, or `.dropped` if a new leader replaced it;
    /// a caller that stops waiting must treat the outcome as unknown (thesis §6.3).
    public nonisolated func propose(_ command: [UInt8]) async throws(NodeError) -> Machine.Output {
        let result = await withCheckedContinuation { continuation in
            inbox.push(.propose(command, continuation))
        }
        return try result.get()
    }

    /// Changes the cluster's membership, one server at a time, and returns once the change is
    /// committed and applied here. A change that changes nothing returns once the configuration
    /// in effect is committed. Fails with `.notLeader` on a follower, `.membershipChangeInProgress`
    /// while another change is in flight, `.invalidMembershipChange` if it makes no sense, or
    /// `.dropped` if a new leader replaced the entry.
    public nonisolated func changeMembership(_ change: MembershipChange) async throws(NodeError) {
        let result = await withCheckedContinuation { continuation in
            inbox.push(.changeMembership(change, continuation))
        }
        try result.get()
    }

    /// Hands leadership to `target` (or the most up-to-date voter that is up, when nil) and returns
    /// the target once this node has learned that the target leads (thesis §3.10). Meanwhile
    /// proposals fail with `.leadershipTransferInProgress`. Fails with `.notLeader` on a follower,
    /// or `.leadershipTransferFailed`: `.invalidTarget` or `.inProgress` if nothing was started,
    /// `.notTakenOver` with what happened instead otherwise (the target did not take over within an
    /// election timeout and this node still leads; this node lost its quorum or was removed;
    /// another node was elected; no leader became known soon after this node stepped down).
    public nonisolated func transferLeadership(to target: NodeID?) async throws(NodeError) -> NodeID {
        let result = await withCheckedContinuation { continuation in
            inbox.push(.transferLeadership(target, continuation))
        }
        return try result.get()
    }

    /// Runs `body` on the state machine once a linearizable read is safe (ReadIndex, thesis §6.4):
    /// the leader, confirmed by a quorum, knew the commit index when the read was asked (on a
    /// follower: when the follower's request reached it), and this node has applied that far.
    /// Any node that knows a leader serves it; `.notLeader(nil)` when none is known, `.readFailed`
    /// when the confirmation failed (leadership moved, or no answer came in an election timeout).
    public nonisolated func linearizableRead<T: Sendable>(_ body: @escaping @Sendable (Machine) -> T)
        async throws(NodeError) -> T
    {
        try await read(body, input: Input.read)
    }

    /// Runs `body` on the local state machine as it is now, which may lag the leader.
    public nonisolated func staleRead<T: Sendable>(_ body: @escaping @Sendable (Machine) -> T)
        async throws(NodeError) -> T
    {
        try await read(body, input: Input.staleRead)
    }

    private nonisolated func read<T: Sendable>(
        _ body: @escaping @Sendable (Machine) -> T, input: (PendingRead) -> Input
    ) async throws(NodeError) -> T {
        let result: Result<T, NodeError> = await withCheckedContinuation { continuation in
            let read = PendingRead(
                serve: { machine in continuation.resume(returning: .success(body(machine))) },
                fail: { error in continuation.resume(returning: .failure(error)) })
            inbox.push(input(read))
        }
        return try result.get()
    }

    public var status: RaftNodeStatus {
        var followers: [NodeID: Progress] = [:]
        for member in core.configuration.members where member.id != id {
            if let progress = core.progress(of: member.id) { followers[member.id] = progress }
        }
        return RaftNodeStatus(
            id: id, role: core.role.name, term: core.term, leader: core.leader,
            commitIndex: core.log.committed,
            appliedIndex: core.log.applied, lastIndex: core.log.lastIndex,
            snapshotIndex: core.log.snapshotIndex,
            configuration: core.configuration, configurationIndex: core.configurationIndex,
            followers: followers,
            reachable: Set(followers.filter { $0.value.ticksSinceHeard < core.config.electionTicks }.keys),
            leadershipTransferTarget: core.leadershipTransferTarget,
            incomingSnapshot: core.incomingSnapshot.map {
                ($0.metadata.index, UInt64($0.data.count), $0.totalBytes)
            }, stableIndex: core.log.stableIndex)
    }

    // MARK: The loop

    /// Runs the node until the task is cancelled or storage fails. Ticks come from `clock`.
    public func run<C: Clock>(clock: C) async throws where C.Duration == Duration {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [inbox, options] in
                while !Task.isCancelled {
                    try await clock.sleep(for: options.tickInterval)
                    inbox.push(.tick)
                }
            }
            defer { group.cancelAll() }
            do {
                // Apply what the stores say was committed before serving anything.
                try processInbox()
                for await _ in inbox.wakeups {
                    try processInbox()
                }
            } catch {
                stop(failing: .stopped)
                throw error
            }
            stop(failing: .stopped)
        }
    }

    public func run() async throws { try await run(clock: ContinuousClock()) }

    /// Stops the loop; pending proposals and reads fail with `.stopped`.
    public nonisolated func shutdown() { inbox.finish() }

    /// One pass of the loop: every input queued since the last pass, then every `Ready` they
    /// produced. So proposals queued together share one `Ready` and one sync (group commit): the
    /// leader writes entries at most once per pass that took proposals, and once more per pass
    /// whose commit index moved (recorded before applying).
    private func processInbox() throws(StorageError) {
        let started = ContinuousClock.now
        pass = LoopPassTimings()
        defer {
            pass.total = ContinuousClock.now - started
            if pass.total > options.slowPassThreshold { onEvent(.slowPass(pass)) }
        }
        let inputs = inbox.takeAll()
        pass.inputs = inputs.count
        if options.processesInputsOneAtATime {
            for input in inputs {
                handle(input)
                try processReadies()
            }
        } else {
            for input in inputs { handle(input) }
            try processReadies()
        }
        if let snapshotFailure {
            onEvent(.storageFailed("\(snapshotFailure)"))
            throw snapshotFailure
        }
        try timed(\.compacting) { () throws(StorageError) in
            try compactBehindSavedSnapshot()
            try reclaimLogSpace()
        }
        try timed(\.startingSnapshot) { () throws(StorageError) in try takeSnapshotIfDue() }
        let configuration = core.configuration
        publishedConfiguration.withLock { if $0 != configuration { $0 = configuration } }
        publishReplication()
    }

    private func processReadies() throws(StorageError) {
        while let ready = core.takeReady() {
            pass.readies += 1
            try process(ready)
        }
    }

    /// Runs `body`, adding the time it took to `pass[keyPath: phase]`.
    private func timed<T, Failure: Error>(
        _ phase: WritableKeyPath<LoopPassTimings, Duration>, _ body: () throws(Failure) -> T
    ) throws(Failure) -> T {
        let started = ContinuousClock.now
        defer { pass[keyPath: phase] += ContinuousClock.now - started }
        return try body()
    }

    /// Publishes, for `replicaCount(holding:)`, how far each member's log is known to match.
    /// Runs on every pass, so it writes in place and allocates only when the number of members
    /// changes. The leader's own entry is `stableIndex`, what `advance(_:)` marked durable, not
    /// `lastIndex`, which includes entries appended but not yet written.
    private func publishReplication() {
        publishedReplication.withLock { view in
            guard case .leader(let state) = core.role else {
                if view.isLeading {
                    view.isLeading = false
                    view.matches.removeAll(keepingCapacity: true)
                }
                return
            }
            view.isLeading = true
            let members = core.configuration.members
            if view.matches.count != members.count {
                view.matches.removeAll(keepingCapacity: true)
                view.matches.append(contentsOf: repeatElement(.zero, count: members.count))
            }
            for (k, member) in members.enumerated() {
                let match =
                    member.id == id ? core.log.stableIndex : (state.progress[member.id]?.match ?? .zero)
                if view.matches[k] != match { view.matches[k] = match }
            }
        }
    }

    private func handle(_ input: Input) {
        switch input {
        case .tick:
            core.tick()
            settleTransfer { $0.tick() }
        case .receive(let envelope):
            core.step(envelope)
        case .unreachable(let peer):
            core.reportUnreachable(peer)
        case .propose(let command, let continuation):
            do throws(ProposalError) {
                let index = try core.propose(command)
                proposals[index] = (core.term, continuation)
            } catch {
                switch error {
                case .notLeader(let hint):
                    continuation.resume(returning: .failure(.notLeader(leaderHint: hint)))
                case .leadershipTransferInProgress:
                    continuation.resume(returning: .failure(.leadershipTransferInProgress))
                }
            }
        case .read(let read):
            let readID = ReadRequestID(nextReadID)
            nextReadID += 1
            do throws(ProposalError) {
                try core.requestRead(readID)
                reads[readID] = read
            } catch {
                switch error {
                case .notLeader(let hint): read.fail(.notLeader(leaderHint: hint))
                case .leadershipTransferInProgress: read.fail(.leadershipTransferInProgress)
                }
            }
        case .snapshotSaved(let outcome):
            snapshotInFlight = nil
            switch outcome {
            case .success(let snapshot): savedSnapshot = snapshot
            case .failure(let error): snapshotFailure = error
            }
        case .staleRead(let read):
            read.serve(machine)
        case .transferLeadership(let target, let continuation):
            guard transfer == nil else {
                return continuation.resume(returning: .failure(.leadershipTransferFailed(.inProgress)))
            }
            do throws(TransferError) {
                let chosen = try core.transferLeadership(to: target)
                let watch = LeadershipTransferWatch(
                    target: chosen, id: id, electionTicks: core.config.electionTicks)
                transfer = (watch, continuation)
            } catch {
                switch error {
                case .notLeader(let hint):
                    continuation.resume(returning: .failure(.notLeader(leaderHint: hint)))
                case .invalidTarget(let reason):
                    continuation.resume(
                        returning: .failure(.leadershipTransferFailed(.invalidTarget(reason))))
                case .inProgress:
                    continuation.resume(returning: .failure(.leadershipTransferFailed(.inProgress)))
                }
            }
        case .changeMembership(let change, let continuation):
            do throws(MembershipError) {
                let index = try core.proposeMembershipChange(change)
                if index <= core.log.applied {
                    continuation.resume(returning: .success(()))
                } else {
                    let term = core.log.term(at: index) ?? core.term
                    membershipChanges[index, default: (term, [])].waiters.append(continuation)
                }
            } catch {
                let failure: NodeError =
                    switch error {
                    case .notLeader(let hint): .notLeader(leaderHint: hint)
                    case .changeInProgress: .membershipChangeInProgress
                    case .invalid(let reason): .invalidMembershipChange(reason)
                    }
                continuation.resume(returning: .failure(failure))
            }
        }
    }

    /// One `Ready`, in the order the core requires (`Ready`): durable first, then send, then
    /// restore and apply, then answer the waiters, then acknowledge. Nothing here awaits, so no
    /// other call observes the core in between. Each step is its own method so that persisting can
    /// move to a storage thread, and a leader can send while its own write is in flight (thesis
    /// §10.2.1: the leader's own log counts only once `advance` marks it durable).
    private func process(_ ready: Ready) throws(StorageError) {
        // A leader's appends go out before its own write (thesis §10.2.1), so followers write in
        // parallel with it: a write then waits for one sync on the leader and one on a follower,
        // side by side, not one after the other. The negative control sends first in every
        // `Ready`; read once per Ready, it costs this one branch.
        let sendsFirst = ready.canSendBeforePersisting || options.sendsBeforePersisting
        if sendsFirst { send(ready) }
        try timed(\.persisting) { () throws(StorageError) in try persist(ready) }
        if !sendsFirst { send(ready) }
        timed(\.applying) {
            if let snapshot = ready.snapshotToInstall { restore(from: snapshot) }
            apply(ready.entriesToApply)
        }
        answerReads(ready)
        report(ready.events)
        core.advance(ready)
    }

    /// Step 1: makes the `Ready` durable. A received snapshot first (then the log store drops what
    /// it covers), then the hard state, the entries and the commit index, in one transaction.
    private func persist(_ ready: Ready) throws(StorageError) {
        do {
            if let snapshot = ready.snapshotToInstall {
                _ = try snapshotStore.save(StoredSnapshot(metadata: snapshot.metadata, data: snapshot.data))
                try logStore.installSnapshot(index: snapshot.metadata.index, term: snapshot.metadata.term)
                hasSpaceToReclaim = true
            }
            // The commit index goes to disk before the entries it covers are applied, so a restart
            // applies at least as much again at once: the applied index never goes back.
            let commitToRecord = ready.entriesToApply.last.map(\.index).flatMap {
                $0 > recordedCommit ? $0 : nil
            }
            if ready.hardState != nil || !ready.entriesToAppend.isEmpty || commitToRecord != nil {
                try logStore.persist(
                    hardState: ready.hardState, entries: ready.entriesToAppend, commitIndex: commitToRecord)
                if let commitToRecord { recordedCommit = commitToRecord }
            }
        } catch {
            onEvent(.storageFailed("\(error)"))
            throw error
        }
    }

    /// Step 2: hands the messages to the transport, which never blocks the loop.
    private func send(_ ready: Ready) {
        if !ready.messages.isEmpty { transport.send(ready.messages) }
    }

    /// Step 3a: replaces the state machine with a snapshot from the leader. Proposals it covers
    /// can no longer be told apart from another leader's entries at their index.
    private func restore(from snapshot: Snapshot) {
        do {
            try machine.restore(from: snapshot.data)
        } catch {
            // The leader's snapshot passed its checksums in transit; a state machine that cannot
            // read it cannot go on consistently.
            preconditionFailure("\(id): state machine refused snapshot \(snapshot.metadata): \(error)")
        }
        lastSnapshotIndex = snapshot.metadata.index
        bytesSinceSnapshot = 0
        for (index, waiter) in proposals where index <= snapshot.metadata.index {
            // Replaced by the snapshot: whether it committed is unknown here; the leader knows.
            proposals[index] = nil
            waiter.continuation.resume(returning: .failure(.dropped))
        }
        for (index, change) in membershipChanges where index <= snapshot.metadata.index {
            membershipChanges[index] = nil
            for waiter in change.waiters { waiter.resume(returning: .failure(.dropped)) }
        }
        onEvent(.snapshotInstalled(index: snapshot.metadata.index, bytes: snapshot.data.count))
    }

    /// Step 3b: applies committed entries in order and resumes their proposers: with the output
    /// if the entry is theirs, `.dropped` if another term's entry took its index.
    private func apply(_ entries: [Entry]) {
        guard !entries.isEmpty else { return }
        // Applying resumes writers, who may ask `replicaCount(holding:)` before this pass ends:
        // publish the matches that committed these entries first, so a committed write never
        // reads as held by fewer than a quorum.
        publishReplication()
        for entry in entries {
            bytesSinceSnapshot += entry.byteSize
            let output = machine.apply(entry)
            if let waiter = proposals.removeValue(forKey: entry.index) {
                waiter.continuation.resume(
                    returning: waiter.term == entry.term ? .success(output) : .failure(.dropped))
            }
            if let change = membershipChanges.removeValue(forKey: entry.index) {
                let result: Result<Void, NodeError> =
                    change.term == entry.term ? .success(()) : .failure(.dropped)
                for waiter in change.waiters { waiter.resume(returning: result) }
            }
        }
    }

    /// Step 4: answers the reads this `Ready` released (after its entries were applied) or failed.
    private func answerReads(_ ready: Ready) {
        for readID in ready.readsToServe { reads.removeValue(forKey: readID)?.serve(machine) }
        for readID in ready.readsFailed { reads.removeValue(forKey: readID)?.fail(.readFailed) }
    }

    /// Step 5: reports the core's events, which may settle a leadership transfer.
    private func report(_ events: [RaftEvent]) {
        for event in events {
            onEvent(.raft(event))
            settleTransfer { $0.observe(event) }
        }
    }

    /// Answers the pending leadership transfer if `step` settles it.
    private func settleTransfer(_ step: (inout LeadershipTransferWatch) -> LeadershipTransferWatch.Outcome?) {
        guard var pending = transfer else { return }
        let outcome = step(&pending.watch)
        transfer = pending
        switch outcome {
        case nil:
            return
        case .tookOver:
            transfer = nil
            pending.continuation.resume(returning: .success(pending.watch.target))
        case .failed(let failure):
            transfer = nil
            pending.continuation.resume(returning: .failure(.leadershipTransferFailed(failure)))
        }
    }

    /// Starts a snapshot once enough was applied since the last one. The loop only takes a copy
    /// of the state (cheap: `StateMachine.snapshotState()`); encoding and saving it happen on a
    /// thread of NIO's blocking pool, while the loop goes on replicating, applying and sending
    /// heartbeats (§7: each server snapshots on its own, while it serves). Encoding a large state
    /// on the loop once took longer than an election timeout, and every snapshot deposed the
    /// leader. When the save is done the loop hands the snapshot to the core and compacts the log
    /// behind it (`compactBehindSavedSnapshot`).
    private func takeSnapshotIfDue() throws(StorageError) {
        let applied = core.log.applied
        let enoughEntries =
            options.snapshotThreshold > 0
            && applied.value >= lastSnapshotIndex.value + UInt64(options.snapshotThreshold)
        let enoughBytes =
            options.snapshotThresholdBytes > 0 && bytesSinceSnapshot >= options.snapshotThresholdBytes
        guard snapshotInFlight == nil, applied > lastSnapshotIndex, enoughEntries || enoughBytes,
            let metadata = core.snapshotMetadata(at: applied)
        else { return }
        snapshotInFlight = applied
        lastSnapshotIndex = applied
        bytesSinceSnapshot = 0
        let state = machine.snapshotState()
        NIOThreadPool.singleton.submit { [snapshotStore, inbox] workState in
            guard workState == .active else {
                return inbox.push(
                    .snapshotSaved(
                        .failure(
                            .io(
                                path: "snapshot \(metadata.index)", operation: "save a snapshot",
                                reason: "the blocking thread pool is shut down"))))
            }
            let data = Machine.encodeSnapshot(state)
            let outcome = Result { () throws(StorageError) in
                try snapshotStore.save(StoredSnapshot(metadata: metadata, data: data))
            }
            // Superseded: a newer snapshot from the leader was installed while this one was encoded.
            inbox.push(
                .snapshotSaved(outcome.map { $0 == .saved ? Snapshot(metadata: metadata, data: data) : nil }))
        }
    }

    /// Hands a snapshot the background job saved to the core, which keeps it for followers that
    /// need it and forgets the log through it (keeping `snapshotKeepEntries` for slightly lagging
    /// followers, §7), then compacts the log store the same way.
    private func compactBehindSavedSnapshot() throws(StorageError) {
        guard let snapshot = savedSnapshot else { return }
        savedSnapshot = nil
        let index = snapshot.metadata.index
        let keep = UInt64(options.snapshotKeepEntries)
        // A newer snapshot from the leader may have been installed meanwhile: the core then
        // ignores this one, and the log store is already compacted further.
        core.snapshotTaken(snapshot, compactingThrough: LogIndex(index.value > keep ? index.value - keep : 0))
        do {
            try logStore.compact(through: core.log.snapshotIndex)
            hasSpaceToReclaim = true
        } catch {
            onEvent(.storageFailed("\(error)"))
            throw error
        }
        onEvent(.snapshotTaken(index: index, bytes: snapshot.data.count))
    }

    /// Deletes some of what compactions left behind in the log store, a bounded amount per pass
    /// (`RaftNodeOptions.reclaimBytesPerPass`), so the loop goes back to heartbeating soon.
    private func reclaimLogSpace() throws(StorageError) {
        guard hasSpaceToReclaim else { return }
        do {
            hasSpaceToReclaim = try logStore.reclaimSpace(maxBytes: options.reclaimBytesPerPass)
        } catch {
            onEvent(.storageFailed("\(error)"))
            throw error
        }
    }

    private func stop(failing error: NodeError) {
        guard !isStopped else { return }
        isStopped = true
        for (_, waiter) in proposals { waiter.continuation.resume(returning: .failure(error)) }
        proposals = [:]
        for (_, change) in membershipChanges {
            for waiter in change.waiters { waiter.resume(returning: .failure(error)) }
        }
        membershipChanges = [:]
        transfer?.continuation.resume(returning: .failure(error))
        transfer = nil
        for (_, read) in reads { read.fail(error) }
        reads = [:]
        for input in inbox.takeAll() {
            switch input {
            case .propose(_, let continuation): continuation.resume(returning: .failure(error))
            case .read(let read), .staleRead(let read): read.fail(error)
            case .changeMembership(_, let continuation): continuation.resume(returning: .failure(error))
            case .transferLeadership(_, let continuation): continuation.resume(returning: .failure(error))
            case .tick, .receive, .unreachable, .snapshotSaved: break
            }
        }
    }

    // MARK: Inbox

    struct PendingRead: Sendable {
        var serve: @Sendable (Machine) -> Void
        var fail: @Sendable (NodeError) -> Void
    }

    enum Input: Sendable {
        case tick
        case receive(Envelope)
        case unreachable(NodeID)
        case propose([UInt8], CheckedContinuation<Result<Machine.Output, NodeError>, Never>)
        case read(PendingRead)
        case staleRead(PendingRead)
        /// The background job finished saving a snapshot this node took (`takeSnapshotIfDue`).
        case snapshotSaved(Result<Snapshot?, StorageError>)
        case changeMembership(MembershipChange, MembershipWaiter)
        case transferLeadership(NodeID?, TransferWaiter)
    }

    /// On a leader, how far each member's log is known to match: one index per member of the
    /// configuration in effect, in its order (the leader's own is its durable last index).
    struct ReplicationView: Sendable {
        var isLeading = false
        var matches: [LogIndex] = []
    }

    typealias MembershipWaiter = CheckedContinuation<Result<Void, NodeError>, Never>
    typealias TransferWaiter = CheckedContinuation<Result<NodeID, NodeError>, Never>

    /// Inputs queue here; the loop wakes once per burst and takes them all, which is what lets a
    /// burst share one `Ready`.
    final class Inbox: Sendable {
        private let pending = Mutex<(inputs: [Input], isFinished: Bool)>(([], false))
        let wakeups: AsyncStream<Void>
        private let wake: AsyncStream<Void>.Continuation

        init() {
            (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        }

        func push(_ input: Input) {
            let accepted = pending.withLock { state in
                guard !state.isFinished else { return false }
                state.inputs.append(input)
                return true
            }
            if accepted {
                wake.yield()
            } else {
                // Answer right away rather than leave a caller waiting on a stopped node.
                switch input {
                case .propose(_, let continuation): continuation.resume(returning: .failure(.stopped))
                case .read(let read), .staleRead(let read): read.fail(.stopped)
                case .changeMembership(_, let continuation):
                    continuation.resume(returning: .failure(.stopped))
                case .transferLeadership(_, let continuation):
                    continuation.resume(returning: .failure(.stopped))
                case .tick, .receive, .unreachable, .snapshotSaved: break
                }
            }
        }

        /// Proposals queued and not yet taken by the loop (for tests: a burst is queued).
        var queuedProposals: Int {
            pending.withLock { state in
                state.inputs.count { if case .propose = $0 { true } else { false } }
            }
        }

        func takeAll() -> [Input] {
            pending.withLock { state in
                defer { state.inputs = [] }
                return state.inputs
            }
        }

        func finish() {
            pending.withLock { $0.isFinished = true }
            wake.finish()
        }
    }
}
