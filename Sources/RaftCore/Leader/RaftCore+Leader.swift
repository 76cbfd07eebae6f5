/// The leader's side: replication with pipelining and flow control, commitment, heartbeats,
/// check-quorum and ReadIndex (Raft §5.3-§5.4; thesis §6.2, §6.4).
extension RaftCore {
    mutating func becomeLeader() {
        var progress: [NodeID: Progress] = [:]
        for peer in replicationTargets { progress[peer] = Progress(next: log.lastIndex.next) }
        role = .leader(LeaderState(progress: progress))
        heartbeatElapsed = 0
        events.append(.becameLeader(term: term))
        // §5.4.2 / §8: commit an entry of our own term so earlier entries commit with it and reads
        // know the commit index is current.
        log.appendAsLeader(Entry(term: term, index: log.lastIndex.next, kind: .noop))
    }

    mutating func tickAsLeader() {
        withLeaderState { state in
            for peer in state.progress.keys { state.progress[peer]!.ticksSinceHeard += 1 }
        }
        tickTransfer()
        heartbeatElapsed += 1
        if heartbeatElapsed >= config.heartbeatTicks {
            heartbeatElapsed = 0
            broadcastHeartbeat(readContext: reads.lastContext)
        }
        guard config.checkQuorum else { return }
        var hasQuorum = true
        let (electionTicks, quorum, configuration, id) = (config.electionTicks, quorum, configuration, id)
        withLeaderState { state in
            state.ticksSinceQuorumCheck += 1
            guard state.ticksSinceQuorumCheck >= electionTicks else { return }
            state.ticksSinceQuorumCheck = 0
            // Only voters count; a leader that is being removed does not count itself (§4.2.2).
            let activeFollowers = state.progress.filter {
                configuration.isVoter($0.key) && $0.value.recentlyActive
            }
            let active = (configuration.isVoter(id) ? 1 : 0) + activeFollowers.count
            hasQuorum = active >= quorum
            for peer in state.progress.keys { state.progress[peer]!.recentlyActive = false }
        }
        if !hasQuorum {
            events.append(.lostQuorum(term: term))
            becomeFollower(term: term, leader: nil)
        }
    }

    mutating func broadcastHeartbeat(readContext: UInt64) {
        guard case .leader(let state) = role else { return }
        for peer in replicationTargets {
            // Never tell a follower to commit past what it is known to hold (Figure 2, AppendEntries rule 5).
            let commit = min(state.progress[peer]?.match ?? .zero, log.committed)
            send(to: peer, .heartbeat(Heartbeat(commit: commit, readContext: readContext)))
        }
        withLeaderState { state in
            for peer in state.progress.keys where state.progress[peer]!.isAwaitingAcknowledgement {
                state.progress[peer]!.heartbeatsWithoutAppendProgress += 1
            }
        }
    }

    /// Sends each follower what it is missing, as far as flow control allows. Called once per
    /// `Ready`, so proposals made in between travel together.
    mutating func sendAppendsToAll() {
        for peer in replicationTargets { sendAppends(to: peer) }
    }

    mutating func sendAppends(to peer: NodeID) {
        guard case .leader(let state) = role, var progress = state.progress[peer] else { return }
        // Entries the follower needs are compacted away: it gets the snapshot instead (§7).
        if progress.next <= log.snapshotIndex, let snapshot {
            if case .snapshot(let index, _, _) = progress.state, index == snapshot.metadata.index {
            } else {
                progress.state = .snapshot(index: snapshot.metadata.index, offset: 0, awaitingResponse: false)
                progress.heartbeatsWithoutAppendProgress = 0
                events.append(.sendingSnapshot(to: peer, index: snapshot.metadata.index))
            }
        }
        switch progress.state {
        case .probe(let awaitingResponse):
            guard !awaitingResponse else { return }
            sendAppend(to: peer, from: progress.next)
            progress.state = .probe(awaitingResponse: true)
        case .replicate(var inflight):
            while inflight.count < config.maxInflightAppends && progress.next <= log.lastIndex {
                let last = sendAppend(to: peer, from: progress.next)
                inflight.append(last)
                progress.next = last.next
            }
            progress.state = .replicate(inflight: inflight)
        case .snapshot(let index, let offset, let awaitingResponse):
            guard !awaitingResponse else { return }
            guard let snapshot, snapshot.metadata.index == index else {
                // A newer snapshot replaced the one being sent: start over with it.
                progress.becomeProbe()
                withLeaderState { $0.progress[peer] = progress }
                return sendAppends(to: peer)
            }
            sendSnapshotChunk(snapshot, to: peer, offset: offset)
            progress.state = .snapshot(index: index, offset: offset, awaitingResponse: true)
        }
        withLeaderState { $0.progress[peer] = progress }
    }

