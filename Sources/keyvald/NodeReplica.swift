import KeyVal
import KeyValClient
import KeyValHTTP
import Raft

/// The HTTP layer's view of this node: `KVReplica` over `RaftNode<KVStateMachine>`. It turns the
/// node's errors into the API's, and names the leader by the addresses in the configuration so
/// the HTTP layer can forward to it.
struct NodeReplica: KVReplica {
    let node: RaftNode<KVStateMachine>
    let clusterID: String
    /// How long a write or a membership change may wait to commit. A leader cut off from the
    /// others cannot commit and learns of the new leader only when it hears from it; without a
    /// bound its clients would wait that long.
    var commitTimeout: Duration = .seconds(10)
    /// How long a request that finds no leader (an election, or a transfer, under way) waits for
    /// one before the client gets 503: elections end within about two election timeouts.
    var leaderWait: Duration = .seconds(1)
    /// Where this node's transport listens, as peers dial it.
    var raftAddress: String
    /// Members' HTTP addresses learned outside the log (a joiner's first `/status`), for a leader
    /// the configuration does not name yet.
    var httpAddresses: HTTPAddressBook
    /// Asks who listens at a Raft address (`TCPTransport.identify`); the leader checks a new
    /// member's address with it before it proposes the change.
    var identify: @Sendable (_ raftAddress: String) async throws(IdentifyError) -> WireCodec.Hello

    func write(_ command: KVCommand) async throws(ReplicaError) -> KVResult {
        let bytes = command.encode()
        return try await whenLeaderKnown { () async throws(ReplicaError) -> KVResult in
            let output: KVResult?
            switch await waiting(
                atMost: commitTimeout,
                for: { [node] () async throws(NodeError) in try await node.propose(bytes) }
            ) {
            case .success(let result): output = result
            case .failure(let error): throw map(error)
            case nil: throw .outcomeUnknown(reason: "not committed within \(commitTimeout); it may still be")
            }
            // Every command entry applies to a result; nil would mean the entry was not a command.
            guard let output else { throw .unavailable(reason: "the entry applied without a result") }
            return output
        }
    }

    func read(_ key: String, consistency: ReadConsistency) async throws(ReplicaError) -> KVItem? {
        if consistency == .stale {
            do {
                return try await node.staleRead { $0.store.get(key) }
            } catch {
                throw map(error)
            }
        }
        // Served here on any node that knows a leader, follower or learner too: a follower asks the
        // leader for a read index and answers once it has applied that far (thesis §6.4). It is
        // never forwarded. With no leader known, or a confirmation that failed because leadership
        // moved (or the leader did not answer), it is asked again here until `leaderWait` has
        // passed: a read changes nothing, so asking again is always safe.
        let deadline = ContinuousClock.now + leaderWait
        while true {
            do throws(NodeError) {
                return try await node.linearizableRead { $0.store.get(key) }
            } catch .readFailed, .notLeader(leaderHint: nil) {
                guard ContinuousClock.now < deadline else { throw .notLeader(leader: nil) }
                try? await Task.sleep(for: .milliseconds(2))
            } catch {
                throw map(error)
            }
        }
    }

    /// Runs `attempt`; if it finds no leader (an election or a leadership transfer under way),
    /// waits up to `leaderWait` for one rather than fail the client: then tries again here if this
    /// node won, or lets the HTTP layer forward to the winner. Nothing was proposed in that case,
    /// so trying again cannot apply anything twice.
    private func whenLeaderKnown<T>(_ attempt: () async throws(ReplicaError) -> T) async throws(ReplicaError)
        -> T
    {
        do {
            return try await attempt()
        } catch .notLeader(leader: nil) {
            let deadline = ContinuousClock.now + leaderWait
            while ContinuousClock.now < deadline {
                let status = await node.status
                if let leader = status.leader, status.leadershipTransferTarget == nil {
                    if leader == status.id { return try await attempt() }
                    throw .notLeader(leader: self.leader(named: leader, in: status.configuration))
                }
                try? await Task.sleep(for: .milliseconds(2))
            }
            throw .notLeader(leader: nil)
        }
    }

