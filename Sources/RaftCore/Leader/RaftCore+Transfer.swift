/// Why a leadership transfer cannot start.
public enum TransferError: Error, Sendable, Equatable, CustomStringConvertible {
    case notLeader(leaderHint: NodeID?)
    /// The target is not a voter other than this node, or none is up to take over.
    case invalidTarget(String)
    /// A transfer is already under way.
    case inProgress

    public var description: String {
        switch self {
        case .notLeader(let hint): "not the leader (leader: \(hint?.description ?? "unknown"))"
        case .invalidTarget(let reason): reason
        case .inProgress: "a leadership transfer is already under way"
        }
    }
}

/// Leadership transfer (thesis §3.10): the leader stops taking proposals, brings the target's log
/// up to date, and sends it `timeoutNow`; the target campaigns at once, and voters grant it even
/// within their leader lease. Used by `POST /leader` and before a leader shuts down, so neither
/// costs an election timeout.
extension RaftCore {
    /// The voter this leader is handing leadership to, if a transfer is under way.
    public var leadershipTransferTarget: NodeID? {
        guard case .leader(let state) = role else { return nil }
        return state.transfer?.target
    }

    /// Starts handing leadership to `target`, or, when nil, to the voter with the longest log among
    /// those heard from within an election timeout. Returns the target. Proposals are refused
    /// (`.leadershipTransferInProgress`) until this node steps down or, after an election timeout
    /// without success, the transfer is abandoned (`.leadershipTransferAbandoned`).
    public mutating func transferLeadership(to target: NodeID?) throws(TransferError) -> NodeID {
        guard case .leader(let state) = role else { throw .notLeader(leaderHint: leader) }
        guard state.transfer == nil else { throw .inProgress }
        let chosen: NodeID
        if let target {
            guard target != id else { throw .invalidTarget("\(target) already leads") }
            guard configuration.isVoter(target) else { throw .invalidTarget("\(target) is not a voter") }
            chosen = target
        } else {
            let candidates = otherVoters.compactMap { peer in
                state.progress[peer].flatMap {
                    $0.ticksSinceHeard < config.electionTicks ? (peer, $0.match) : nil
                }
            }
            // Longest log first, then the smallest id, so the choice is deterministic.
            guard let best = candidates.max(by: { ($0.1, $1.0) < ($1.1, $0.0) }) else {
                throw .invalidTarget("no other voter is up to take over")
            }
            chosen = best.0
        }
        withLeaderState { $0.transfer = LeadershipTransfer(target: chosen) }
        events.append(.transferringLeadership(to: chosen))
        sendTimeoutNowIfCaughtUp()
        return chosen
    }

    /// The target holds the whole log: tell it to campaign (once).
    mutating func sendTimeoutNowIfCaughtUp() {
        guard case .leader(let state) = role, let transfer = state.transfer, !transfer.sentTimeoutNow,
            let progress = state.progress[transfer.target], progress.match == log.lastIndex
        else { return }
        withLeaderState { $0.transfer?.sentTimeoutNow = true }
        send(to: transfer.target, .timeoutNow)
    }

    /// Counts a leader tick against the transfer; gives up after an election timeout (§3.10).
    mutating func tickTransfer() {
        guard case .leader(let state) = role, let transfer = state.transfer else { return }
        if transfer.elapsedTicks + 1 >= config.electionTicks {
            withLeaderState { $0.transfer = nil }
            events.append(.leadershipTransferAbandoned(to: transfer.target))
        } else {
            withLeaderState { $0.transfer?.elapsedTicks += 1 }
        }
    }
}