    mutating func sendSnapshotChunk(_ snapshot: Snapshot, to peer: NodeID, offset: UInt64) {
        let start = Int(min(offset, UInt64(snapshot.data.count)))
        let end = min(start + config.maxSnapshotChunkBytes, snapshot.data.count)
        let chunk = InstallSnapshot(
            metadata: snapshot.metadata, totalBytes: UInt64(snapshot.data.count), offset: UInt64(start),
            chunk: Array(snapshot.data[start..<end]))
        send(to: peer, .installSnapshot(chunk))
    }

    /// Sends one AppendEntries starting at `next` and returns the last index it carries.
    @discardableResult
    mutating func sendAppend(to peer: NodeID, from next: LogIndex) -> LogIndex {
        let prev = next.previous
        guard let prevTerm = log.term(at: prev) else {
            preconditionFailure(
                "\(id): entries before \(next) for \(peer) are compacted; snapshots not wired yet")
        }
        let entries = log.entries(from: next, maxBytes: config.maxAppendBytes)
        let request = AppendEntries(
            prevLogIndex: prev, prevLogTerm: prevTerm, entries: entries, leaderCommit: log.committed)
        send(to: peer, .appendEntries(request))
        return entries.last?.index ?? prev
    }

    mutating func handleAppendEntriesResponse(_ response: AppendEntriesResponse, from peer: NodeID) {
        guard case .leader(let state) = role, var progress = state.progress[peer] else { return }
        progress.markHeard()
        switch response.result {
        case .accepted(let matchIndex):
            if case .snapshot = progress.state, matchIndex <= log.snapshotIndex {
                // A late answer to an append sent before the transfer: the follower still needs the
                // snapshot, so note the match and let the transfer go on rather than restart it.
                progress.match = max(progress.match, matchIndex)
            } else if progress.acknowledge(through: matchIndex) {
                withLeaderState { $0.progress[peer] = progress }
                commitIfQuorumReached()
                sendTimeoutNowIfCaughtUp()
            }
        case .rejected(let rejectedIndex, let conflictTerm, let firstIndexOfConflict):
            if isCurrentRejection(progress, rejectedIndex: rejectedIndex) {
                progress.becomeProbe()
                progress.next = nextIndexAfterRejection(
                    rejectedIndex: rejectedIndex, conflictTerm: conflictTerm,
                    firstIndexOfConflict: firstIndexOfConflict,
                    match: progress.match)
            }
        }
        withLeaderState { $0.progress[peer] = progress }
    }

    /// A rejection is stale if it refers to an append sent before the follower's state we already know.
    func isCurrentRejection(_ progress: Progress, rejectedIndex: LogIndex) -> Bool {
        switch progress.state {
        case .replicate: return rejectedIndex > progress.match
        case .probe: return rejectedIndex == progress.next.previous
        case .snapshot: return false  // an answer to an append sent before the snapshot
        }
    }