    /// A new node joins as a learner that the leader promotes once it has caught up, so adding it
    /// never costs availability (thesis §4.2.1). A member joining again keeps its role; only its
    /// addresses may change (a restart with the same addresses changes nothing).
    ///
    /// Before it proposes a new member or a member's new Raft address, the leader asks that address
    /// who listens there: a node of another cluster, or another node, would be a learner that can
    /// never catch up (another cluster's node refuses our connections), and an address where no
    /// keyval node answers is a typo. Only the leader checks (a follower forwards the request); a
    /// repeated join at the same address needs no check.
    func addMember(_ request: JoinRequest) async throws(ReplicaError) {
        let id = NodeID(request.id)
        if let theirs = request.clusterID, theirs != clusterID {
            throw .invalidMembershipChange(
                reason: "\(id)'s data belongs to cluster \(theirs); this is cluster \(clusterID)")
        }
        let status = await node.status
        if status.role == .leader, status.configuration.member(id)?.raftAddress != request.addr {
            // Another process calling itself by the leader's id: it would answer the check.
            if id == status.id, request.addr != raftAddress {
                throw .memberConflict(
                    reason:
                        "\(id) was not added at \(request.addr): \(id) is this node, the leader, at \(raftAddress)"
                )
            }
            try await check(id, at: request.addr)
        }
        var member: Member
        if let known = node.configuration.member(id) {
            member = known
            member.raftAddress = request.addr
            // The example's body has no HTTP address: keep the one already known, not erase it.
            if let haddr = request.haddr { member.httpAddress = haddr }
        } else {
            member = Member(
                id: id, raftAddress: request.addr, httpAddress: request.haddr ?? "", isVoter: false,
                promotesWhenCaughtUp: true)
        }
        try await change(.addOrUpdate(member))
    }

    /// Refuses the join unless `address` answers the Raft hello as node `id` of this cluster.
    private func check(_ id: NodeID, at address: String) async throws(ReplicaError) {
        let hello: WireCodec.Hello
        do {
            hello = try await identify(address)
        } catch {
            let timedOut = if case .timedOut = error { true } else { false }
            throw .memberUnreachable(
                reason: "\(id) was not added: \(error); is \(address) the Raft address of a running keyvald?",
                timedOut: timedOut)
        }
        if hello.clusterID != clusterID {
            throw .memberConflict(
                reason:
                    "\(id) was not added: the node at \(address) belongs to cluster \(hello.clusterID.isEmpty ? "(none)" : hello.clusterID), this is cluster \(clusterID); a node with another cluster's data cannot join"
            )
        }
        if hello.sender != id {
            throw .memberConflict(
                reason: "\(id) was not added: the node at \(address) is \(hello.sender), not \(id)")
        }
    }

    func removeMember(id: String, force: Bool) async throws(ReplicaError) {
        let removed = NodeID(id)
        let status = await node.status
        // Only the leader knows who is up; a follower's call is refused below and forwarded.
        if !force, status.role == .leader, status.configuration.isVoter(removed) {
            let remaining = status.configuration.voters.filter { $0 != removed }
            let up = remaining.filter { $0 == status.id || status.reachable.contains($0) }
            let quorum = ClusterConfiguration(voters: remaining).quorum
            if up.count < quorum {
                throw .invalidMembershipChange(
                    reason:
                        "removing \(removed) would leave \(remaining.count) voters of which \(up.count) are up (\(up.map(\.name).joined(separator: ", "))); writes need \(quorum). Bring voters back first, or add ?force=true"
                )
            }
        }
        try await change(.remove(removed))
    }

