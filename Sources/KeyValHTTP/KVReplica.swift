import KeyVal
import KeyValClient
import Raft

/// What the HTTP layer needs from the local replica. `keyvald` implements it over
/// `RaftNode<KVStateMachine>`; HTTP tests use a fake. Every method answers for this node only:
/// forwarding to the leader is the HTTP layer's job (it re-sends the client's request).
public protocol KVReplica: Sendable {
    /// Proposes `command` and waits until it is applied here; returns what applying it did.
    func write(_ command: KVCommand) async throws(ReplicaError) -> KVResult
    /// The key's current value, answered by this node. `.linearizable` waits for the read barrier
    /// (ReadIndex; on a follower, a read index from the leader and the apply up to it), so it needs
    /// a known leader; `.stale` answers from the local copy at once. Reads are never forwarded.
    func read(_ key: String, consistency: ReadConsistency) async throws(ReplicaError) -> KVItem?
    /// Adds a member (a voter), or updates the addresses of an existing one with the same id;
    /// a no-op if it is already a member with these addresses. Returns once the change is committed.
    func addMember(_ request: JoinRequest) async throws(ReplicaError)
    /// Removes a member; returns once the change is committed. Unless `force`, a voter is not
    /// removed when the voters left that are up could not form a quorum (the cluster would stop
    /// taking writes): `.invalidMembershipChange` says why.
    func removeMember(id: String, force: Bool) async throws(ReplicaError)
    /// Hands leadership to the voter `target` (or, when nil, to the most up-to-date voter that is
    /// up) and returns the new leader's id once this node knows that node leads (`POST /leader`).
    /// A transfer that started and left another node leading, or none, fails with
    /// `.leadershipTransferFailed` saying what happened; a target that cannot take over at all,
    /// with `.invalidMembershipChange`.
    func transferLeadership(to target: String?) async throws(ReplicaError) -> String
    /// This node's view of itself and the cluster (`GET /status`).
    func status() async -> StatusReport
    /// On the leader: how many members (itself included) are known to hold the write at `version`,
    /// a lower bound (an acknowledgement may still be on its way); nil on a follower. Called on
    /// every write answer (`Keyval-Replicas`), so it must answer at once, without waiting.
    func replicaCount(holding version: LogIndex) -> Int?
}

public enum ReadConsistency: String, Sendable, Equatable, CaseIterable {
    case linearizable
    case stale
}

/// Why the replica could not do what was asked; the HTTP layer maps each case to one response.
public enum ReplicaError: Error, Sendable, Equatable, CustomStringConvertible {
    /// This node does not lead. `leader` is the known leader, if any: the HTTP layer forwards the
    /// request there, or answers 503 with `Retry-After` when it is nil (an election is under way).
    case notLeader(leader: StatusReport.Leader?)
    /// The request was accepted but its outcome is unknown: leadership changed before it
    /// committed (a write may still apply later) or it timed out. 503; the client may retry with
    /// the same client id and sequence to learn the outcome without applying twice.
    case outcomeUnknown(reason: String)
    /// A membership change that cannot be made as asked (unknown node, address in use, …). 400.
    case invalidMembershipChange(reason: String)
    /// The address given for a new member (or a member's new address) answers as another node,
    /// or as a node of another cluster. 409, without `Retry-After`: retrying will not help.
    case memberConflict(reason: String)
    /// The address given for a new member does not answer as a keyval node: nothing listens, or
    /// what answers is not a Raft node (502), or it did not answer in time (504, `timedOut`).
    case memberUnreachable(reason: String, timedOut: Bool)
    /// Another membership change is still in flight, or the leader has not yet committed an entry
    /// of its term (thesis §4.1). 409; retry shortly.
    case membershipChangeInProgress
    /// A leadership transfer did not leave its target leading, or another is under way; `reason`
    /// says what happened instead ("n2 did not take over; n1 stepped down after losing quorum").
    /// 409: whoever leads now, it is not the node asked for.
    case leadershipTransferFailed(reason: String)
    /// The node is shutting down or stopped after a storage failure. 503.
    case unavailable(reason: String)

    public var description: String {
        switch self {
        case .notLeader(let leader): "not the leader (leader: \(leader?.id ?? "unknown"))"
        case .outcomeUnknown(let reason): "outcome unknown: \(reason)"
        case .invalidMembershipChange(let reason), .memberConflict(let reason),
            .memberUnreachable(let reason, _):
            reason
        case .membershipChangeInProgress: "another membership change is in progress; retry shortly"
        case .leadershipTransferFailed(let reason): "leadership transfer failed: \(reason)"
        case .unavailable(let reason): "unavailable: \(reason)"
        }
    }
}
