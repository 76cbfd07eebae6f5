import RaftCore
import Testing

/// Leadership transfer (thesis §3.10), driven by hand.
@Suite("Leadership transfer")
struct LeadershipTransferTests {
    @Test("the target of a transfer campaigns at once and wins within its voters' leader lease")
    func transfer() throws {
        var cluster = TestCluster.caughtUp()
        let term = cluster["n1"].term
        #expect(try cluster["n1"].transferLeadership(to: "n2") == "n2")
        cluster.settle()  // no ticks: nobody's election timer is involved
        #expect(cluster["n2"].isLeader)
        #expect(cluster["n2"].term == term.next)
        #expect(cluster["n1"].role == .follower(leader: "n2"))
        #expect(cluster["n3"].role == .follower(leader: "n2"))
        #expect(cluster.delivered.filter { $0.message == .timeoutNow }.count == 1)
        // The new leader takes writes at once.
        let index = try cluster["n2"].propose([1])
        cluster.settle()
        #expect(cluster["n2"].log.committed >= index)
    }

    @Test("a lagging target is brought up to date before it is told to campaign")
    func laggingTarget() throws {
        var cluster = TestCluster.caughtUp()
        cluster.isolated = ["n3"]
        for k in 0..<5 { _ = try cluster["n1"].propose([UInt8(k)]) }
        cluster.settle()
        let last = cluster["n1"].log.lastIndex
        #expect(cluster["n3"].log.lastIndex < last)
        cluster.isolated = []
        _ = try cluster["n1"].transferLeadership(to: "n3")
        #expect(cluster.inFlight.allSatisfy { $0.message != .timeoutNow }, "not before n3 caught up")
        cluster.tickLeader("n1", until: { $0["n3"].isLeader })
        #expect(cluster["n3"].log.entry(at: last) == cluster["n1"].log.entry(at: last))
    }

    @Test("during a transfer proposals and membership changes are refused; a stalled one is abandoned")
    func refusedThenAbandoned() throws {
        var cluster = TestCluster.caughtUp()
        cluster.isolated = ["n2"]  // the target never answers
        _ = try cluster["n1"].transferLeadership(to: "n2")
        #expect(throws: ProposalError.leadershipTransferInProgress) { try cluster["n1"].propose([1]) }
        #expect(throws: MembershipError.changeInProgress) {
            try cluster["n1"].proposeMembershipChange(.remove("n3"))
        }
        #expect(throws: TransferError.inProgress) { try cluster["n1"].transferLeadership(to: "n3") }
        // After an election timeout (10 ticks) the leader gives up and takes proposals again.
        for _ in 0..<10 {
            cluster["n1"].tick()
            cluster.settle()
        }
        #expect(cluster["n1"].isLeader)
        #expect(cluster.readies["n1"]!.flatMap(\.events).contains(.leadershipTransferAbandoned(to: "n2")))
        _ = try cluster["n1"].propose([1])
    }

    @Test("with no target, the most up-to-date voter that is up is chosen; bad targets are refused")
    func choosingTarget() throws {
        var cluster = TestCluster.caughtUp()
        cluster.isolated = ["n2"]
        _ = try cluster["n1"].propose([1])
        cluster.settle()  // n3 has the entry, n2 does not
        #expect(throws: TransferError.invalidTarget("n1 already leads")) {
            try cluster["n1"].transferLeadership(to: "n1")
        }
        #expect(throws: TransferError.invalidTarget("n9 is not a voter")) {
            try cluster["n1"].transferLeadership(to: "n9")
        }
        #expect(throws: TransferError.notLeader(leaderHint: "n1")) {
            try cluster["n2"].transferLeadership(to: nil)
        }
        #expect(try cluster["n1"].transferLeadership(to: nil) == "n3")
    }

    @Test("only a transfer's RequestVote overrides a voter's leader lease")
    func leaseStillHolds() throws {
        var cluster = TestCluster.caughtUp()
        // n3 starts an election of its own (not a transfer): n2, hearing from n1, refuses.
        cluster["n3"].campaign()
        cluster.settle()
        #expect(cluster["n1"].isLeader)
        #expect(cluster["n2"].role == .follower(leader: "n1"))
        #expect(!cluster["n3"].isLeader)
    }
}
