import RaftCore
import Testing

// Thesis §6.4 (ReadIndex) rules; see RaftPaperTests.swift.

// MARK: - Linearizable reads (thesis §6.4)

@Suite("Raft paper: ReadIndex")
struct RaftPaperReadIndexTests {
    struct NewLeaderReadCase: Sendable, CustomTestStringConvertible {
        var fault: TestingFault?
        /// In which of the numbered Readies below the read is served.
        var servedIn: Int
        var testDescription: String { fault.map { "with fault \($0.rawValue)" } ?? "correct core" }
    }

    @Test(
        "§6.4 (thesis): a new leader's read waits for its no-op commit, a quorum heartbeat and the apply",
        arguments: [
            NewLeaderReadCase(fault: nil, servedIn: 4),
            // Negative control: serving at once answers before the leader knows its commit index.
            NewLeaderReadCase(fault: .readWithoutReadIndex, servedIn: 1),
        ])
    func readOnNewLeader(_ c: NewLeaderReadCase) throws {
        var cluster = TestCluster(ids: three, testingFault: c.fault)
        cluster["n1"].tickUntilCampaign()
        cluster.run(until: { $0["n1"].isLeader })
        cluster.inFlight = []
        cluster.isolated = ["n3"]
        let read = ReadRequestID(1)
        try cluster["n1"].requestRead(read)

        var n1Readies: [Ready] = []
        var appliedWhenServed: LogIndex?
        var applied = LogIndex.zero
        func record(_ ready: Ready?) {
            guard let ready else { return }
            n1Readies.append(ready)
            applied = ready.entriesToApply.last?.index ?? applied
            if ready.readsToServe.contains(read) { appliedWhenServed = applied }
        }

        // 1: the no-op goes out. A plain heartbeat round before it commits serves nothing.
        record(cluster.collect("n1"))
        #expect(cluster["n1"].log.committed == .zero)
        cluster["n1"].tick()
        // 2: that heartbeat.
        record(cluster.collect("n1"))
        cluster.deliverAll()
        cluster.collect("n2")  // accepts the no-op, answers the heartbeat
        cluster.deliverAll()
        #expect(cluster["n1"].log.committed == LogIndex(1))
        // 3: the no-op applies and the read's own heartbeat round goes out.
        record(cluster.collect("n1"))
        let round = n1Readies.last?.messages.filter(\.isHeartbeat) ?? []
        if c.fault == nil {
            #expect(round.map(\.message) == [.beat(commit: 1, context: 1), .beat(commit: 0, context: 1)])
        }
        cluster.deliverAll()
        cluster.collect("n2")
        cluster.deliverAll()
        // 4: n2 echoed the round: with n1 itself, a quorum.
        record(cluster.collect("n1"))

        let servedIn = n1Readies.firstIndex { $0.readsToServe.contains(read) }.map { $0 + 1 }
        #expect(servedIn == c.servedIn)
        #expect(n1Readies.flatMap(\.readsToServe) == [read], "served exactly once")
        if c.fault == nil {
            #expect(
                appliedWhenServed == LogIndex(1), "served only once the no-op (the read index) is applied")
        }
    }

    @Test("§6.4 (thesis): a read is answered only once the state machine has applied its read index")
    func readWaitsForApply() throws {
        var cluster = TestCluster.caughtUp()
        _ = try cluster["n1"].propose([1])
        cluster.collect("n1")
        cluster.deliverAll()
        cluster.collect("n2")
        cluster.collect("n3")
        cluster.deliverAll()
        // i2 is committed but not yet handed to the state machine: the read index is i2.
        #expect(cluster["n1"].log.committed == LogIndex(2))
        #expect(cluster["n1"].log.applied == LogIndex(1))
        let read = ReadRequestID(7)
        try cluster["n1"].requestRead(read)
        // Confirm leadership before the Ready is even taken (as if the round's answers were early).
        cluster["n1"].step(envelope("n2", "n1", 1, .beatReply(context: 1)))
        let ready = try cluster.requireCollect("n1")
        #expect(ready.readsToServe == [read])
        #expect(
            ready.entriesToApply.map(\.index) == [LogIndex(2)],
            "served in the Ready that applies i2, after it")
    }

    @Test("§6.4 (thesis): reads requested together share one heartbeat round")
    func readsShareRound() throws {
        var cluster = TestCluster.caughtUp()
        let reads = (1...5).map { ReadRequestID(UInt64($0)) }
        for read in reads { try cluster["n1"].requestRead(read) }
        let ready = try cluster.requireCollect("n1")
        #expect(ready.messages.filter(\.isHeartbeat).count == 2)
        cluster.settle()
        #expect(cluster.readies["n1", default: []].flatMap(\.readsToServe) == reads)
    }

    enum StepDownCause: String, CaseIterable, Sendable {
        case higherTerm, lostQuorum
    }

    @Test(
        "§6.4 (thesis): reads not yet confirmed fail when the leader steps down",
        arguments: StepDownCause.allCases)
    func readsFailOnStepDown(_ cause: StepDownCause) throws {
        var cluster = TestCluster.caughtUp()
        let read = ReadRequestID(1)
        try cluster["n1"].requestRead(read)
        cluster.collect("n1")
        cluster.inFlight = []  // the round's heartbeats are lost
        switch cause {
        case .higherTerm:
            cluster["n1"].step(envelope("n2", "n1", 2, .beatReply()))
        case .lostQuorum:
            cluster.isolated = ["n2", "n3"]
            for _ in 0..<(3 * cluster["n1"].config.electionTicks) where cluster["n1"].isLeader {
                cluster["n1"].tick()
            }
        }
        #expect(!cluster["n1"].isLeader)
        let ready = try cluster.requireCollect("n1")
        #expect(ready.readsFailed == [read])
        #expect(ready.readsToServe.isEmpty)
        let later = cluster.collect("n1")
        #expect(later?.readsFailed.isEmpty ?? true, "failed once")
    }

    @Test("§6.4 (thesis): a read waiting for the new leader's first commit fails if it steps down")
    func awaitingReadFailsOnStepDown() throws {
        var cluster = TestCluster(ids: three)
        cluster["n1"].tickUntilCampaign()
        cluster.run(until: { $0["n1"].isLeader })
        try cluster["n1"].requestRead(ReadRequestID(3))
        cluster["n1"].step(envelope("n3", "n1", 4, .appendOK(match: 0)))
        let ready = try cluster.requireCollect("n1")
        #expect(ready.readsFailed == [ReadRequestID(3)])
    }
}
