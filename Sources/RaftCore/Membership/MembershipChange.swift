/// One single-server change to the cluster's configuration (thesis §4.1): it adds, removes,
/// promotes or demotes at most one voter, so any majority of the old voters overlaps any majority
/// of the new ones and no joint consensus is needed.
public enum MembershipChange: Sendable, Equatable, CustomStringConvertible {
    /// Adds `member`, or replaces the member with its id (new addresses, or learner ↔ voter).
    case addOrUpdate(Member)
    /// Removes the member with this id (possibly the leader itself: it steps down once the change
    /// commits, thesis §4.2.2).
    case remove(NodeID)

    public var description: String {
        switch self {
        case .addOrUpdate(let member): "add \(member)"
        case .remove(let id): "remove \(id)"
        }
    }

    /// The configuration after applying this change to `configuration`.
    public func applied(to configuration: ClusterConfiguration) throws(MembershipError)
        -> ClusterConfiguration
    {
        var members = configuration.members
        switch self {
        case .addOrUpdate(let member):
            if !member.raftAddress.isEmpty,
                let other = members.first(where: {
                    $0.id != member.id && $0.raftAddress == member.raftAddress
                })
            {
                throw .invalid("address \(member.raftAddress) is already used by \(other.id)")
            }
            members.removeAll { $0.id == member.id }
            members.append(member)
        case .remove(let id):
            guard members.contains(where: { $0.id == id }) else { throw .invalid("\(id) is not a member") }
            members.removeAll { $0.id == id }
        }
        let next = ClusterConfiguration(members: members)
        guard !next.voters.isEmpty else { throw .invalid("the cluster would have no voters") }
        return next
    }
}

/// Why a membership change was refused; each case tells the caller what to do.
public enum MembershipError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Only the leader changes the configuration.
    case notLeader(leaderHint: NodeID?)
    /// A configuration change is not yet committed, or the leader has not yet committed an entry of
    /// its own term (the fix to single-server changes, thesis §4.1 and Ongaro's 2015 raft-dev post):
    /// retry once it has.
    case changeInProgress
    /// The change makes no sense for this configuration.
    case invalid(String)

    public var description: String {
        switch self {
        case .notLeader(let hint): "not the leader (leader: \(hint?.description ?? "unknown"))"
        case .changeInProgress: "another configuration change is in progress"
        case .invalid(let reason): reason
        }
    }
}
