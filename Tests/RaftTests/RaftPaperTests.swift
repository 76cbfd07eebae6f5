import RaftCore
import Testing

// One test per rule of the Raft paper (Ongaro & Ousterhout 2014, Figure 2 and §5) and of the
// thesis (Ongaro 2014, §6.4 ReadIndex, §9.6 pre-vote and check-quorum), each naming its section.
// Cores are driven by hand: ticked, stepped with crafted envelopes, or wired by `TestCluster`.

// MARK: - Elections (§5.2, §9.6)

@Suite("Raft paper: elections")
struct RaftPaperElectionTests {
    @Test("§9.6: a follower hearing no leader pre-votes after its election timeout, keeping its term")
    func preVoteAfterElectionTimeout() throws {
        var n1 = makeCore("n1", voters: three)
        let ticks = n1.tickUntilCampaign()
        #expect((10..<20).contains(ticks), "the timeout is drawn from [electionTicks, 2 × electionTicks)")
        #expect(n1.role.name == .preCandidate)
        #expect(n1.term == .zero)
        #expect(n1.hardState == HardState())

        let ready = try n1.requireReady(advance: false)
        n1.advance(ready)
        #expect(ready.hardState == nil, "a pre-vote changes nothing that must be persisted")
        #expect(
            ready.messages == [
                envelope("n1", "n2", 1, .vote(pre: true)),
                envelope("n1", "n3", 1, .vote(pre: true)),
            ])
        #expect(ready.events == [.becamePreCandidate(term: .zero)])
    }

    @Test("§9.6: granting a pre-vote changes neither the voter's term nor its vote")
    func preVoteGrantKeepsVoterState() throws {
        var n2 = makeCore("n2", voters: three)
        n2.step(envelope("n1", "n2", 1, .vote(pre: true)))
        #expect(n2.hardState == HardState())
        let ready = try n2.requireReady(advance: false)
        n2.advance(ready)
        #expect(ready == .expect(messages: [envelope("n2", "n1", 1, .voteReply(pre: true, granted: true))]))
    }

    @Test("§5.2: election timeouts are randomized in [electionTicks, 2 × electionTicks) by the seed")
    func electionTimeoutsRandomized() {
        var timeouts: Set<Int> = []
        for seed in UInt64(1)...20 {
            var core = makeCore("n1", voters: three, seed: seed)
            let ticks = core.tickUntilCampaign()
            #expect((10..<20).contains(ticks), "seed \(seed)")
            timeouts.insert(ticks)
            var again = makeCore("n1", voters: three, seed: seed)
            let ticksAgain = again.tickUntilCampaign()
            #expect(ticksAgain == ticks, "the same seed gives the same timeout")
        }
        #expect(timeouts.count >= 3, "timeouts should differ between seeds: \(timeouts.sorted())")
    }

    @Test("§5.2: after winning the pre-vote, the real election raises the term and votes for itself")
    func realVoteRaisesTermAndVotesForSelf() throws {
        var n1 = makeCore("n1", voters: three)
        n1.tickUntilCampaign()
        _ = n1.takeAndAdvance()
        n1.step(envelope("n2", "n1", 1, .voteReply(pre: true, granted: true)))
        #expect(n1.role.name == .candidate)
        #expect(n1.hardState == HardState(term: Term(1), vote: "n1"))

        let ready = try n1.requireReady(advance: false)
        n1.advance(ready)
        #expect(
            ready
                == .expect(
                    hardState: HardState(term: Term(1), vote: "n1"),
                    messages: [envelope("n1", "n2", 1, .vote()), envelope("n1", "n3", 1, .vote())],
                    events: [.becameCandidate(term: Term(1))]))
    }

    @Test("§5.2: a candidate with votes from a majority becomes leader")
    func candidateWithMajorityBecomesLeader() {
        var n1 = makeCore("n1", voters: three)
        n1.campaign()
        _ = n1.takeAndAdvance()
        n1.step(envelope("n2", "n1", 1, .voteReply(granted: false)))
        #expect(n1.role.name == .candidate, "one refusal of three is not a loss")
        n1.step(envelope("n3", "n1", 1, .voteReply(granted: true)))
        #expect(n1.isLeader)
        #expect(n1.term == Term(1))
    }

    @Test("§5.2: a candidate refused by a majority returns to follower in the same term")
    func candidateRefusedByMajorityStepsDown() {
        var n1 = makeCore("n1", voters: three)
        n1.campaign()
        _ = n1.takeAndAdvance()
        n1.step(envelope("n2", "n1", 1, .voteReply(granted: false)))
        n1.step(envelope("n3", "n1", 1, .voteReply(granted: false)))
        #expect(n1.role == .follower(leader: nil))
        #expect(n1.hardState == HardState(term: Term(1), vote: "n1"))
    }

    @Test("§9.6: a pre-candidate refused by a majority returns to follower without raising its term")
    func preCandidateRefusedStaysInTerm() {
        var n1 = makeCore("n1", voters: three)
        n1.tickUntilCampaign()
        _ = n1.takeAndAdvance()
        n1.step(envelope("n2", "n1", 0, .voteReply(pre: true, granted: false)))
        n1.step(envelope("n3", "n1", 0, .voteReply(pre: true, granted: false)))
        #expect(n1.role == .follower(leader: nil))
        #expect(n1.hardState == HardState())
    }

    @Test("§5.2: a candidate whose election times out starts over with a pre-vote, then a new term")
    func candidateTimesOutAndRetries() throws {
        var n1 = makeCore("n1", voters: three)
        n1.campaign()
        _ = n1.takeAndAdvance()
        var ticks = 0
        while n1.role.name == .candidate && ticks < 100 {
            n1.tick()
            ticks += 1
        }
        #expect((10..<20).contains(ticks))
        #expect(n1.role.name == .preCandidate)
        #expect(n1.term == Term(1))
        let ready = try n1.requireReady()
        #expect(ready.messages.map(\.term) == [Term(2), Term(2)])
        n1.step(envelope("n2", "n1", 2, .voteReply(pre: true, granted: true)))
        #expect(n1.role.name == .candidate)
        #expect(n1.hardState == HardState(term: Term(2), vote: "n1"))
    }

    @Test("§5.2: a follower that grants a vote restarts its election timer")
    func grantingVoteRestartsTimer() {
        // n2 is in t1 with no leader and no vote, so it may grant a t1 vote without changing term.
        var n2 = makeCore("n2", voters: three, hardState: HardState(term: Term(1)))
        var copy = n2
        let timeout = copy.tickUntilCampaign()
        for _ in 1..<timeout { n2.tick() }
        n2.step(envelope("n1", "n2", 1, .vote()))
        #expect(n2.hardState == HardState(term: Term(1), vote: "n1"))
        for _ in 1..<timeout { n2.tick() }
        #expect(n2.role == .follower(leader: nil), "the timer restarted when the vote was granted")
    }

    @Test("§5.2: a node grants at most one vote per term, first come first served")
    func oneVotePerTerm() throws {
        var n2 = makeCore("n2", voters: three)
        n2.step(envelope("n1", "n2", 1, .vote()))
        let first = try n2.requireReady()
        #expect(first.messages == [envelope("n2", "n1", 1, .voteReply(granted: true))])

        n2.step(envelope("n3", "n2", 1, .vote()))
        let second = try n2.requireReady()
        #expect(second.messages == [envelope("n2", "n3", 1, .voteReply(granted: false))])
        #expect(n2.hardState == HardState(term: Term(1), vote: "n1"))

        // The same candidate asking again (a retransmission) gets the same answer.
        n2.step(envelope("n1", "n2", 1, .vote()))
        let third = try n2.requireReady()
        #expect(third.messages == [envelope("n2", "n1", 1, .voteReply(granted: true))])

        // A new term frees the vote.
        n2.step(envelope("n3", "n2", 2, .vote()))
        let fourth = try n2.requireReady()
        #expect(fourth.messages == [envelope("n2", "n3", 2, .voteReply(granted: true))])
        #expect(n2.hardState == HardState(term: Term(2), vote: "n3"))
    }

    @Test("§5.2: a candidate does not vote for another candidate of its own term")
    func candidateRefusesRival() throws {
        var n1 = makeCore("n1", voters: three)
        n1.campaign()
        _ = n1.takeAndAdvance()
        n1.step(envelope("n2", "n1", 1, .vote()))
        let ready = try n1.requireReady()
        #expect(ready.messages == [envelope("n1", "n2", 1, .voteReply(granted: false))])
        #expect(n1.role.name == .candidate)
    }

    struct UpToDateCase: Sendable, CustomTestStringConvertible {
        var isPreVote: Bool
        var lastIndex: UInt64
        var lastTerm: UInt64
        var granted: Bool
        var testDescription: String {
            "\(isPreVote ? "pre-vote" : "vote") from a log ending at i\(lastIndex)@t\(lastTerm)"
        }
    }

    @Test(
        "§5.4.1: a vote is refused to a candidate whose log is less up to date than the voter's",
        arguments: [false, true].flatMap { pre in
            [
                // The voter's log ends at i2@t2.
                UpToDateCase(isPreVote: pre, lastIndex: 2, lastTerm: 2, granted: true),
                UpToDateCase(isPreVote: pre, lastIndex: 7, lastTerm: 2, granted: true),
                UpToDateCase(isPreVote: pre, lastIndex: 1, lastTerm: 3, granted: true),
                UpToDateCase(isPreVote: pre, lastIndex: 1, lastTerm: 2, granted: false),
                UpToDateCase(isPreVote: pre, lastIndex: 9, lastTerm: 1, granted: false),
                UpToDateCase(isPreVote: pre, lastIndex: 0, lastTerm: 0, granted: false),
            ]
        })
    func voteRefusedToStaleLog(_ c: UpToDateCase) throws {
        var n2 = makeCore(
            "n2", voters: three, hardState: HardState(term: Term(2)), log: makeLog(terms: [1, 2]))
        n2.step(
            envelope("n1", "n2", 3, .vote(pre: c.isPreVote, lastIndex: c.lastIndex, lastTerm: c.lastTerm)))
        let ready = try n2.requireReady()
        // A granted pre-vote answers in the asked-about term; a refused one in the voter's own.
        let replyTerm: UInt64 = c.isPreVote && !c.granted ? 2 : 3
        #expect(
            ready.messages == [
                envelope("n2", "n1", replyTerm, .voteReply(pre: c.isPreVote, granted: c.granted))
            ])
        if c.isPreVote {
            #expect(n2.hardState == HardState(term: Term(2)))
        } else {
            #expect(n2.hardState == HardState(term: Term(3), vote: c.granted ? "n1" : nil))
        }
    }

    @Test("§5.2: a candidate that receives AppendEntries from a leader of its term becomes its follower")
    func candidateStepsDownOnCurrentTermAppend() throws {
        var n1 = makeCore("n1", voters: three)
        n1.campaign()
        _ = n1.takeAndAdvance()
        n1.step(envelope("n2", "n1", 1, .append(prev: 0, prevTerm: 0, [entry(1, 1, .noop)])))
        #expect(n1.role == .follower(leader: "n2"))
        #expect(n1.term == Term(1))
        let ready = try n1.requireReady()
        #expect(ready.messages == [envelope("n1", "n2", 1, .appendOK(match: 1))])
        #expect(ready.events == [.becameFollower(term: Term(1), leader: "n2")])
    }

    @Test("§5.2: a single-node cluster elects itself and commits once its own log is durable")
    func singleNodeCluster() throws {
        var n1 = makeCore("n1", voters: ["n1"])
        n1.tickUntilCampaign()
        #expect(n1.isLeader)
        let election = try n1.requireReady(advance: false)
        #expect(
            election
                == .expect(
                    hardState: HardState(term: Term(1), vote: "n1"), append: [entry(1, 1, .noop)],
                    events: [
                        .becamePreCandidate(term: .zero), .becameCandidate(term: Term(1)),
                        .becameLeader(term: Term(1)),
                    ]))
        #expect(n1.log.committed == .zero, "nothing commits before the leader's own log is durable")
        n1.advance(election)
        #expect(n1.log.committed == LogIndex(1))
        let applyNoop = try n1.requireReady()
        #expect(applyNoop == .expect(apply: [entry(1, 1, .noop)]))

        let index = try n1.propose([7])
        #expect(index == LogIndex(2))
        let append = try n1.requireReady(advance: false)
        #expect(append == .expect(append: [entry(2, 1, data: [7])], sendsBeforePersisting: true))
        n1.advance(append)
        let applyCommand = try n1.requireReady()
        #expect(applyCommand == .expect(apply: [entry(2, 1, data: [7])]))

        try n1.requestRead(ReadRequestID(1))
        let serve = try n1.requireReady()
        #expect(serve == .expect(serve: [ReadRequestID(1)]))
        #expect(!n1.hasReady)
    }
}

