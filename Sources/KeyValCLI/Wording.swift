import KeyValClient

/// How the client words what happened. Pure functions of the answers, so the transcript the
/// issue shows is pinned by unit tests.
enum Wording {
    /// `Created (3 replicas)`, `Updated (1 replica)`, or without the count when not reported.
    static func write(_ outcome: WriteOutcome) -> String {
        let verb = outcome.created ? "Created" : "Updated"
        guard let replicas = outcome.replicas else { return verb }
        return "\(verb) (\(replicas) \(replicas == 1 ? "replica" : "replicas"))"
    }

    static func compareAndSet(_ outcome: CompareAndSetOutcome) -> String {
        switch outcome {
        case .written(let outcome): write(outcome)
        case .conflict(let current?): "Version conflict (now \(current))"
        case .conflict(nil): "Version conflict (key absent)"
        }
    }

    static func delete(_ outcome: DeleteOutcome) -> String {
        switch outcome {
        case .deleted: "Deleted"
        case .notFound: "Not found"
        }
    }

    /// A value as the REPL shows it: in single quotes, so leading and trailing spaces are seen.
    static func value(_ stored: StoredValue?) -> String {
        stored.map { "'\($0.value)'" } ?? "Not found"
    }

    static func error(_ error: KeyValClientError) -> String { "Error: \(error)" }

    /// `Connected to keyval cluster 3f2c… at 127.0.0.1:11000 (leader node0)`.
    static func connected(clusterID: String?, at address: ServerAddress, leader: String?) -> String {
        "Connected to keyval cluster \(abbreviated(clusterID)) at \(address) (\(leaderPhrase(leader)))"
    }

    /// `Reconnected to node1 at 127.0.0.1:11001 (leader node1)`.
    static func reconnected(to node: KnownNode, leader: String?) -> String {
        "Reconnected to \(node.id ?? "a node") at \(node.address) (\(leaderPhrase(leader)))"
    }

    static func nodes(_ nodes: [KnownNode]) -> String {
        (["Known nodes:"] + nodes.map { "  \($0)" }).joined(separator: "\n")
    }

    static func warning(_ text: String) -> String { "WARNING: \(text)" }

    static func healthy(voters: Int, leader: String?) -> String {
        "Cluster healthy again: \(voters) of \(voters) voters reachable (\(leaderPhrase(leader)))"
    }

    private static func leaderPhrase(_ leader: String?) -> String {
        leader.map { "leader \($0)" } ?? "no leader yet"
    }

    private static func abbreviated(_ clusterID: String?) -> String {
        guard let clusterID else { return "?" }
        return clusterID.count > 4 ? clusterID.prefix(4) + "…" : clusterID
    }

    /// `STATUS`: the node's own report, in lines.
    static func status(_ report: StatusReport) -> String {
        var lines = [
            "\(report.id): \(report.role), term \(report.term), leader \(report.leader?.id ?? "none"), cluster \(report.clusterID)",
            "  log: commit \(report.commitIndex), applied \(report.appliedIndex), last \(report.lastIndex), snapshot \(report.snapshotIndex)",
            "  configuration at index \(report.configurationIndex)"
                + (report.configurationCommitted ? "" : " (not yet committed)"),
        ]
        for member in report.members {
            var line =
                "  \(member.id) \(member.haddr.isEmpty ? "-" : member.haddr) \(member.voter ? "voter" : "learner")"
            if member.promoting { line += " (promoting)" }
            if let match = member.matchIndex { line += ", match \(match)" }
            if let lag = member.lag { line += ", lag \(lag)" }
            if let reachable = member.reachable { line += reachable ? "" : ", unreachable" }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }
}
