import RaftCore
import Testing

/// Single-server membership changes (thesis §4.1-§4.2), driven by hand.
@Suite("Membership changes")
struct MembershipTests {
    /// A node that knows no configuration yet and waits for a leader to send it one.
    static func newcomer(_ id: NodeID, seed: UInt64 = 9) -> RaftCore {
        RaftCore(
            config: RaftConfig(id: id, electionTicks: 10, heartbeatTicks: 1, randomSeed: seed),
            configuration: ClusterConfiguration(members: []))
    }

    static func member(_ id: NodeID, voter: Bool = true) -> Member {
        Member(id: id, raftAddress: "\(id.name):7000", httpAddress: "\(id.name):8000", isVoter: voter)
    }

    /// `caughtUp()` where every member has an address, so changes can be checked against them.
    static func cluster() throws -> TestCluster {
        var cluster = TestCluster.caughtUp()
        // Readdress all three (three changes, each committed before the next).
        for id in three {
            _ = try cluster["n1"].proposeMembershipChange(.addOrUpdate(member(id)))
            cluster.settle()
        }
        return cluster
    }

    @Test("a one-node cluster bootstrapped by a configuration entry elects itself and adds a newcomer")
    func bootstrapAndAdd() throws {
        let bootstrap = Entry(
            term: Term(1), index: LogIndex(1), kind: .configuration,
            data: ClusterConfiguration(members: [Self.member("n1")]).encoded())
        var cluster = TestCluster([
            RaftCore(
                config: RaftConfig(id: "n1", electionTicks: 10, heartbeatTicks: 1, randomSeed: 1),
                configuration: ClusterConfiguration(members: []),
                log: RaftLog(entries: [bootstrap], committed: LogIndex(1))),
            Self.newcomer("n2"),
        ])
        #expect(cluster["n1"].configuration.voters == ["n1"])
        #expect(cluster["n2"].configuration.voters.isEmpty)
        cluster["n2"].tick(count: 50)
        #expect(cluster["n2"].role.name == .follower, "a node outside any configuration never campaigns")

        cluster.elect("n1")
        #expect(cluster["n1"].isLeader)
        let index = try cluster["n1"].proposeMembershipChange(.addOrUpdate(Self.member("n2")))
        #expect(cluster["n1"].configuration.voters == ["n1", "n2"], "in effect once appended (§4.1)")
        #expect(!cluster["n1"].isConfigurationCommitted)
        cluster.settle()
        #expect(cluster["n1"].log.committed >= index)
        #expect(cluster["n2"].configuration == cluster["n1"].configuration)
        #expect(cluster["n2"].log.entries.map(\.kind).first == .configuration, "got the log from entry 1")

        // Two voters now: nothing commits without n2.
        cluster.isolated = ["n2"]
        let next = try cluster["n1"].propose([1])
        cluster.settle()
        #expect(cluster["n1"].log.committed < next)
        cluster.isolated = []
        cluster.tickLeader("n1", until: { $0["n1"].log.committed >= next })
    }

    @Test("one change at a time, and only after the leader committed an entry of its term")
    func oneChangeAtATime() throws {
        var cluster = try Self.cluster()
        _ = try cluster["n1"].proposeMembershipChange(.addOrUpdate(Self.member("n4")))
        #expect(throws: MembershipError.changeInProgress) {
            try cluster["n1"].proposeMembershipChange(.remove("n3"))
        }
        cluster.settle()  // n4 does not exist, but n2 and n3 commit the change
        #expect(cluster["n1"].isConfigurationCommitted)
        _ = try cluster["n1"].proposeMembershipChange(.remove("n4"))
        cluster.settle()

