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
        let conflict = log.firstConflict(in: request.entries)
        if let conflict, conflict <= log.committed {
            // Leader Completeness (§5.4) makes this impossible; only a deliberately broken variant
            // gets here, and then the simulation, not a crash, must report it.
            precondition(
                isBrokenOnPurpose, "\(id): leader \(leader) conflicts at committed \(conflict)")
            return
        }
        let lastCovered = log.appendFromLeader(after: request.prevLogIndex, request.entries)
        // A removed suffix may have held configurations; the new entries may hold others (§4.1).
        if let conflict { forgetConfigurations(from: conflict) }
        recordConfigurationEntries(request.entries)
        // Only what this message proved matches may be committed, not our whole log (Figure 2,
        // AppendEntries rule 5).
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

    /// The most a follower reserves up front for a snapshot being received (1 GiB); a larger one
    /// grows its buffer as chunks arrive.
    public static let maxSnapshotReservationBytes = 1 << 30

    /// One chunk of the leader's snapshot (§7, Figure 13). Chunks are taken only in order; any other
    /// chunk is answered with the offset wanted, so the leader resends from there.
    mutating func handleInstallSnapshot(_ chunk: InstallSnapshot, from leader: NodeID) {
        let metadata = chunk.metadata
        func reply(_ result: InstallSnapshotResponse.Result) {
            send(
                to: leader,
                .installSnapshotResponse(
                    InstallSnapshotResponse(snapshotIndex: metadata.index, result: result)))
        }
        // Never go back (§7): everything the snapshot covers is already committed here.
        guard metadata.index > log.committed else {
            incomingSnapshot = nil
            return reply(.installed(matchIndex: log.committed))
        }
        let continuesTransfer =
            incomingSnapshot.map {
                $0.metadata == metadata && $0.leader == leader && $0.totalBytes == chunk.totalBytes
            } ?? false
        if !continuesTransfer {
            // A transfer belongs to one leader and one snapshot; anything else starts from byte 0.
            guard chunk.offset == 0 else {
                incomingSnapshot = nil
                return reply(.receiving(nextOffset: 0))
            }
            // One buffer for the whole snapshot, so each byte is copied once, as it arrives. The
            // size comes from the leader: an absurd one must not allocate absurdly up front.
            var data: [UInt8] = []
            data.reserveCapacity(Int(min(chunk.totalBytes, UInt64(Self.maxSnapshotReservationBytes))))
            incomingSnapshot = IncomingSnapshot(
                metadata: metadata, leader: leader, totalBytes: chunk.totalBytes, data: data)
        }
        let received = UInt64(incomingSnapshot!.data.count)
        guard received == chunk.offset || ignoresSnapshotChunkOffsets else {
            return reply(.receiving(nextOffset: received))
        }
        // Appended in place. A copy of `incomingSnapshot` alive here (as `var incoming =
        // incomingSnapshot!` once was) shares the buffer, and the append then copies every byte
        // received so far: once per chunk, quadratic in the snapshot's size.
        incomingSnapshot!.data.append(contentsOf: chunk.chunk)
        let incoming = incomingSnapshot!
        guard UInt64(incoming.data.count) >= incoming.totalBytes else {
            return reply(.receiving(nextOffset: UInt64(incoming.data.count)))
        }
        incomingSnapshot = nil
        let snapshot = Snapshot(metadata: metadata, data: incoming.data)
        log.restore(index: metadata.index, term: metadata.term)
        let before = configuration
        configurations.restore(metadata.configuration, at: metadata.index)
        configurations.truncate(from: log.lastIndex.next)  // what the restore discarded
        configurationDidChange(from: before)
        self.snapshot = snapshot
        snapshotToInstall = snapshot
        events.append(.receivedSnapshot(index: metadata.index))
        reply(.installed(matchIndex: metadata.index))
    }
}
