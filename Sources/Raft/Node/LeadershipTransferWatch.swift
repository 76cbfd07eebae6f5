/// Why a leadership transfer did not hand leadership to its target.
public enum LeadershipTransferFailure: Sendable, Equatable, CustomStringConvertible {
    /// Nothing was started: the target is this node or not a voter, or no voter is up to take over.
    case invalidTarget(String)
    /// Another transfer is under way; nothing was started.
    case inProgress
    /// The transfer started, but this node did not learn that `target` leads: `reason` says what
    /// happened instead ("n1 stepped down after losing quorum", "n3 became leader instead", ...).
    case notTakenOver(target: NodeID, reason: String)

    public var description: String {
        switch self {
        case .invalidTarget(let reason): reason
        case .inProgress: "a leadership transfer is already under way"
        case .notTakenOver(let target, let reason): "\(target) did not take over; \(reason)"
        }
    }
}

/// Follows a leadership transfer this node started (thesis §3.10) through its core's events, to
/// the one outcome its caller is told. The transfer succeeded only once this node learns that the
/// target leads. Stepping down is not success: a leader also steps down when it loses its quorum or
/// is removed, and a target that campaigned may still lose to another node.
struct LeadershipTransferWatch: Sendable {
    enum Outcome: Sendable, Equatable {
        case tookOver
        case failed(LeadershipTransferFailure)
    }

    let target: NodeID
    /// This node, which led when the transfer started.
    let id: NodeID
    /// How many ticks this node waits, once it has stepped down, to learn who leads.
    let patience: Int
    /// Ticks since this node stepped down without learning a leader; nil while it leads.
    private var ticksWithoutLeader: Int?

    init(target: NodeID, id: NodeID, electionTicks: Int) {
        self.target = target
        self.id = id
        // The target wins within a round trip of stepping this node down. If its election fails,
        // the next one starts within two election timeouts (§5.2) and takes a few ticks more.
        self.patience = 3 * electionTicks
    }

    /// What `event` settles, if anything; events are observed in the order the core reports them.
    mutating func observe(_ event: RaftEvent) -> Outcome? {
        switch event {
        case .becameFollower(_, let leader?), .leaderChanged(_, let leader):
            if leader == target { return .tookOver }
            return failed("\(leader) became leader instead")
        case .becameFollower(_, nil):
            // Stepped down for a newer term (the target's election, normally) or in its own term
            // (`lostQuorum` or `removedFromVoters` says so). Wait to hear who leads.
            if ticksWithoutLeader == nil { ticksWithoutLeader = 0 }
            return nil
        case .lostQuorum:
            return failed("\(id) stepped down after losing quorum")
        case .removedFromVoters:
            return failed("\(id) was removed from the voters")
        case .becameLeader(let term):
            return failed("\(id) was elected again in \(term)")
        case .leadershipTransferAbandoned:
            return failed("\(id) still leads after an election timeout")
        case .becamePreCandidate, .becameCandidate, .sendingSnapshot, .snapshotDelivered,
            .receivedSnapshot, .configurationChanged, .transferringLeadership:
            return nil
        }
    }

    /// Counts a tick; fails the transfer once this node has waited `patience` ticks, stepped down,
    /// without learning who leads.
    mutating func tick() -> Outcome? {
        guard let waited = ticksWithoutLeader else { return nil }
        guard waited + 1 < patience else {
            return failed("no leader known \(patience) ticks after \(id) stepped down")
        }
        ticksWithoutLeader = waited + 1
        return nil
    }

    private func failed(_ reason: String) -> Outcome {
        .failed(.notTakenOver(target: target, reason: reason))
    }
}
