import RaftCore
import RaftSimulation
import Testing

/// Scripted scenarios named after the classic Raft test list, on a simulated cluster with a
/// reliable network unless the scenario says otherwise.
@Suite("Simulation: classic scenarios")
struct ScenarioTests {
    func quietCluster(size: Int, seed: UInt64 = 1) -> SimulatedCluster {
        SimulatedCluster(options: .quiet(clusterSize: size, seed: seed))
    }

    /// Runs until a leader (other than `excluded`) is followed by a majority of the cluster in its
    /// term; returns it.
    func electLeader(
        _ cluster: inout SimulatedCluster, withinTicks ticks: Int = 60, excluding excluded: NodeID? = nil
    ) throws -> NodeID {
        let elected = cluster.run(
            untilTrue: { cluster in
                guard let leader = cluster.leader, leader != excluded, let term = cluster.core(leader)?.term
                else {
                    return false
                }
                let supporters = cluster.ids.filter { id in
                    guard let core = cluster.core(id) else { return false }
                    return core.term == term && core.leader == leader
                }
                return supporters.count > cluster.ids.count / 2
            }, maxTicks: ticks)
        #expect(cluster.failure == nil, "\(cluster.failure.map { "\($0)" } ?? "")")
        try #require(elected, "no leader within \(ticks) ticks: \(cluster)")
        return cluster.leader!
    }

    func propose(_ cluster: inout SimulatedCluster, _ key: String, _ value: String, at id: NodeID) throws
        -> LogIndex
    {
        let index = cluster.propose(key: key, value: value, at: id)
        return try #require(index, "\(id) refused a proposal")
    }

    func followers(_ cluster: SimulatedCluster, of leader: NodeID) -> [NodeID] {
        cluster.ids.filter { $0 != leader }
    }

    @Test("initial election: one leader, and it keeps leading while nothing fails", arguments: [3, 5, 7])
    func initialElection(size: Int) throws {
        var cluster = quietCluster(size: size)
        let leader = try electLeader(&cluster)
        let term = cluster.core(leader)!.term
        cluster.run(ticks: 200)
        #expect(cluster.leader == leader)
        #expect(cluster.core(leader)!.term == term, "a healthy cluster held a needless election")
    }

    @Test("re-election: a new leader after the leader crashes, and the old one rejoins as follower")
    func reElection() throws {
        var cluster = quietCluster(size: 3)
        let first = try electLeader(&cluster)
        cluster.crash(first)
        let second = try electLeader(&cluster)
        #expect(second != first)
        cluster.restart(first)
        cluster.run(ticks: 30)
        #expect(cluster.leader == second)
        #expect(cluster.core(first)!.leader == second)
    }

    @Test("many elections: 7 nodes with 3 of them down, again and again, always elect a leader")
    func manyElections() throws {
        var cluster = quietCluster(size: 7, seed: 7)
        var random = SplitMix64(seed: 7)
        _ = try electLeader(&cluster)
        for _ in 0..<10 {
            let down = Array(cluster.ids.shuffled(using: &random).prefix(3))
            for id in down { cluster.crash(id) }
            let leader = try electLeader(&cluster, withinTicks: 100)
            #expect(!down.contains(leader))
            for id in down { cluster.restart(id) }
        }
        _ = try electLeader(&cluster)
    }

    @Test("basic agreement: every node applies what the leader commits, in order")
    func basicAgreement() throws {
        var cluster = quietCluster(size: 5)
        let leader = try electLeader(&cluster)
        for k in 0..<10 {
            _ = try propose(&cluster, "k", "v\(k)", at: leader)
        }
        cluster.run(ticks: 10)
        for id in cluster.ids {
            #expect(cluster.value(of: "k", at: id) == "v9", "\(id) did not apply every entry")
            #expect(cluster.core(id)!.log.applied == cluster.core(leader)!.log.committed)
        }
    }