    func status() async -> StatusReport {
        let status = await node.status
        let configuration = status.configuration
        let role: String =
            switch status.role {
            case .leader: "leader"
            case .candidate, .preCandidate: "candidate"
            case .follower: configuration.isVoter(status.id) ? "follower" : "learner"
            }
        let members = configuration.members.map { member in
            let progress = status.followers[member.id]
            // The leader holds what it has synced, as `replicaCount(holding:)` counts it.
            let match =
                member.id == status.id && status.role == .leader ? status.stableIndex : progress?.match
            return StatusReport.Member(
                id: member.id.name, haddr: member.httpAddress, raddr: member.raftAddress,
                voter: member.isVoter, promoting: member.promotesWhenCaughtUp,
                matchIndex: status.role == .leader ? match?.value : nil,
                lag: status.role == .leader
                    ? match.map { status.lastIndex.value - min($0.value, status.lastIndex.value) } : nil,
                reachable: status.role == .leader
                    ? member.id == status.id || status.reachable.contains(member.id) : nil)
        }
        return StatusReport(
            id: status.id.name, role: role, term: status.term.value,
            leader: status.leader.map { leader(named: $0, in: configuration) },
            commitIndex: status.commitIndex.value, appliedIndex: status.appliedIndex.value,
            lastIndex: status.lastIndex.value, snapshotIndex: status.snapshotIndex.value,
            clusterID: clusterID, members: members, configurationIndex: status.configurationIndex.value,
            configurationCommitted: status.configurationIndex <= status.commitIndex)
    }

    /// What the node last published: no hop to its loop on the write path.
    func replicaCount(holding version: LogIndex) -> Int? { node.replicaCount(holding: version) }

    private func change(_ change: MembershipChange) async throws(ReplicaError) {
        switch await waiting(
            atMost: commitTimeout,
            for: { [node] () async throws(NodeError) in try await node.changeMembership(change) })
        {
        case .success: return
        case .failure(let error): throw map(error)
        case nil:
            throw .outcomeUnknown(reason: "the change did not commit within \(commitTimeout); it may still")
        }
    }

    /// The leader as the configuration names it; its HTTP address from `httpAddresses` when the
    /// configuration has none for it. A node that has just joined hears from the leader before
    /// its log holds the configuration that names it (the entries, or a snapshot, are still on
    /// their way), and it must be able to forward from that moment.
    private func leader(named id: NodeID, in configuration: ClusterConfiguration) -> StatusReport.Leader {
        let member = configuration.member(id)
        var haddr = member?.httpAddress ?? ""
        if haddr.isEmpty { haddr = httpAddresses.address(of: id) ?? "" }
        return StatusReport.Leader(id: id.name, haddr: haddr, raddr: member?.raftAddress ?? "")
    }

    private func map(_ error: NodeError) -> ReplicaError {
        switch error {
        case .notLeader(let hint):
            return .notLeader(leader: hint.map { leader(named: $0, in: node.configuration) })
        case .dropped:
            return .outcomeUnknown(reason: "leadership changed before the request committed")
        case .readFailed:
            return .outcomeUnknown(reason: "leadership changed before the read was confirmed")
        case .stopped:
            return .unavailable(reason: "the node is shutting down")
        case .membershipChangeInProgress:
            return .membershipChangeInProgress
        case .invalidMembershipChange(let reason):
            return .invalidMembershipChange(reason: reason)
        case .leadershipTransferInProgress:
            // Nothing was proposed: the caller may wait for the next leader (`whenLeaderKnown`).
            return .notLeader(leader: nil)
        case .leadershipTransferFailed(.invalidTarget(let reason)):
            // Bad input: nothing was started (the target is this node, not a voter, or none is up).
            return .invalidMembershipChange(reason: "leadership transfer refused: \(reason)")
        case .leadershipTransferFailed(let failure):
            return .leadershipTransferFailed(reason: failure.description)
        }
    }

    func transferLeadership(to target: String?) async throws(ReplicaError) -> String {
        do {
            return try await node.transferLeadership(to: target.map { NodeID($0) }).name
        } catch {
            throw map(error)
        }
    }
}