// MARK: - Terms (§5.1)

@Suite("Raft paper: terms")
struct RaftPaperTermTests {
    enum Kind: String, CaseIterable, Sendable {
        case appendEntries, appendEntriesResponse, heartbeat, heartbeatResponse, requestVote,
            requestVoteResponse

        var message: Message {
            switch self {
            case .appendEntries: .append(prev: 0, prevTerm: 0)
            case .appendEntriesResponse: .appendOK(match: 0)
            case .heartbeat: .beat()
            case .heartbeatResponse: .beatReply()
            case .requestVote: .vote(lastIndex: 9, lastTerm: 9)
            case .requestVoteResponse: .voteReply(granted: false)
            }
        }

        /// Who the receiver follows afterwards: the sender, if the message comes from a leader.
        var leader: NodeID? { self == .appendEntries || self == .heartbeat ? "n2" : nil }
    }

    @Test(
        "§5.1: a candidate that sees a higher term in any message becomes a follower of that term",
        arguments: Kind.allCases)
    func higherTermMakesCandidateFollow(_ kind: Kind) throws {
        var n1 = makeCore("n1", voters: three)
        n1.campaign()
        _ = n1.takeAndAdvance()
        n1.step(envelope("n2", "n1", 5, kind.message))
        #expect(n1.term == Term(5))
        #expect(n1.role == .follower(leader: kind.leader))
        let ready = try n1.requireReady()
        let vote: NodeID? = kind == .requestVote ? "n2" : nil
        #expect(ready.hardState == HardState(term: Term(5), vote: vote))
        #expect(ready.events.first == .becameFollower(term: Term(5), leader: kind.leader))
    }

