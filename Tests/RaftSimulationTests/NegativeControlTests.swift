import RaftCore
import RaftSimulation
import Testing

/// The simulation must catch a broken Raft, or a green sweep means nothing. Each deliberately
/// broken variant of the core must fail some seed of the same sweep the real core passes.
@Suite("Simulation: negative controls")
struct NegativeControlTests {
    /// The Figure 8 bug needs a chain of leaders failing at exact moments, which random runs almost
    /// never produce (0 of 2,000 seeds, measured); the scripted `figure8` test below is its control.
    static let randomlyCaught = TestingFault.allCases.filter { $0 != .commitEarlierTermByCounting }

    /// Faults outside membership run without membership changes: those shorten the windows in
    /// which a broken read or commit shows (readWithoutReadIndex: first caught at seed 302 with
    /// them, 11 without), and the checks that catch them do not depend on membership.
    @Test("a broken core variant is caught by the sweep", arguments: randomlyCaught)
    func brokenVariantIsCaught(_ fault: TestingFault) async {
        let caught = await offCooperativePool {
            for seed in UInt64(0)..<200 {
                var options = SimulationOptions(clusterSize: 3, seed: seed)
                options.testingFault = fault
                if fault != .allowConcurrentMembershipChanges { options.membershipEveryTicks = 0 }
                var cluster = SimulatedCluster(options: options)
                if case .failure = cluster.run() { return true }
            }
            return false
        }
        #expect(caught, "no seed in 0..<200 caught \(fault): the simulation's checks have gone blind")
    }

    /// Figure 8 of the paper, scripted on five nodes: an entry of an old term replicated on a
    /// majority by a later leader must not count as committed, because a node whose log ends in a
    /// newer term can still be elected and overwrite it.
    @Test("Figure 8: only the broken commit rule loses a committed entry", arguments: [false, true])
    func figure8(broken: Bool) throws {
        var options = SimulationOptions.quiet(clusterSize: 5, seed: 8)
        options.preVote = false
        options.checkQuorum = false
        options.electionTicks = 200  // nobody campaigns unless the script says so
        options.maxAppendBytes = 1  // one entry per AppendEntries, so replication can be cut between entries
        options.testingFault = broken ? .commitEarlierTermByCounting : nil
        var cluster = SimulatedCluster(options: options)
        let (n1, n2, n3, n4, n5): (NodeID, NodeID, NodeID, NodeID, NodeID) = ("n1", "n2", "n3", "n4", "n5")

        // (a) n1 leads and replicates X to n2 only.
        cluster.campaign(n1)
        let reached1 = cluster.run(untilTrue: { $0.core(n1)!.isLeader }, maxTicks: 5)
        try #require(reached1)
        cluster.run(ticks: 3)
        cluster.partition([[n1, n2], [n3], [n4], [n5]])
        let proposed = cluster.propose(key: "k", value: "X", at: n1)
        let x = try #require(proposed)
        let reached2 = cluster.run(untilTrue: { $0.core(n2)!.log.lastIndex >= x }, maxTicks: 3)
        try #require(reached2)

        // (b) n1 crashes; n5 is elected by n3 and n4 and writes its own entry at X's index, unreplicated.
        cluster.crash(n1)
        cluster.partition([[n2], [n3, n4, n5]])
        cluster.campaign(n5)
        let reached3 = cluster.run(untilTrue: { $0.core(n5)!.isLeader }, maxTicks: 3)
        try #require(reached3)
        cluster.partition([[n2], [n3], [n4], [n5]])
        #expect(cluster.core(n5)!.log.term(at: x)! > cluster.core(n2)!.log.term(at: x)!)

        // (c) n5 crashes; n1 comes back and leads a later term with n2 and n3. It replicates X to n3,
        // so X is on a majority, and is cut off before its own term's entry gets there.
        cluster.crash(n5)
        cluster.restart(n1)
        cluster.partition([[n1, n2, n3], [n4], [n5]])
        cluster.campaign(n1)
        cluster.run(ticks: 1)
        cluster.campaign(n1)  // n3 voted for n5 in the first term n1 tries; the next one wins
        let reached4 = cluster.run(untilTrue: { $0.core(n1)!.isLeader }, maxTicks: 3)
        try #require(reached4)
        // Wait until n1 knows n3 holds X (the broken rule commits X right then), then cut n3 off
        // before n1's next append reaches it, and crash n1.
        let reached5 = cluster.run(
            untilTrue: { ($0.core(n1)?.progress(of: n3)?.match ?? .zero) >= x }, maxTicks: 3)
        try #require(reached5)
        cluster.partition([[n3, n4, n5], [n2], [n1]])
        cluster.crash(n1)
        #expect(
            cluster.core(n3)!.log.lastIndex == x, "n3 got more than X; the script no longer builds Figure 8")

        // (d) n5 returns and, its last term being newest, is elected by n3 and n4: it overwrites X.
        cluster.restart(n5)
        cluster.campaign(n5)
        cluster.run(ticks: 1)
        cluster.campaign(n5)
        cluster.run(ticks: 10)

        if broken {
            let failure = try #require(cluster.failure, "the Figure 8 bug went unnoticed")
            #expect(failure.reason.contains("committed") || failure.reason.contains("completeness"))
        } else {
            #expect(cluster.failure == nil, "\(cluster.failure.map { "\($0)" } ?? "")")
            #expect(cluster.core(n5)!.isLeader)
            #expect(cluster.core(n3)!.log.term(at: x) == cluster.core(n5)!.log.term(at: x))
        }
    }
}
