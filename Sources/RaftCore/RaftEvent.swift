/// Something a person watching the node wants to know; the shell logs these and counts them.
public enum RaftEvent: Sendable, Equatable, CustomStringConvertible {
    case becameFollower(term: Term, leader: NodeID?)
    case becamePreCandidate(term: Term)
    case becameCandidate(term: Term)
    case becameLeader(term: Term)
    /// A follower learned who leads `term`.
    case leaderChanged(term: Term, leader: NodeID)
    /// A leader that could not hear from a quorum within an election timeout stepped down.
    case lostQuorum(term: Term)
    /// The leader started sending its snapshot to a follower that needs compacted entries.
    case sendingSnapshot(to: NodeID, index: LogIndex)
    /// A follower reported the snapshot installed.
    case snapshotDelivered(to: NodeID, index: LogIndex)
    /// This follower received a whole snapshot from the leader; it is in `Ready.snapshotToInstall`.
    case receivedSnapshot(index: LogIndex)
    /// The configuration in effect changed: an entry for it was appended (or, on a follower,
    /// removed with a conflicting suffix, or replaced by a snapshot). Not yet committed.
    case configurationChanged(index: LogIndex, configuration: ClusterConfiguration)
    /// A configuration that no longer has this node as a voter is committed: it will not campaign
    /// again, and a leader has stepped down (thesis §4.2.2).
    case removedFromVoters(index: LogIndex)
    /// The leader began handing leadership to `target`.
    case transferringLeadership(to: NodeID)
    /// The transfer to `target` did not complete within an election timeout; this node still leads.
    case leadershipTransferAbandoned(to: NodeID)

    public var description: String {
        switch self {
        case .becameFollower(let term, let leader):
            "follower in \(term), leader \(leader?.description ?? "unknown")"
        case .becamePreCandidate(let term): "pre-candidate for \(term.next)"
        case .becameCandidate(let term): "candidate in \(term)"
        case .becameLeader(let term): "leader in \(term)"
        case .leaderChanged(let term, let leader): "leader of \(term) is \(leader)"
        case .lostQuorum(let term): "lost contact with a quorum in \(term), stepping down"
        case .sendingSnapshot(let peer, let index): "sending snapshot at \(index) to \(peer)"
        case .snapshotDelivered(let peer, let index): "\(peer) installed snapshot at \(index)"
        case .receivedSnapshot(let index): "received snapshot at \(index) from the leader"
        case .configurationChanged(let index, let configuration):
            "configuration at \(index): \(configuration)"
        case .removedFromVoters(let index): "no longer a voter (configuration at \(index))"
        case .transferringLeadership(let target): "handing leadership to \(target)"
        case .leadershipTransferAbandoned(let target): "leadership transfer to \(target) abandoned"
        }
    }
}