    @Test(
        "§5.1: a leader that sees a higher term in any message becomes a follower of that term",
        arguments: Kind.allCases.filter { $0 != .requestVote })
    func higherTermMakesLeaderFollow(_ kind: Kind) throws {
        var cluster = TestCluster.caughtUp()
        cluster["n1"].step(envelope("n2", "n1", 5, kind.message))
        #expect(cluster["n1"].term == Term(5))
        #expect(cluster["n1"].role == .follower(leader: kind.leader))
        let ready = try cluster.requireCollect("n1")
        #expect(ready.hardState == HardState(term: Term(5)))
        #expect(ready.events.first == .becameFollower(term: Term(5), leader: kind.leader))
    }

    @Test("§9.6: a pre-vote request of a higher term does not change the receiver's term")
    func preVoteDoesNotRaiseTerm() {
        var n1 = makeCore("n1", voters: three)
        n1.campaign()
        _ = n1.takeAndAdvance()
        n1.step(envelope("n2", "n1", 5, .vote(pre: true, lastIndex: 9, lastTerm: 9)))
        #expect(n1.term == Term(1))
        #expect(n1.role.name == .candidate)
    }

    @Test("§5.1: a request or response from an older term is ignored")
    func staleTermIgnored() throws {
        // n2 is a follower in t3 with no leader and no vote: it would grant a current-term vote.
        var n2 = makeCore("n2", voters: three, hardState: HardState(term: Term(3)))
        n2.step(envelope("n1", "n2", 2, .vote()))
        n2.step(envelope("n1", "n2", 2, .appendOK(match: 4)))
        n2.step(envelope("n1", "n2", 2, .voteReply(granted: true)))
        n2.step(envelope("n1", "n2", 2, .beatReply(context: 1)))
        #expect(!n2.hasReady, "stale votes and responses get no answer")
        #expect(n2.hardState == HardState(term: Term(3)))

        // A candidate of t3 does not count a t2 grant towards its election.
        var n1 = makeCore("n1", voters: three, hardState: HardState(term: Term(2)))
        n1.campaign()
        _ = n1.takeAndAdvance()
        n1.step(envelope("n2", "n1", 2, .voteReply(granted: true)))
        #expect(n1.role.name == .candidate)
        n1.step(envelope("n2", "n1", 3, .voteReply(granted: true)))
        #expect(n1.isLeader)
    }

