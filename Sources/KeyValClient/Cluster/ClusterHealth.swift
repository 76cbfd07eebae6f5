/// What an operator should be warned about, read from status reports: the cluster cannot take
/// writes, or runs with less redundancy than it has members. Pure, so every rule is unit-tested.
public struct ClusterWarning: Sendable, Hashable, CustomStringConvertible {
    /// Identifies the condition, so a client repeats a warning only when the condition changes
    /// (a lag growing from 5,000 to 5,100 entries is the same warning).
    public var key: String
    public var text: String

    public init(key: String, text: String) {
        self.key = key
        self.text = text
    }

    public var description: String { text }
}

public enum ClusterHealth {
    /// A member further behind the leader than this many entries is reported.
    public static let lagWarningEntries: UInt64 = 1_000

    /// The warnings for a cluster where `node` is the client's node and `leader` the leader's own
    /// report, when the node knows a leader and it answered. `answeringVoters` is how many voters
    /// answered the client, counted when no leader is known.
    public static func warnings(node: StatusReport, leader: StatusReport?, answeringVoters: Int?)
        -> [ClusterWarning]
    {
        let leaderView = leader ?? (node.role == "leader" ? node : nil)
        guard let leaderView else {
            return leaderlessWarnings(node: node, answeringVoters: answeringVoters)
        }
        var warnings: [ClusterWarning] = []
        let voters = leaderView.members.filter(\.voter)
        let up = voters.filter { $0.reachable ?? false }
        let quorum = quorum(of: voters.count)
        if up.count < voters.count {
            let down = voters.filter { !($0.reachable ?? false) }.map(\.id)
            let detail = up.count >= quorum ? " (\(down.joined(separator: ", ")) not)" : ""
            warnings.append(
                ClusterWarning(
                    key: "voters:\(up.count)/\(voters.count)",
                    text: "\(up.count) of \(voters.count) voters reachable\(detail); writes need \(quorum)"))
        }
        for member in leaderView.members where member.reachable ?? false {
            guard let lag = member.lag, lag >= lagWarningEntries else { continue }
            let role = member.voter ? "" : " (a learner, catching up)"
            warnings.append(
                ClusterWarning(key: "lag:\(member.id)", text: "\(member.id) is \(lag) entries behind\(role)"))
        }
        return warnings
    }

    /// How many voters make a majority (the server's `ClusterConfiguration.quorum`, for a client
    /// that does not link the Raft core).
    static func quorum(of voters: Int) -> Int { voters / 2 + 1 }

    private static func leaderlessWarnings(node: StatusReport, answeringVoters: Int?) -> [ClusterWarning] {
        if let leader = node.leader {
            // The node names a leader that did not answer the client: a partition, or a leader
            // that has just died and that the node has not yet stopped believing in.
            return [
                ClusterWarning(
                    key: "leader-silent:\(leader.id)",
                    text:
                        "the leader \(leader.id) does not answer; writes may fail until a new one is elected")
            ]
        }
        let voters = node.voters.count
        let quorum = quorum(of: voters)
        if let answering = answeringVoters, answering < quorum {
            return [
                ClusterWarning(
                    key: "voters:\(answering)/\(voters)",
                    text: "\(answering) of \(voters) voters reachable; writes need \(quorum)")
            ]
        }
        return [
            ClusterWarning(key: "no-leader", text: "no leader; an election is under way, writes wait for it")
        ]
    }
}
