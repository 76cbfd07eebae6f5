/// Elections: pre-vote, vote, and the voter's side of both (Raft §5.2, §5.4.1; thesis §9.6).
extension RaftCore {
    /// The election timer fired: ask for pre-votes first if enabled, so a node that cannot win
    /// never raises the cluster's term.
    mutating func startElection() {
        if config.preVote { becomePreCandidate() } else { becomeCandidate() }
    }

    mutating func becomePreCandidate() {
        role = .preCandidate(VoteTally(configuration: configuration))
        resetElectionTimer()
        events.append(.becamePreCandidate(term: term))
        requestVotes(isPreVote: true)
    }

    mutating func becomeCandidate(isLeadershipTransfer: Bool = false) {
        hardState = HardState(term: term.next, vote: id)
        role = .candidate(VoteTally(configuration: configuration))
        resetElectionTimer()
        events.append(.becameCandidate(term: term))
        requestVotes(isPreVote: false, isLeadershipTransfer: isLeadershipTransfer)
    }

    /// Votes for itself, then asks every other voter. A pre-vote asks about the next term
    /// without moving to it.
    mutating func requestVotes(isPreVote: Bool, isLeadershipTransfer: Bool = false) {
        recordVote(from: id, granted: true, isPreVote: isPreVote)
        guard role.name != .leader else { return }
        let request = RequestVote(
            isPreVote: isPreVote, lastLogIndex: log.lastIndex, lastLogTerm: log.lastTerm,
            isLeadershipTransfer: isLeadershipTransfer)
        let askedTerm = isPreVote ? term.next : term
        for peer in otherVoters {
            outbox.append(Envelope(from: id, to: peer, term: askedTerm, message: .requestVote(request)))
        }
    }

    mutating func handleRequestVote(_ request: RequestVote, from candidate: NodeID, term requestTerm: Term) {
        // For a real vote, `admitTerm` has already moved us to the request's term.
        let canVote: Bool
        if request.isPreVote {
            // Would we vote in the term it asks about? Yes if that term is newer, or if in this term
            // we are free: no vote cast and no leader known.
            canVote =
                requestTerm > term || (hardState.vote == nil && leader == nil) || hardState.vote == candidate
        } else {
            canVote = hardState.vote == candidate || (hardState.vote == nil && leader == nil)
        }
        // §5.4.1: only a candidate whose log is at least as up to date as ours can hold every committed entry.
        let granted =
            canVote && log.isUpToDate(lastIndex: request.lastLogIndex, lastTerm: request.lastLogTerm)
        let response = Message.requestVoteResponse(
            RequestVoteResponse(isPreVote: request.isPreVote, granted: granted))
        if request.isPreVote {
            // A granted pre-vote answers in the asked-about term; a refusal in ours, so a lagging
            // candidate catches up.
            outbox.append(
                Envelope(from: id, to: candidate, term: granted ? requestTerm : term, message: response))
            return
        }
        if granted {
            hardState.vote = candidate
            electionElapsed = 0  // §5.2: granting a vote resets the election timer
        }
        send(to: candidate, response)
    }

    mutating func handleRequestVoteResponse(_ response: RequestVoteResponse, from voter: NodeID) {
        recordVote(from: voter, granted: response.granted, isPreVote: response.isPreVote)
    }

    mutating func recordVote(from voter: NodeID, granted: Bool, isPreVote: Bool) {
        guard configuration.isVoter(voter) else { return }
        let outcome: VoteTally.Outcome
        switch role {
        case .preCandidate(var tally) where isPreVote:
            outcome = tally.record(voter, granted: granted)
            role = .preCandidate(tally)
        case .candidate(var tally) where !isPreVote:
            outcome = tally.record(voter, granted: granted)
            role = .candidate(tally)
        default:
            return  // a late answer to a round that is over
        }
        let won = outcome == .won || (takesOneNodeForAQuorum && granted && voter == id)
        if won {
            if isPreVote { becomeCandidate() } else { becomeLeader() }
        } else if outcome == .lost {
            becomeFollower(term: term, leader: nil)
        }
    }
}

extension RaftCore {
    /// Starts a real election at once, skipping pre-vote. Voters still in a live leader's lease
    /// ignore it (check-quorum), so on a healthy cluster this disrupts rather than transfers
    /// leadership; a transfer needs the leader's cooperation (membership issue). Ignored on a
    /// non-voter or a leader.
    public mutating func campaign() {
        guard mayCampaign, !isLeader else { return }
        becomeCandidate()
    }
}