    /// Fast backtracking (§5.3): skip the follower's whole conflicting term, or jump to its log's end.
    func nextIndexAfterRejection(
        rejectedIndex: LogIndex, conflictTerm: Term?, firstIndexOfConflict: LogIndex, match: LogIndex
    ) -> LogIndex {
        var next = firstIndexOfConflict
        if let conflictTerm, let ours = log.lastIndex(ofTerm: conflictTerm, atOrBelow: rejectedIndex) {
            // We share that term: the logs may agree up to our last entry of it.
            next = ours.next
        }
        // Never below what is known to match, never past the index that was just refused.
        return max(match.next, min(next, rejectedIndex))
    }

    mutating func handleInstallSnapshotResponse(_ response: InstallSnapshotResponse, from peer: NodeID) {
        guard case .leader(let state) = role, var progress = state.progress[peer] else { return }
        progress.markHeard()
        switch response.result {
        case .installed(let matchIndex):
            if case .snapshot = progress.state, matchIndex >= progress.match {
                events.append(.snapshotDelivered(to: peer, index: response.snapshotIndex))
            }
            _ = progress.acknowledge(through: matchIndex)
            withLeaderState { $0.progress[peer] = progress }
            commitIfQuorumReached()
            return
        case .receiving(let nextOffset):
            guard case .snapshot(let index, _, _) = progress.state, index == response.snapshotIndex else {
                return
            }
            progress.heartbeatsWithoutAppendProgress = 0
            progress.state = .snapshot(index: index, offset: nextOffset, awaitingResponse: false)
        }
        withLeaderState { $0.progress[peer] = progress }
    }

    mutating func handleHeartbeatResponse(_ response: HeartbeatResponse, from peer: NodeID) {
        guard case .leader = role else { return }
        withLeaderState { state in
            guard var progress = state.progress[peer] else { return }
            progress.markHeard()
            switch progress.state {
            case .probe:
                // The follower is reachable again: let the next Ready send a new probe.
                progress.state = .probe(awaitingResponse: false)
            case .replicate:
                // Appends in flight but none acknowledged across two heartbeat rounds: one was lost.
                if progress.heartbeatsWithoutAppendProgress >= 2 { progress.becomeProbe() }
            case .snapshot(let index, let offset, true) where progress.heartbeatsWithoutAppendProgress >= 2:
                // The chunk or its answer was lost: send it again.
                progress.state = .snapshot(index: index, offset: offset, awaitingResponse: false)
                progress.heartbeatsWithoutAppendProgress = 0
            case .snapshot:
                break
            }
            state.progress[peer] = progress
        }
        if configuration.isVoter(peer) {
            reads.acknowledge(context: response.readContext, from: peer, quorum: quorum)
            answerConfirmedRemoteReads()
        }
    }

    /// Advances the commit index to the highest index stored on a quorum, if that entry is from the
    /// current term (§5.4.2: earlier terms' entries are never committed by counting replicas).
    @discardableResult
    mutating func commitIfQuorumReached() -> Bool {
        guard case .leader(let state) = role else { return false }
        let matches = configuration.voters.map { voter in
            voter == id ? log.stableIndex : (state.progress[voter]?.match ?? .zero)
        }
        let candidate = Quorum.committedIndex(matches: matches, quorumSize: quorum)
        guard candidate > log.committed else { return false }
        if log.term(at: candidate) != term && !commitsEarlierTermsByCounting {
            return false
        }
        log.commit(to: candidate)
        // Gate 1 of ReadIndex: only a commit of this term's own entry makes the commit index current.
        if !reads.awaitingTermCommit.isEmpty && log.term(at: log.committed) == term {
            let waiting = reads.awaitingTermCommit
            reads.awaitingTermCommit = []
            enqueueReads(waiting)
        }
        return true
    }

    /// Puts reads (the leader's and its followers') behind a heartbeat round; a lone voter
    /// confirms them at once.
    mutating func enqueueReads(_ waiting: [LeaderRead]) {
        if let context = reads.enqueue(waiting, commitIndex: log.committed, leader: id) {
            broadcastHeartbeat(readContext: context)
        }
        reads.confirmQuorumRounds(quorum: quorum)
        answerConfirmedRemoteReads()
    }
}
