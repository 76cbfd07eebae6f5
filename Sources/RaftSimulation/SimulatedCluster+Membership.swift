import RaftCore

/// Membership changes in the simulation (thesis §4.1-§4.3): the bootstrap configuration, the
/// random membership actions, and the invariants that concern configurations.
///
/// Every action goes through the current leader's `proposeMembershipChange`, as an operator's
/// `POST /join` would, interleaved with the nemesis's partitions, crashes and restarts. Removed
/// nodes keep running, ticking and sending until a crash or retirement stops them: pre-vote and
/// check-quorum are what must keep them from disrupting the cluster (thesis §4.2.3).
///
/// A removed node comes back in one of two ways, both safe:
/// - re-added under its id with its old disk (crashed or not). Raft treats it as a follower that
///   fell behind: everything it ever promised (its vote, the entries it acknowledged) is still on
///   its disk, so no message it sent in an earlier life can have become untrue;
/// - retired: its disk is wiped and its id is never used again; a fresh id takes its place in the
///   pool of spares and can be added later as a new node. Re-adding a wiped node under its old id
///   is the known-unsafe case: a vote or an append acknowledgement it sent before the wipe may
///   still be in flight (or counted by a leader), and would speak for a node that no longer holds
///   what it promised, so an entry could count as committed without being on a majority. The
///   simulation never does that.
extension SimulatedCluster {
    /// The member record of a simulated node (addresses are only labels here).
    public static func member(_ id: NodeID, isVoter: Bool = true, promotesWhenCaughtUp: Bool = false)
        -> Member
    {
        Member(
            id: id, raftAddress: "\(id.name).sim:7000", httpAddress: "\(id.name).sim:8000", isVoter: isVoter,
            promotesWhenCaughtUp: promotesWhenCaughtUp)
    }

    /// Puts the bootstrap configuration entry on each initial voter's disk: entry 1 of term 1,
    /// committed, with the current term 1. Every initial voter holds the same entry, so it is
    /// committed by construction (all of its voters store it), like etcd's static bootstrap; a node
    /// started with `keyvald -join` instead starts empty, like the spares here.
    mutating func bootstrap() {
        let configuration = ClusterConfiguration(members: initialVoters.map { Self.member($0) })
        let entry = Entry(
            term: Term(1), index: LogIndex(1), kind: .configuration, data: configuration.encoded())
        for id in initialVoters {
            let n = indexOf[id]!
            nodes[n].disk.hardState = HardState(term: Term(1))
            nodes[n].disk.entries = [entry]
            nodes[n].disk.commitIndex = entry.index
        }
        entriesSeen[entry.index, default: [:]][entry.term] = EntryFingerprint(
            kind: entry.kind, data: entry.data, previousTerm: .zero)
    }

    // MARK: Scripting (scenario tests)

    /// Proposes a membership change at a node, as an operator would; returns the index of its entry.
    @discardableResult
    public mutating func changeMembership(_ change: MembershipChange, at id: NodeID) throws(MembershipError)
        -> LogIndex
    {
        let n = indexOf[id]!
        guard nodes[n].isUp else { throw .notLeader(leaderHint: nil) }
        let index = try nodes[n].core!.proposeMembershipChange(change)
        trace.record(now, .note("\(id) proposes \(change) at \(index)"))
        drain(n)
        return index
    }

    // MARK: Random membership actions

    enum MembershipAction: CaseIterable {
        case addVoter, addLearner, promoteLearner, demoteVoter, removeFollower, removeLeader, retire
        /// Not a membership change, but an operator's action on the same footing: hand leadership
        /// to a given voter, or to the most up-to-date one (thesis §3.10).
        case transferLeadership
    }

    mutating func scheduleMembershipAction(afterTicks ticks: Int? = nil) {
        let mean = Int64(options.membershipEveryTicks) * options.tickInterval
        let delay =
            ticks.map { Int64($0) * options.tickInterval }
            ?? Int64.random(in: (mean / 2)...(mean * 3 / 2), using: &random)
        queue.schedule(.membership, at: now + delay)
    }