    @Test("§5.1: a stale pre-vote is refused in the receiver's term so the asker catches up")
    func stalePreVoteRefusedWithTerm() throws {
        var n2 = makeCore("n2", voters: three, hardState: HardState(term: Term(3)))
        n2.step(envelope("n1", "n2", 2, .vote(pre: true)))
        let ready = try n2.requireReady()
        #expect(ready == .expect(messages: [envelope("n2", "n1", 3, .voteReply(pre: true, granted: false))]))

        var n1 = makeCore("n1", voters: three, hardState: HardState(term: Term(1)))
        n1.tickUntilCampaign()
        n1.step(ready.messages[0])
        #expect(n1.term == Term(3))
        #expect(n1.role == .follower(leader: nil))
    }

    @Test("§5.1: a stale AppendEntries is answered, not applied, so the old leader learns the term")
    func staleAppendAnsweredSoOldLeaderLearns() throws {
        var cluster = TestCluster.caughtUp()
        // n2 restarts having moved on to t3 (it campaigned while cut off, say), with the same log.
        cluster["n2"] = makeCore(
            "n2", voters: three, hardState: HardState(term: Term(3)),
            log: RaftLog(entries: cluster["n2"].log.entries))
        _ = try cluster["n1"].propose([1])
        cluster.collect("n1")
        let toN2 = cluster.inFlight.filter { $0.to == "n2" }
        #expect(toN2.map(\.isAppendEntries) == [true])
        cluster.deliverAll()
        #expect(cluster["n2"].log.lastIndex == LogIndex(1), "a stale AppendEntries appends nothing")
        let answer = try cluster.requireCollect("n2")
        #expect(answer.messages == [envelope("n2", "n1", 3, .beatReply(context: 0))])
        #expect(answer.entriesToAppend.isEmpty)

        cluster.deliverAll()
        #expect(cluster["n1"].term == Term(3))
        #expect(cluster["n1"].role == .follower(leader: nil))
        let stepDown = try cluster.requireCollect("n1")
        #expect(stepDown.hardState == HardState(term: Term(3)))
        #expect(stepDown.events == [.becameFollower(term: Term(3), leader: nil)])
    }
}

