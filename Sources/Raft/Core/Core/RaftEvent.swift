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

    public var description: String {
        switch self {
        case .becameFollower(let term, let leader):
            "follower in \(term), leader \(leader?.description ?? "unknown")"
        case .becamePreCandidate(let term): "pre-candidate for \(term.next)"
        case .becameCandidate(let term): "candidate in \(term)"
        case .becameLeader(let term): "leader in \(term)"
        case .leaderChanged(let term, let leader): "leader of \(term) is \(leader)"
        case .lostQuorum(let term): "lost contact with a quorum in \(term), stepping down"
        }
    }
}
