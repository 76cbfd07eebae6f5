/// Configuration changes, one server at a time (thesis §4.1-§4.2).
extension RaftCore {
    /// The configuration in effect: the latest one in the log, committed or not (thesis §4.1).
    public var configuration: ClusterConfiguration { configurations.latest }
    /// The index of the entry that made `configuration` (zero or the snapshot's index if none did).
    public var configurationIndex: LogIndex { configurations.latestIndex }
    /// Whether `configuration` is committed, so another change may follow.
    public var isConfigurationCommitted: Bool { configurations.latestIndex <= log.committed }

    /// Appends a configuration entry making `change`, if this node leads and may change the
    /// configuration now; returns the entry's index. The change is in effect at once and is done
    /// when that entry is committed. A change that would not alter the configuration appends
    /// nothing and returns the index of the entry that made the current one.
    public mutating func proposeMembershipChange(_ change: MembershipChange) throws(MembershipError)
        -> LogIndex
    {
        guard case .leader(let state) = role else { throw .notLeader(leaderHint: leader) }
        guard state.transfer == nil else { throw .changeInProgress }
        let next = try change.applied(to: configuration)
        if next == configuration { return configurationIndex }
        // Thesis §4.1: one change at a time, each from a committed configuration. And a new leader
        // must first commit an entry of its own term, or a change it appends could be lost to an
        // older uncommitted one from a previous term (the single-server bug found in 2015).
        guard
            allowsConcurrentMembershipChanges
                || (isConfigurationCommitted && log.term(at: log.committed) == term)
        else { throw .changeInProgress }
        let entry = Entry(term: term, index: log.lastIndex.next, kind: .configuration, data: next.encoded())
        log.appendAsLeader(entry)
        recordConfigurationEntries([entry])
        return entry.index
    }

    /// Notes the configuration entries among `entries`, just appended to the log, and reacts if
    /// the configuration in effect changed.
    mutating func recordConfigurationEntries(_ entries: some Collection<Entry>) {
        let before = configuration
        for entry in entries where entry.kind == .configuration && entry.index > configurations.latestIndex {
            configurations.append(entry)
        }
        configurationDidChange(from: before)
    }

    /// The log lost `index` and after: fall back to the configuration before it.
    mutating func forgetConfigurations(from index: LogIndex) {
        let before = configuration
        configurations.truncate(from: index)
        configurationDidChange(from: before)
    }

    /// Keeps the leader's replication state and the election rules in step with the configuration.
    mutating func configurationDidChange(from before: ClusterConfiguration) {
        guard configuration != before else { return }
        events.append(.configurationChanged(index: configurationIndex, configuration: configuration))
        if before.isVoter(id) && !configuration.isVoter(id) {
            removalToReport = configurationIndex
        } else if configuration.isVoter(id) {
            removalToReport = nil
        }
        let (index, targets) = (log.lastIndex, replicationTargets)
        withLeaderState { state in
            for peer in targets where state.progress[peer] == nil {
                state.progress[peer] = Progress(next: index.next)
            }
            for peer in state.progress.keys where !targets.contains(peer) {
                state.progress[peer] = nil
            }
        }
        if case .preCandidate = role, !mayCampaign { becomeFollower(term: term, leader: nil) }
        if case .candidate = role, !mayCampaign { becomeFollower(term: term, leader: nil) }
    }

    /// Once a configuration without this node as a voter is committed: a leader steps down
    /// (thesis §4.2.2), and a node that was a voter reports, once, that it no longer votes.
    mutating func handleCommittedRemoval() {
        guard isConfigurationCommitted, !configuration.isVoter(id) else { return }
        if isLeader { becomeFollower(term: term, leader: nil) }
        if let index = removalToReport {
            removalToReport = nil
            events.append(.removedFromVoters(index: index))
        }
    }

    /// Makes a voter of the first learner marked `promotesWhenCaughtUp` whose log holds everything
    /// committed, if a change may be made now. Until then it cost the cluster nothing (thesis §4.2.1:
    /// an empty voter would count toward every quorum while it copies the log). Called by the
    /// leader before each `Ready`; a promotion is an ordinary single-server change.
    mutating func promoteCaughtUpLearners() {
        guard case .leader(let state) = role, isConfigurationCommitted, log.term(at: log.committed) == term
        else { return }
        for member in configuration.members where member.promotesWhenCaughtUp {
            guard let progress = state.progress[member.id], progress.match >= log.committed else { continue }
            var promoted = member
            promoted.isVoter = true
            promoted.promotesWhenCaughtUp = false
            _ = try? proposeMembershipChange(.addOrUpdate(promoted))
            return
        }
    }

    /// Whether this node may stand for election: a voter in its latest configuration, or a voter
    /// of the committed one while the latest (which leaves it out) is not yet committed. The
    /// second case is thesis §4.2.2: a leader removing itself that lost leadership before the
    /// change committed may be the only node able to commit it (with voters {A, B}, A removing
    /// itself: B may lack the entry and need A's vote, which A's longer log refuses). Such a
    /// candidate asks the latest configuration's voters and does not count its own vote.
    var mayCampaign: Bool {
        if configuration.isVoter(id) { return true }
        return !isConfigurationCommitted && configurations.configuration(at: log.committed).isVoter(id)
    }

    /// Who the leader sends the log to, sorted: every member but itself, voters and learners, and
    /// also members that the latest, uncommitted configuration removes, so they learn of their
    /// removal (and stop campaigning) and the change can still commit if it is replaced.
    var replicationTargets: [NodeID] {
        let committed = configurations.configuration(at: log.committed)
        var ids = Set(configuration.members.map(\.id))
        if committed != configuration { ids.formUnion(committed.members.map(\.id)) }
        ids.remove(id)
        return ids.sorted()
    }

    /// Stops replicating to members whose removal is now committed, after one last heartbeat that
    /// tells them the commit index, so they learn they are out and say so.
    mutating func retireRemovedPeers() {
        guard case .leader(let state) = role else { return }
        let targets = replicationTargets
        let removed = state.progress.keys.filter { !targets.contains($0) }.sorted()
        guard !removed.isEmpty else { return }
        for peer in removed {
            let commit = min(state.progress[peer]?.match ?? .zero, log.committed)
            send(to: peer, .heartbeat(Heartbeat(commit: commit, readContext: 0)))
        }
        withLeaderState { state in
            for peer in removed { state.progress[peer] = nil }
        }
    }
}