    @Test("agreement after a follower reconnects: it catches up with what it missed")
    func agreementAfterReconnect() throws {
        var cluster = quietCluster(size: 3)
        let leader = try electLeader(&cluster)
        let lagging = followers(cluster, of: leader)[0]
        cluster.partition([[lagging], cluster.ids.filter { $0 != lagging }])
        for k in 0..<20 { _ = cluster.propose(key: "k\(k % 3)", value: "v\(k)", at: leader) }
        cluster.run(ticks: 5)
        #expect(cluster.core(leader)!.log.committed > cluster.core(lagging)!.log.lastIndex)
        cluster.healNetwork()
        cluster.run(ticks: 15)
        #expect(cluster.core(lagging)!.log.applied == cluster.core(leader)!.log.committed)
        #expect(cluster.value(of: "k1", at: lagging) == "v19")
    }

    @Test("no agreement without a quorum; agreement once the quorum is back")
    func noAgreementWithoutQuorum() throws {
        var cluster = quietCluster(size: 5)
        let leader = try electLeader(&cluster)
        let cutOff = Array(followers(cluster, of: leader).prefix(3))
        cluster.partition([cutOff, cluster.ids.filter { !cutOff.contains($0) }])
        let committedBefore = cluster.core(leader)!.log.committed
        let index = try propose(&cluster, "k", "lonely", at: leader)
        cluster.run(ticks: 5)
        #expect(cluster.core(leader)!.log.committed == committedBefore, "committed without a majority")
        cluster.healNetwork()
        let newLeader = try electLeader(&cluster, withinTicks: 100)
        cluster.run(ticks: 10)
        // Whether "lonely" survives depends on who leads now; either way every node agrees.
        let value = cluster.value(of: "k", at: newLeader)
        for id in cluster.ids { #expect(cluster.value(of: "k", at: id) == value) }
        #expect(cluster.core(newLeader)!.log.committed >= index || value == nil)
    }

    @Test("concurrent proposals: a burst before one Ready commits in proposal order")
    func concurrentProposals() throws {
        var cluster = quietCluster(size: 3)
        let leader = try electLeader(&cluster)
        cluster.resetMessageCounts()
        var indexes: [LogIndex] = []
        for k in 0..<50 {
            // Proposals made without running the cluster in between share one batch.
            indexes.append(try propose(&cluster, "k", "v\(k)", at: leader))
        }
        #expect(indexes == indexes.sorted() && Set(indexes).count == 50)
        cluster.run(ticks: 10)
        for id in cluster.ids { #expect(cluster.value(of: "k", at: id) == "v49") }
    }

    @Test("rejoin of a partitioned leader: its uncommitted entries are replaced, nothing committed is lost")
    func rejoinOfPartitionedLeader() throws {
        var cluster = quietCluster(size: 3)
        let oldLeader = try electLeader(&cluster)
        _ = cluster.propose(key: "k", value: "committed", at: oldLeader)
        cluster.run(ticks: 5)
        cluster.partition([[oldLeader], followers(cluster, of: oldLeader)])
        let orphan = try propose(&cluster, "k", "orphan", at: oldLeader)
        let orphanTerm = cluster.core(oldLeader)!.term
        let newLeader = try electLeader(&cluster, withinTicks: 100, excluding: oldLeader)
        _ = cluster.propose(key: "k", value: "new", at: newLeader)
        cluster.run(ticks: 5)
        cluster.healNetwork()
        cluster.run(ticks: 30)
        #expect(cluster.leader == newLeader)
        #expect(cluster.core(oldLeader)!.log.term(at: orphan) != orphanTerm, "the orphan entry survived")
        for id in cluster.ids { #expect(cluster.value(of: "k", at: id) == "new") }
        #expect(cluster.failure == nil)
    }

    @Test("fast backup: a leader repairs 50 divergent entries in a few round trips")
    func fastBackup() throws {
        var cluster = quietCluster(size: 5)
        let first = try electLeader(&cluster)
        let others = followers(cluster, of: first)
        // The first leader and one follower write 50 entries the other three never see.
        cluster.partition([[first, others[0]], Array(others[1...])])
        for k in 0..<50 { _ = cluster.propose(key: "lost", value: "\(k)", at: first) }
        cluster.run(ticks: 3)
        // The three elect a leader and commit 50 entries of their own.
        cluster.crash(first)
        cluster.partition([[others[0]], Array(others[1...])])
        let second = try electLeader(&cluster, withinTicks: 100)
        for k in 0..<50 { _ = cluster.propose(key: "kept", value: "\(k)", at: second) }
        cluster.run(ticks: 10)
        // Now the follower with 50 stale entries rejoins.
        cluster.resetMessageCounts()
        cluster.healNetwork()
        cluster.run(ticks: 20)
        #expect(cluster.core(others[0])!.log.applied == cluster.core(second)!.log.committed)
        #expect(cluster.value(of: "kept", at: others[0]) == "49")
        #expect(cluster.value(of: "lost", at: others[0]) == nil)
        let responses = cluster.messageCount(.appendResponse)
        #expect(responses <= 12, "repairing the follower took \(responses) AppendEntries round trips")
    }

    @Test("message budget: an idle leader sends only heartbeats")
    func idleLeaderSendsOnlyHeartbeats() throws {
        var cluster = quietCluster(size: 5)
        _ = try electLeader(&cluster)
        cluster.run(ticks: 5)
        cluster.resetMessageCounts()
        cluster.run(ticks: 50)
        #expect(cluster.messageCount(.append) == 0)
        #expect(cluster.messageCount(.vote) + cluster.messageCount(.preVote) == 0)
        // One heartbeat per follower per tick, give or take the phase of the clocks.
        #expect((4 * 49)...(4 * 51) ~= cluster.messageCount(.heartbeat))
    }

    @Test(
        "message budget: one agreement costs one AppendEntries and one response per follower",
        arguments: [3, 5, 7])
    func agreementMessageBudget(size: Int) throws {
        var cluster = quietCluster(size: size)
        let leader = try electLeader(&cluster)
        cluster.run(ticks: 5)
        cluster.resetMessageCounts()
        _ = cluster.propose(key: "k", value: "v", at: leader)
        cluster.run(
            untilTrue: { cluster in
                cluster.ids.allSatisfy {
                    cluster.core($0)!.log.lastIndex == cluster.core(leader)!.log.lastIndex
                } && cluster.messageCount(.appendResponse) == size - 1
            }, maxTicks: 5)
        #expect(cluster.messageCount(.append) == size - 1)
        #expect(cluster.messageCount(.appendResponse) == size - 1)
    }

    @Test("pre-vote: a node cut off and then back does not depose a healthy leader")
    func preVoteKeepsLeader() throws {
        var cluster = quietCluster(size: 5)
        let leader = try electLeader(&cluster)
        let loner = followers(cluster, of: leader)[0]
        let term = cluster.core(leader)!.term
        cluster.partition([[loner], cluster.ids.filter { $0 != loner }])
        cluster.run(ticks: 100)
        #expect(cluster.core(loner)!.term == term, "an isolated node raised its term")
        cluster.healNetwork()
        cluster.run(ticks: 20)
        #expect(cluster.leader == leader)
        #expect(cluster.core(leader)!.term == term)
    }

    @Test("check-quorum: a leader cut off from the majority steps down, and the majority elects another")
    func checkQuorumStepsDown() throws {
        var cluster = quietCluster(size: 5)
        let leader = try electLeader(&cluster)
        cluster.partition([[leader], followers(cluster, of: leader)])
        cluster.run(ticks: 40)
        #expect(!cluster.core(leader)!.isLeader, "an isolated leader kept leading")
        let other = try #require(cluster.leader)
        #expect(other != leader)
    }

    @Test("linearizable reads see every write acknowledged before them")
    func readsSeeAcknowledgedWrites() throws {
        var options = SimulationOptions.quiet(clusterSize: 3, seed: 5)
        options.clients = 3
        options.readRatio = 0.5
        options.faultyTicks = 200
        options.healTicks = 200
        var cluster = SimulatedCluster(options: options)
        let stats = try cluster.run().get()
        #expect(stats.operationsOK > 100)
    }
}