// MARK: - Check-quorum and the leader lease (thesis §6.2, §4.2.3)

@Suite("Raft paper: check-quorum and leader lease")
struct RaftPaperCheckQuorumTests {
    @Test(
        "§9.6: a follower that heard from a leader within electionTicks ignores higher-term (pre-)votes",
        arguments: [true, false])
    func followerWithinLeaseRefusesVotes(isPreVote: Bool) throws {
        var cluster = TestCluster.caughtUp()
        let request = envelope("n3", "n2", 2, .vote(pre: isPreVote, lastIndex: 1, lastTerm: 1))
        // Up to electionTicks - 1 ticks after the last heartbeat, n2 still trusts its leader.
        for _ in 0..<(cluster["n2"].config.electionTicks - 1) { cluster["n2"].tick() }
        #expect(cluster["n2"].role == .follower(leader: "n1"))
        cluster["n2"].step(request)
        #expect(!cluster["n2"].hasReady, "no answer within the lease")
        #expect(cluster["n2"].hardState == HardState(term: Term(1), vote: "n1"))

        // One more tick and the lease is over: the same request is granted.
        cluster["n2"].tick()
        cluster["n2"].step(request)
        let ready = try cluster.requireCollect("n2")
        let answers = ready.messages.filter { $0.to == "n3" && $0.voteResponse != nil }
        #expect(answers == [envelope("n2", "n3", 2, .voteReply(pre: isPreVote, granted: true))])
    }

