import RaftCore
import Testing

// Thesis §6.4, reads served by followers: the follower asks the leader for a read index, the
// leader confirms its leadership with a heartbeat round and answers, the follower serves once it
// has applied that index. See RaftPaperTests.swift.

extension Envelope {
    var readIndexContext: UInt64? {
        if case .readIndex(let request) = message { return request.context }
        return nil
    }

    var readIndexAnswer: ReadIndexResponse? {
        if case .readIndexResponse(let response) = message { return response }
        return nil
    }
}

@Suite("Raft paper: ReadIndex on followers")
struct RaftPaperFollowerReadTests {
    @Test(
        "§6.4 (thesis): a follower's reads of one Ready share one request; the leader answers after a quorum round"
    )
    func followerReadRoundTrip() throws {
        var cluster = TestCluster.caughtUp()
        let reads = [ReadRequestID(1), ReadRequestID(2)]
        for read in reads { try cluster["n2"].requestRead(read) }
        let asked = try cluster.requireCollect("n2")
        #expect(asked.messages.count == 1)
        let context = try #require(asked.messages.first?.readIndexContext)
        #expect(asked.messages.first?.to == "n1")
        #expect(asked.readsToServe.isEmpty)

        cluster.deliverAll()
        // The leader opens a heartbeat round for the request and answers nothing yet.
        let round = try cluster.requireCollect("n1")
        #expect(
            round.messages.map(\.message) == [.beat(commit: 1, context: 1), .beat(commit: 1, context: 1)])
        cluster.deliverAll()
        cluster.collect("n2")
        cluster.collect("n3")
        cluster.deliverAll()
        // n2 and n3 echoed the round: the answer is the commit index when the request arrived.
        let answered = try cluster.requireCollect("n1")
        #expect(
            answered.messages.compactMap(\.readIndexAnswer) == [
                ReadIndexResponse(context: context, readIndex: LogIndex(1))
            ])
        #expect(answered.messages.map(\.to) == ["n2"])
        cluster.deliverAll()
        let served = try cluster.requireCollect("n2")
        #expect(served.readsToServe == reads)
        #expect(cluster["n2"].pendingReadCount == 0)
    }

    struct ApplyCase: Sendable, CustomTestStringConvertible {
        var fault: TestingFault?
        var servedBeforeApply: Bool
        var testDescription: String { fault.map { "with fault \($0.rawValue)" } ?? "correct core" }
    }

    @Test(
        "§6.4 (thesis): a follower serves only once it has applied the leader's read index",
        arguments: [
            ApplyCase(fault: nil, servedBeforeApply: false),
            // Negative control: serving when the answer comes returns the state before i2.
            ApplyCase(fault: .followerReadBeforeApply, servedBeforeApply: true),
        ])
    func followerWaitsForApply(_ c: ApplyCase) throws {
        var cluster = TestCluster.caughtUp(testingFault: c.fault)
        _ = try cluster["n1"].propose([1])
        cluster.collect("n1")
        cluster.deliverAll()
        cluster.collect("n2")
        cluster.collect("n3")
        cluster.deliverAll()
        #expect(cluster["n1"].log.committed == LogIndex(2))
        #expect(cluster["n2"].log.committed == LogIndex(1), "n2 has not heard of the commit yet")

        let read = ReadRequestID(9)
        try cluster["n2"].requestRead(read)
        cluster.collect("n2")
        cluster.deliverAll()
        cluster.collect("n1")  // the round's heartbeats, each carrying commit i2
        // n2's heartbeat is lost; n3's answer makes the quorum.
        cluster.inFlight.removeAll { $0.to == "n2" }
        cluster.deliverAll()
        cluster.collect("n3")
        cluster.deliverAll()
        let answered = try cluster.requireCollect("n1")
        #expect(answered.messages.compactMap(\.readIndexAnswer).map(\.readIndex) == [LogIndex(2)])
        cluster.deliverAll()

        let afterAnswer = cluster.collect("n2")
        #expect(cluster["n2"].log.applied == LogIndex(1))
        #expect((afterAnswer?.readsToServe == [read]) == c.servedBeforeApply)
        guard !c.servedBeforeApply else { return }
        // The next heartbeat tells n2 the commit index: it applies i2 and serves the read after it.
        cluster["n1"].tick()
        cluster.collect("n1")
        cluster.deliverAll()
        let applying = try cluster.requireCollect("n2")
        #expect(applying.entriesToApply.map(\.index) == [LogIndex(2)])
        #expect(applying.readsToServe == [read])
    }

    @Test("§6.4 (thesis): duplicated, stale and foreign answers are ignored; each read is served once")
    func staleAnswersIgnored() throws {
        var cluster = TestCluster.caughtUp()
        let read = ReadRequestID(3)
        try cluster["n2"].requestRead(read)
        let asked = try cluster.requireCollect("n2")
        let context = try #require(asked.messages.first?.readIndexContext)
        cluster.inFlight = []
        // An unknown context and an answer from a node that is not n2's leader confirm nothing.
        cluster["n2"].step(
            envelope(
                "n1", "n2", 1, .readIndexResponse(ReadIndexResponse(context: context &+ 1, readIndex: .zero)))
        )
        cluster["n2"].step(
            envelope("n3", "n2", 1, .readIndexResponse(ReadIndexResponse(context: context, readIndex: .zero)))
        )
        #expect(cluster.collect("n2")?.readsToServe.isEmpty ?? true)
        let answer = envelope(
            "n1", "n2", 1, .readIndexResponse(ReadIndexResponse(context: context, readIndex: LogIndex(1))))
        cluster["n2"].step(answer)
        cluster["n2"].step(answer)
        #expect(try cluster.requireCollect("n2").readsToServe == [read])
        cluster["n2"].step(answer)
        #expect(cluster.collect("n2")?.readsToServe.isEmpty ?? true, "a duplicate serves nothing more")
    }

    enum FollowerFailure: String, CaseIterable, Sendable {
        case newLeader, newTerm, noAnswer, refused
    }

    @Test(
        "§6.4 (thesis): a follower fails its pending reads on a new leader or term, a refusal, or silence",
        arguments: FollowerFailure.allCases)
    func followerReadsFail(_ failure: FollowerFailure) throws {
        var cluster = TestCluster.caughtUp()
        let read = ReadRequestID(4)
        try cluster["n2"].requestRead(read)
        let asked = try cluster.requireCollect("n2")
        let context = try #require(asked.messages.first?.readIndexContext)
        cluster.inFlight = []  // the request is lost
        let timeout = cluster["n2"].config.electionTicks
        switch failure {
        case .newLeader:
            cluster["n2"].step(envelope("n3", "n2", 2, .beat()))
        case .newTerm:
            // Any message of a newer term (votes are refused within the leader lease, thesis §9.6).
            cluster["n2"].step(envelope("n3", "n2", 2, .beatReply()))
        case .refused:
            cluster["n2"].step(
                envelope(
                    "n1", "n2", 1, .readIndexResponse(ReadIndexResponse(context: context, readIndex: nil))))
        case .noAnswer:
            // The leader is alive (its heartbeats keep n2 from campaigning) but never answers.
            for _ in 0..<(timeout - 1) {
                cluster["n2"].tick()
                cluster["n2"].step(envelope("n1", "n2", 1, .beat(commit: 1)))
            }
            #expect(cluster.collect("n2")?.readsFailed.isEmpty ?? true, "not before an election timeout")
            cluster["n2"].tick()
        }
        let ready = try cluster.requireCollect("n2")
        #expect(ready.readsFailed == [read])
        #expect(cluster["n2"].pendingReadCount == 0)
    }

    @Test("§6.4 (thesis): a leader that steps down refuses the follower requests it had not confirmed")
    func leaderStepDownRefuses() throws {
        var cluster = TestCluster.caughtUp()
        let read = ReadRequestID(5)
        try cluster["n2"].requestRead(read)
        cluster.collect("n2")
        cluster.deliverAll()
        cluster.collect("n1")
        cluster.inFlight = []  // the round's heartbeats are lost
        cluster.isolated = ["n3"]
        for _ in 0..<(3 * cluster["n1"].config.electionTicks) where cluster["n1"].isLeader {
            cluster["n1"].tick()
        }
        #expect(!cluster["n1"].isLeader)
        let steppedDown = try cluster.requireCollect("n1")
        #expect(steppedDown.messages.compactMap(\.readIndexAnswer).map(\.readIndex) == [nil])
        cluster.inFlight.removeAll { $0.readIndexAnswer == nil }
        cluster.deliverAll()
        #expect(try cluster.requireCollect("n2").readsFailed == [read])
    }

    @Test("§6.4 (thesis): a new leader answers a follower only after its no-op commits")
    func newLeaderWaitsForNoop() throws {
        var cluster = TestCluster(ids: three)
        cluster["n1"].tickUntilCampaign()
        cluster.run(until: { $0["n1"].isLeader })
        cluster.inFlight = []
        #expect(cluster["n1"].log.committed == .zero)
        let term = cluster["n1"].term.value
        cluster["n1"].step(envelope("n2", "n1", term, .readIndex(ReadIndexRequest(context: 40))))
        let before = try cluster.requireCollect("n1")
        #expect(before.messages.compactMap(\.readIndexAnswer).isEmpty)
        cluster.settle()
        let answers = cluster.delivered.compactMap(\.readIndexAnswer)
        #expect(answers == [ReadIndexResponse(context: 40, readIndex: LogIndex(1))])
    }

    @Test("a node that knows no leader refuses a read at once")
    func noLeaderRefuses() {
        var fresh = makeCore("n3", voters: three)
        #expect(throws: ProposalError.notLeader(leaderHint: nil)) { try fresh.requestRead(ReadRequestID(1)) }
        var candidate = makeCore("n3", voters: three)
        candidate.campaign()
        #expect(throws: ProposalError.notLeader(leaderHint: nil)) {
            try candidate.requestRead(ReadRequestID(1))
        }
    }
}
