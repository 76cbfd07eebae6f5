/// The follower's side of replication (Raft §5.3, Figure 2 "AppendEntries RPC").
extension RaftCore {
    mutating func handleAppendEntries(_ request: AppendEntries, from leader: NodeID) {
        // Entries at or below our commit index are already settled; confirm what we have.
        if request.prevLogIndex < log.committed {
            let covered = request.prevLogIndex.advanced(by: request.entries.count)
            if covered <= log.committed {
                send(
                    to: leader,
                    .appendEntriesResponse(AppendEntriesResponse(.accepted(matchIndex: log.committed))))
                return
            }
            // Part of the message is new: drop the settled prefix and check from our commit index.
            let skip = log.committed.value - request.prevLogIndex.value
            let trimmed = AppendEntries(
                prevLogIndex: log.committed, prevLogTerm: log.term(at: log.committed) ?? .zero,
                entries: Array(request.entries.dropFirst(Int(skip))), leaderCommit: request.leaderCommit)
            handleAppendEntries(trimmed, from: leader)
            return
        }

        guard log.contains(index: request.prevLogIndex, term: request.prevLogTerm) else {
            send(
                to: leader, .appendEntriesResponse(AppendEntriesResponse(rejection(at: request.prevLogIndex)))
            )
            return
        }
        if let conflict = log.firstConflict(in: request.entries), conflict <= log.committed {
            // Leader Completeness (§5.4) makes this impossible; only a deliberately broken variant
            // gets here, and then the simulation, not a crash, must report it.
            precondition(
                config.testingFault != nil, "\(id): leader \(leader) conflicts at committed \(conflict)")
            return
        }
        let lastCovered = log.appendFromLeader(after: request.prevLogIndex, request.entries)
        // Pitfall: only what this message proved matches may be committed, not our whole log.
        log.commit(to: min(request.leaderCommit, lastCovered))
        send(to: leader, .appendEntriesResponse(AppendEntriesResponse(.accepted(matchIndex: lastCovered))))
    }

    /// The hint a rejection carries so the leader can skip a whole conflicting term at once.
    func rejection(at index: LogIndex) -> AppendEntriesResponse.Result {
        guard let conflictTerm = log.term(at: index) else {
            return .rejected(
                rejectedIndex: index, conflictTerm: nil, firstIndexOfConflict: log.lastIndex.next)
        }
        return .rejected(
            rejectedIndex: index, conflictTerm: conflictTerm,
            firstIndexOfConflict: log.firstIndex(ofTermAt: index))
    }

    mutating func handleHeartbeat(_ heartbeat: Heartbeat, from leader: NodeID) {
        // The leader sends at most what it knows we match, so this never commits unverified entries.
        log.commit(to: min(heartbeat.commit, log.lastIndex))
        send(to: leader, .heartbeatResponse(HeartbeatResponse(readContext: heartbeat.readContext)))
    }
}
