/// Linearizable reads served by followers (thesis §6.4): the follower's request for a read index,
/// and the leader's answer once the request passed the same gates as its own reads.
extension RaftCore {
    /// Leader: a follower asks for a read index. It joins the leader's own reads: it waits for the
    /// no-op of the term to commit (gate 1), takes the commit index when it arrives and shares the
    /// open heartbeat round (gate 2); the answer leaves once a quorum acknowledged that round.
    mutating func handleReadIndexRequest(_ request: ReadIndexRequest, from peer: NodeID) {
        let read = LeaderRead.remote(from: peer, context: request.context)
        // A leader removing itself does not count toward a quorum of heartbeat answers; a node
        // that does not lead cannot confirm anything. Refused at once, so the reads fail now.
        guard isLeader, configuration.isVoter(id) else {
            send(to: peer, .readIndexResponse(ReadIndexResponse(context: request.context, readIndex: nil)))
            return
        }
        if servesReadsWithoutReadIndex {
            send(
                to: peer,
                .readIndexResponse(ReadIndexResponse(context: request.context, readIndex: log.committed)))
            return
        }
        if log.term(at: log.committed) != term {
            reads.awaitingTermCommit.append(read)
            return
        }
        enqueueReads([read])
    }

    /// Leader: answers the followers' requests whose round a quorum confirmed, with the round's
    /// read index. Called right where rounds are confirmed, while still leader of that term.
    mutating func answerConfirmedRemoteReads() {
        for answer in reads.takeConfirmedRemote() {
            send(
                to: answer.to,
                .readIndexResponse(ReadIndexResponse(context: answer.context, readIndex: answer.index)))
        }
    }

    /// Follower: the leader's answer. A confirmed index puts the request's reads behind the apply
    /// gate (they are served once this node has applied that index); a refusal fails them. An
    /// answer that matches no request in flight (duplicated, stale, from a previous life of this
    /// node, or from another leader) is ignored.
    mutating func handleReadIndexResponse(_ response: ReadIndexResponse, from peer: NodeID) {
        guard case .follower(let leader) = role, leader == peer,
            let request = followerReads.takeAnswered(context: response.context, from: peer, term: term)
        else { return }
        if let index = response.readIndex {
            reads.confirm(request.reads, at: servesFollowerReadsBeforeApply ? .zero : index)
        } else {
            failedReads += request.reads
        }
    }

    /// Before each `Ready`: fails follower reads meant for a leader or term this node no longer
    /// follows, and sends the reads accepted since the last `Ready` in one request.
    mutating func sendFollowerReadRequest() {
        let followed: NodeID? = if case .follower(let leader) = role { leader } else { nil }
        failedReads += followerReads.failUnless(leader: followed, term: term)
        guard let request = followerReads.takeRequest() else { return }
        send(to: request.leader, .readIndex(ReadIndexRequest(context: request.context)))
    }
}