        // A new leader, before its no-op commits, must refuse: an uncommitted change from an older
        // term could otherwise still win (the 2015 single-server bug).
        cluster.isolated = ["n1"]
        // Stop the moment someone wins, before its no-op goes out, and cut it off.
        var winner: NodeID?
        for _ in 0..<200 where winner == nil {
            cluster.tickAll()
            for _ in 0..<10 where winner == nil {
                cluster.collectAll()
                cluster.deliverAll()
                winner = ["n2", "n3"].first { cluster[$0].isLeader }
            }
        }
        let leader = try #require(winner)
        let other: NodeID = leader == "n2" ? "n3" : "n2"
        cluster.isolated = ["n1", other]
        cluster.settle()
        #expect(cluster[leader].log.term(at: cluster[leader].log.committed) != cluster[leader].term)
        #expect(throws: MembershipError.changeInProgress) {
            try cluster[leader].proposeMembershipChange(.remove("n1"))
        }
        cluster.isolated = ["n1"]
        cluster.tickLeader(
            leader, until: { $0[leader].log.term(at: $0[leader].log.committed) == $0[leader].term })
        _ = try cluster[leader].proposeMembershipChange(.remove("n1"))
    }

    @Test("a change that changes nothing appends nothing and returns the current configuration's index")
    func idempotentAdd() throws {
        var cluster = try Self.cluster()
        let last = cluster["n1"].log.lastIndex
        let index = try cluster["n1"].proposeMembershipChange(.addOrUpdate(Self.member("n2")))
        #expect(index == cluster["n1"].configurationIndex)
        #expect(cluster["n1"].log.lastIndex == last)
        // The same id with a new address is a real change.
        var moved = Self.member("n2")
        moved.raftAddress = "elsewhere:7000"
        let changed = try cluster["n1"].proposeMembershipChange(.addOrUpdate(moved))
        #expect(changed == last.next)
        #expect(cluster["n1"].configuration.member("n2")?.raftAddress == "elsewhere:7000")
    }

    @Test(
        "changes that make no sense are refused with the reason",
        arguments: [
            (MembershipChange.remove("n9"), "n9 is not a member"),
            (
                MembershipChange.addOrUpdate(Member(id: "n4", raftAddress: "n2:7000")),
                "address n2:7000 is already used by n2"
            ),
        ])
    func invalidChanges(change: MembershipChange, reason: String) throws {
        var cluster = try Self.cluster()
        #expect(throws: MembershipError.invalid(reason)) { try cluster["n1"].proposeMembershipChange(change) }
    }

    @Test("the last voter cannot be removed, and followers refuse changes with a hint")
    func lastVoterAndFollowers() throws {
        var cluster = TestCluster(ids: ["n1"])
        cluster.elect("n1")
        cluster.settle()
        #expect(throws: MembershipError.invalid("the cluster would have no voters")) {
            try cluster["n1"].proposeMembershipChange(.remove("n1"))
        }
        var three = try Self.cluster()
        #expect(throws: MembershipError.notLeader(leaderHint: "n1")) {
            try three["n2"].proposeMembershipChange(.remove("n3"))
        }
    }

    @Test("a removed follower gets no more entries and the quorum shrinks")
    func removeFollower() throws {
        var cluster = try Self.cluster()
        _ = try cluster["n1"].proposeMembershipChange(.remove("n3"))
        cluster.settle()
        #expect(cluster["n1"].configuration.voters == ["n1", "n2"])
        #expect(cluster["n1"].progress(of: "n3") == nil)
        #expect(
            cluster.readies["n3"]!.flatMap(\.events).contains(
                .removedFromVoters(index: cluster["n1"].configurationIndex)))
        let n3Last = cluster["n3"].log.lastIndex
        _ = try cluster["n1"].propose([7])
        cluster.settle()
        #expect(cluster["n3"].log.lastIndex == n3Last)
        cluster["n3"].tick(count: 100)
        #expect(cluster["n3"].role.name == .follower, "a removed node stops campaigning")
    }

    @Test("a leader removing itself replicates the change without counting itself, then steps down")
    func removeLeader() throws {
        var cluster = try Self.cluster()
        let index = try cluster["n1"].proposeMembershipChange(.remove("n1"))
        #expect(cluster["n1"].isLeader, "still leads until the change commits (§4.2.2)")
        // n1's own copy does not count: with n2 cut off, n3 alone is not a majority of {n2, n3}.
        cluster.isolated = ["n2"]
        cluster.settle()
        #expect(cluster["n1"].log.committed < index)
        #expect(cluster["n1"].isLeader)
        cluster.isolated = []
        cluster.tickLeader("n1", until: { !$0["n1"].isLeader })
        #expect(!cluster["n1"].isLeader)
        #expect(cluster.readies["n1"]!.flatMap(\.events).contains(.removedFromVoters(index: index)))
        #expect(cluster["n2"].log.committed >= index, "the followers learned the commit before it left")
        // The others elect a leader between them; n1 never campaigns again.
        for _ in 0..<100 where !(cluster["n2"].isLeader || cluster["n3"].isLeader) {
            cluster.tickAll()
            cluster.settle()
            #expect(cluster["n1"].role.name == .follower)
        }
        #expect(cluster["n2"].isLeader || cluster["n3"].isLeader)
    }

    @Test("a learner to be promoted becomes a voter once it holds everything committed, and not before")
    func promotion() throws {
        var cluster = try Self.cluster()
        cluster.nodes["n4"] = Self.newcomer("n4")
        cluster.isolated = ["n4"]
        let joined = Member(
            id: "n4", raftAddress: "n4:7000", httpAddress: "n4:8000", isVoter: false,
            promotesWhenCaughtUp: true)
        _ = try cluster["n1"].proposeMembershipChange(.addOrUpdate(joined))
        for _ in 0..<5 {
            cluster["n1"].tick()
            cluster.settle()
        }
        #expect(cluster["n1"].isConfigurationCommitted)
        #expect(cluster["n1"].configuration.learners == ["n4"], "cut off, n4 has not caught up")
        cluster.isolated = []
        cluster.tickLeader(
            "n1", until: { $0["n1"].configuration.isVoter("n4") && $0["n1"].isConfigurationCommitted })
        #expect(cluster["n1"].configuration.member("n4")?.promotesWhenCaughtUp == false)
        #expect(cluster["n4"].configuration == cluster["n1"].configuration)
        // A learner not marked for promotion stays one.
        cluster.nodes["n5"] = Self.newcomer("n5", seed: 11)
        _ = try cluster["n1"].proposeMembershipChange(.addOrUpdate(Self.member("n5", voter: false)))
        for _ in 0..<10 {
            cluster["n1"].tick()
            cluster.settle()
        }
        #expect(cluster["n5"].log.lastIndex == cluster["n1"].log.lastIndex)
        #expect(cluster["n1"].configuration.learners == ["n5"])
    }

    @Test("a learner receives the log but neither votes nor counts toward commits")
    func learner() throws {
        var cluster = try Self.cluster()
        cluster.nodes["n4"] = Self.newcomer("n4")
        _ = try cluster["n1"].proposeMembershipChange(.addOrUpdate(Self.member("n4", voter: false)))
        cluster.settle()
        #expect(cluster["n4"].log.lastIndex == cluster["n1"].log.lastIndex)
        #expect(cluster["n1"].configuration.voters == three)
        #expect(cluster["n1"].configuration.learners == ["n4"])
        cluster["n4"].tick(count: 100)
        #expect(cluster["n4"].role.name == .follower)
        // Commits still need two of n1..n3: n4's copy is not enough.
        cluster.isolated = ["n2", "n3"]
        let index = try cluster["n1"].propose([1])
        cluster.settle()
        #expect(cluster["n4"].log.lastIndex >= index)
        #expect(cluster["n1"].log.committed < index)
    }

    @Test("a node whose uncommitted configuration entry is overwritten falls back to the one before")
    func truncatedConfigurationReverts() throws {
        var cluster = try Self.cluster()
        let before = cluster["n1"].configuration
        let beforeIndex = cluster["n1"].configurationIndex
        // n1 appends a change that reaches no one, and is cut off.
        cluster.isolated = ["n1"]
        let index = try cluster["n1"].proposeMembershipChange(.remove("n3"))
        cluster.settle()
        #expect(cluster["n1"].configuration.voters == ["n1", "n2"])

        // n2 leads a new term and writes its no-op at that index; n1 hears of it and must drop
        // the removal along with the entry.
        cluster.electAfterTimeouts("n2")
        #expect(cluster["n2"].log.entry(at: index)?.kind == .noop)
        cluster.isolated = []
        cluster.tickLeader("n2", until: { $0["n1"].log.term(at: index) == $0["n2"].term })
        #expect(cluster["n1"].configuration == before)
        #expect(cluster["n1"].configurationIndex == beforeIndex)
        let events = cluster.readies["n1"]!.flatMap(\.events)
        #expect(events.contains(.configurationChanged(index: beforeIndex, configuration: before)))
    }

    @Test("a snapshot carries the configuration as of its index, and installs it on a newcomer")
    func snapshotCarriesConfiguration() throws {
        var cluster = try Self.cluster()
        let atSnapshot = cluster["n1"].configuration
        let applied = cluster["n1"].log.applied
        // A change after the snapshot's index must not leak into it.
        let index = try cluster["n1"].proposeMembershipChange(.addOrUpdate(Self.member("n4", voter: false)))
        let snapshot = try cluster["n1"].takeSnapshot(at: applied.value, data: [1, 2, 3])
        #expect(snapshot.metadata.configuration == atSnapshot)
        cluster.settle()
        #expect(cluster["n1"].log.committed >= index)

        cluster.nodes["n4"] = Self.newcomer("n4")
        cluster["n1"].tick()
        cluster.settle()
        #expect(cluster["n4"].snapshot?.metadata.index == applied)
        #expect(
            cluster["n4"].configuration == cluster["n1"].configuration,
            "the snapshot's, then the entry after it")
        #expect(cluster["n4"].configurationIndex == index)
    }
}

extension TestCluster {
    /// Ticks `leader` and settles, round by round, until `condition` holds (at most 50 rounds).
    mutating func tickLeader(_ leader: NodeID, until condition: (TestCluster) -> Bool) {
        for _ in 0..<50 where !condition(self) {
            self[leader].tick()
            settle()
        }
        #expect(condition(self), "condition not reached in 50 heartbeat rounds")
    }

    /// Ticks everyone (isolated nodes too) until `id` leads; elections need timeouts to pass.
    mutating func electAfterTimeouts(_ id: NodeID) {
        for _ in 0..<200 where !self[id].isLeader {
            tickAll()
            settle()
        }
        #expect(self[id].isLeader, "\(id) did not win an election")
    }
}

extension RaftCore {
    mutating func tick(count: Int) {
        for _ in 0..<count {
            tick()
            if let ready = takeReady() { advance(ready) }
        }
    }
}