    /// One random membership action through the current leader, if there is one. A change refused
    /// because another is in progress is retried a few ticks later.
    mutating func runMembershipAction() {
        guard !isHealed else { return }
        guard let leaderID = leader, let leaderCore = core(leaderID) else {
            return scheduleMembershipAction()
        }
        let configuration = leaderCore.configuration
        let voters = configuration.voters
        let live = ids.filter { !nodes[indexOf[$0]!].isRetired }
        let outsiders = live.filter { configuration.member($0) == nil }
        let followers = configuration.members.map(\.id).filter { $0 != leaderID }
        // A node that was a member once (its disk is not empty) and whose removal is committed.
        let retirable =
            leaderCore.isConfigurationCommitted && ids.count < options.maxNodeIDs
            ? outsiders.filter { !nodes[indexOf[$0]!].disk.isEmpty } : []
        let canAddVoter = voters.count < options.maxVoters
        var possible: [MembershipAction] = []
        if !outsiders.isEmpty {
            possible.append(.addLearner)
            if canAddVoter { possible.append(.addVoter) }
        }
        if canAddVoter && !configuration.learners.isEmpty { possible.append(.promoteLearner) }
        if voters.count > 1 {
            if voters.contains(where: { $0 != leaderID }) { possible.append(.demoteVoter) }
            // With two voters this is the case that found the §4.2.2 bug (`RaftCore.mayCampaign`).
            if configuration.isVoter(leaderID) {
                possible.append(.removeLeader)
            }
        }
        // Removing a voter must leave one; a learner can always go.
        if followers.contains(where: { !configuration.isVoter($0) || voters.count > 1 }) {
            possible.append(.removeFollower)
        }
        if !retirable.isEmpty { possible.append(.retire) }
        if voters.count > 1 { possible.append(.transferLeadership) }
        guard let action = possible.randomElement(using: &random) else { return scheduleMembershipAction() }

        let change: MembershipChange
        switch action {
        case .addVoter, .addLearner:
            // A spare that never held anything joins empty; a removed node rejoins with its old disk.
            let id = outsiders.randomElement(using: &random)!
            // Half the learners join as keyvald's do: the leader promotes them once caught up.
            let promotes = action == .addLearner && canAddVoter && Bool.random(using: &random)
            change = .addOrUpdate(
                Self.member(id, isVoter: action == .addVoter, promotesWhenCaughtUp: promotes))
        case .promoteLearner:
            change = .addOrUpdate(Self.member(configuration.learners.randomElement(using: &random)!))
        case .demoteVoter:
            let id = voters.filter { $0 != leaderID }.randomElement(using: &random)!
            change = .addOrUpdate(Self.member(id, isVoter: false))
        case .removeFollower:
            let id = followers.filter { !configuration.isVoter($0) || voters.count > 1 }
                .randomElement(using: &random)!
            change = .remove(id)
        case .removeLeader:
            change = .remove(leaderID)
        case .retire:
            retire(retirable.randomElement(using: &random)!)
            return scheduleMembershipAction()
        case .transferLeadership:
            let n = indexOf[leaderID]!
            let target =
                Bool.random(using: &random)
                ? voters.filter { $0 != leaderID }.randomElement(using: &random) : nil
            do throws(TransferError) {
                let chosen = try nodes[n].core!.transferLeadership(to: target)
                stats.leadershipTransfers += 1
                trace.record(now, .note("\(leaderID) hands leadership to \(chosen)"))
                drain(n)
            } catch {
                // No voter up to take over, or a transfer already under way: fine, try later.
                trace.record(now, .note("\(leaderID) cannot hand leadership over: \(error)"))
            }
            return scheduleMembershipAction()
        }
        do throws(MembershipError) {
            try changeMembership(change, at: leaderID)
            stats.membershipChanges += 1
            // Now and then an operator asks for two changes at once: the second must wait.
            let isBurst = Double.random(in: 0..<1, using: &random) < 0.25
            scheduleMembershipAction(afterTicks: isBurst ? 0 : nil)
        } catch .changeInProgress {
            stats.membershipChangesDeferred += 1
            trace.record(now, .note("\(leaderID) defers \(change): a change is in progress"))
            scheduleMembershipAction(afterTicks: Int.random(in: 2...8, using: &random))
        } catch {
            // The actions above are chosen to be valid; a refusal here is the simulation's mistake.
            fail("membership: \(leaderID) refused \(change) in \(configuration): \(error)")
        }
    }

    /// Stops a node whose removal is committed, wipes its disk and retires its id for good; a fresh
    /// id joins the spares instead (see the type's comment for why the old id is never reused).
    mutating func retire(_ id: NodeID) {
        let n = indexOf[id]!
        crash(id)
        nodes[n].isRetired = true
        nodes[n].disk = SimulatedDisk()
        stats.nodesRetired += 1
        let fresh = NodeID("n\(ids.count + 1)")
        ids.append(fresh)
        indexOf[fresh] = nodes.count
        nodes.append(SimulatedNode(id: fresh))
        start(node: nodes.count - 1)
        queue.schedule(
            .tick(nodes.count - 1), at: now + Int64.random(in: 1...options.tickInterval, using: &random))
        trace.record(now, .note("\(id) retired (disk wiped, id never reused); \(fresh) joins the spares"))
    }

    // MARK: Invariants

    /// The configuration in effect at `index` according to the committed configuration entries
    /// (empty before the bootstrap entry). Valid for committed indexes only.
    func committedConfiguration(at index: LogIndex) -> (index: LogIndex, configuration: ClusterConfiguration)?
    {
        committedConfigurations.last { $0.index <= index }
    }