    @Test("§9.6: a leader ignores higher-term votes while it leads with check-quorum")
    func leaderIgnoresHigherTermVotes() {
        var cluster = TestCluster.caughtUp()
        cluster["n1"].step(envelope("n3", "n1", 2, .vote(lastIndex: 1, lastTerm: 1)))
        cluster["n1"].step(envelope("n3", "n1", 2, .vote(pre: true, lastIndex: 1, lastTerm: 1)))
        #expect(cluster["n1"].isLeader)
        #expect(cluster["n1"].term == Term(1))
        #expect(!cluster["n1"].hasReady)
    }

    struct PartitionCase: Sendable, CustomTestStringConvertible {
        var isolated: Set<NodeID>
        var staysLeader: Bool
        var testDescription: String { "cut off from \(isolated.sorted())" }
    }

    @Test(
        "§6.2 (thesis): a leader hearing from no quorum for electionTicks steps down with lostQuorum",
        arguments: [
            PartitionCase(isolated: ["n2", "n3"], staysLeader: false),
            PartitionCase(isolated: ["n3"], staysLeader: true),
        ])
    func checkQuorumStepDown(_ c: PartitionCase) throws {
        var cluster = TestCluster.caughtUp()
        cluster.isolated = c.isolated
        let electionTicks = cluster["n1"].config.electionTicks
        var stepDownTick: Int?
        for tick in 1...(5 * electionTicks) {
            cluster.tickAll()
            cluster.settle()
            if stepDownTick == nil && !cluster["n1"].isLeader { stepDownTick = tick }
        }
        if c.staysLeader {
            #expect(stepDownTick == nil)
            #expect(cluster["n1"].isLeader)
            #expect(cluster["n1"].term == Term(1))
            return
        }
        let tick = try #require(stepDownTick)
        // Silence is checked once per electionTicks, so it is noticed after 1 to 2 timeouts.
        #expect((electionTicks...(2 * electionTicks)).contains(tick))
        let events = cluster.readies["n1", default: []].flatMap(\.events)
        let lost = try #require(events.firstIndex(of: .lostQuorum(term: Term(1))))
        #expect(events[lost + 1] == .becameFollower(term: Term(1), leader: nil))
    }

    @Test("§6.2 (thesis): a leader elected but never answered steps down after exactly electionTicks")
    func checkQuorumWithoutAnyAnswer() throws {
        var cluster = TestCluster(ids: three)
        cluster["n1"].tickUntilCampaign()
        cluster.run(until: { $0["n1"].isLeader })
        cluster.isolated = ["n2", "n3"]
        let electionTicks = cluster["n1"].config.electionTicks
        for _ in 1..<electionTicks { cluster["n1"].tick() }
        #expect(cluster["n1"].isLeader)
        cluster["n1"].tick()
        #expect(cluster["n1"].role == .follower(leader: nil))
        let ready = try cluster.requireCollect("n1")
        #expect(
            ready.events.suffix(2) == [
                .lostQuorum(term: Term(1)), .becameFollower(term: Term(1), leader: nil),
            ])
    }
}