    /// A configuration entry newly known committed on node `n`: it must say the same on every node
    /// (committed configurations agree at each index).
    mutating func checkCommittedConfiguration(_ entry: Entry, isFirstCommit: Bool, at n: Int) {
        guard let configuration = try? ClusterConfiguration(decoding: entry.data) else {
            return fail("\(nodes[n].id): configuration entry \(entry) does not decode")
        }
        if isFirstCommit {
            committedConfigurations.append((entry.index, configuration))
            stats.mostVoters = max(stats.mostVoters, configuration.voters.count)
            stats.fewestVoters = min(stats.fewestVoters, configuration.voters.count)
            trace.record(now, .note("configuration at \(entry.index) committed: \(configuration)"))
        } else if let known = committedConfigurations.last(where: { $0.index == entry.index }),
            known.configuration != configuration
        {
            fail(
                "membership: \(nodes[n].id) committed \(configuration) at \(entry.index), another node committed \(known.configuration) there"
            )
        }
    }

    /// After each `advance` on node `n`:
    /// - its configuration is the one of the last configuration entry in its own log, or, with none
    ///   there, the committed one at its snapshot's index (thesis §4.1: in effect once appended,
    ///   and reverted when a conflicting suffix goes);
    /// - a node that is not a voter in its latest configuration, once committed, is never a
    ///   (pre-)candidate;
    /// - a leader's log holds at most one configuration entry that is not committed (one change at
    ///   a time, and a new leader commits an entry of its term first).
    mutating func checkMembership(of n: Int) {
        guard let core = nodes[n].core else { return }
        let id = nodes[n].id
        checkRole(of: n)
        // The same last (index, term) means the same log (log matching is checked cluster-wide), so
        // most advances, which only move the commit index or answer heartbeats, need no new scan.
        let key = ConfigurationCheckKey(
            lastIndex: core.log.lastIndex, lastTerm: core.log.lastTerm, snapshotIndex: core.log.snapshotIndex,
            configurationIndex: core.configurationIndex, configuration: core.configuration)
        if nodes[n].lastConfigurationCheck == key { return }
        nodes[n].lastConfigurationCheck = key
        let expected: (index: LogIndex, configuration: ClusterConfiguration)
        if let entry = core.log.entries.last(where: { $0.kind == .configuration }) {
            guard let configuration = try? ClusterConfiguration(decoding: entry.data) else {
                return fail("\(id): configuration entry \(entry) does not decode")
            }
            expected = (entry.index, configuration)
        } else {
            let base = committedConfiguration(at: core.log.snapshotIndex)?.configuration
            expected = (core.log.snapshotIndex, base ?? ClusterConfiguration(members: []))
        }
        if core.configuration != expected.configuration || core.configurationIndex != expected.index {
            return fail(
                "membership: \(id) uses \(core.configuration) from \(core.configurationIndex), but its log says \(expected.configuration) from \(expected.index)"
            )
        }
    }

    /// The role checks of `checkMembership(of:)`.
    mutating func checkRole(of n: Int) {
        let (core, id) = (nodes[n].core!, nodes[n].id)
        switch core.role {
        case .preCandidate, .candidate:
            // Exact for a configuration this node knows is committed. While its latest configuration
            // is not committed, the thesis (§4.2.2) lets a node outside it still campaign, since it
            // may be needed until that entry commits, so that case is left to the safety checks.
            if !core.configuration.isVoter(id) && core.isConfigurationCommitted {
                return fail(
                    "membership: \(id) is a \(core.role.name.rawValue) in \(core.term) but not a voter in its committed configuration \(core.configuration)"
                )
            }
        case .leader:
            if options.checksOneChangeAtATime { checkOneUncommittedChange(leader: n) }
        case .follower:
            break
        }
    }

    /// A leader's log never holds two configuration entries that are not committed. Committed here
    /// means known committed anywhere in the cluster: a new leader may not know yet that its
    /// predecessor's last change committed.
    mutating func checkOneUncommittedChange(leader n: Int) {
        let log = nodes[n].core!.log
        var uncommitted: [LogIndex] = []
        var index = log.committed.next
        while index <= log.lastIndex {
            let entry = log.entry(at: index)!
            let k = Int(index.value) - 1
            let isCommitted = k < committedEntries.count && committedEntries[k].term == entry.term
            if entry.kind == .configuration && !isCommitted { uncommitted.append(index) }
            index = index.next
        }
        if uncommitted.count > 1 {
            fail(
                "membership: leader \(nodes[n].id) holds \(uncommitted.count) uncommitted configuration entries at \(uncommitted.map(\.description).joined(separator: ", ")): more than one change at a time"
            )
        }
    }
}
