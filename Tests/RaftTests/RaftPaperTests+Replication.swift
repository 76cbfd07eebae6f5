import RaftCore
import Testing

// Raft paper rules for log replication (§5.3, §5.4) and persistence (Figure 2); see RaftPaperTests.swift.

// MARK: - Log replication (§5.3, §5.4)

@Suite("Raft paper: log replication")
struct RaftPaperReplicationTests {
    @Test("§5.4.2, §8: a new leader appends a no-op entry of its own term")
    func newLeaderAppendsNoop() throws {
        let logs: [NodeID: [UInt64]] = ["n1": [1, 1], "n2": [1], "n3": [1, 1]]
        var cluster = TestCluster(
            three.map {
                makeCore(
                    $0, voters: three, hardState: HardState(term: Term(1)), log: makeLog(terms: logs[$0]!))
            })
        cluster.elect("n1")
        #expect(cluster["n1"].term == Term(2))
        #expect(cluster["n1"].log.entries.last == entry(3, 2, .noop))
        let first = try #require(cluster.readies["n1"]?.first { !$0.entriesToAppend.isEmpty })
        #expect(first.entriesToAppend == [entry(3, 2, .noop)])
        // It commits (with the earlier entries) once a majority stores it.
        #expect(cluster["n1"].log.committed == LogIndex(3))
    }

    struct ConsistencyCase: Sendable, CustomTestStringConvertible {
        var name: String
        var followerLog: [UInt64]
        var prev: UInt64
        var prevTerm: UInt64
        /// The expected answer: nil for accepted, else (conflictTerm, firstIndexOfConflict).
        var conflict: (term: UInt64?, first: UInt64)?
        var testDescription: String { name }
    }

    @Test(
        "§5.3: the consistency check rejects a missing or mismatched prevLogIndex with a conflict hint",
        arguments: [
            ConsistencyCase(
                name: "prevLogIndex past the end: hint is the follower's next index", followerLog: [1, 1],
                prev: 5,
                prevTerm: 2, conflict: (nil, 3)),
            ConsistencyCase(
                name: "prevLogIndex just past the end", followerLog: [1, 1], prev: 3, prevTerm: 1,
                conflict: (nil, 3)),
            ConsistencyCase(
                name: "term mismatch: hint is the first index of the follower's conflicting term",
                followerLog: [1, 2, 2, 2], prev: 4, prevTerm: 3, conflict: (2, 2)),
            ConsistencyCase(
                name: "term mismatch on the first entry", followerLog: [1, 1], prev: 2, prevTerm: 2,
                conflict: (1, 1)),
            ConsistencyCase(
                name: "a match is accepted", followerLog: [1, 2, 2], prev: 3, prevTerm: 2, conflict: nil),
            ConsistencyCase(
                name: "the empty prefix always matches", followerLog: [1], prev: 0, prevTerm: 0, conflict: nil
            ),
        ])
    func consistencyCheck(_ c: ConsistencyCase) throws {
        var n2 = makeCore(
            "n2", voters: three, hardState: HardState(term: Term(3)), log: makeLog(terms: c.followerLog))
        n2.step(envelope("n1", "n2", 3, .append(prev: c.prev, prevTerm: c.prevTerm, [entry(c.prev + 1, 3)])))
        let ready = try n2.requireReady()
        if let conflict = c.conflict {
            #expect(
                ready.messages == [
                    envelope(
                        "n2", "n1", 3,
                        .appendRejected(at: c.prev, conflictTerm: conflict.term, firstIndex: conflict.first))
                ])
            #expect(ready.entriesToAppend.isEmpty)
            #expect(n2.log.entries == makeLog(terms: c.followerLog).entries, "a rejection changes nothing")
        } else {
            #expect(ready.messages == [envelope("n2", "n1", 3, .appendOK(match: c.prev + 1))])
            #expect(ready.entriesToAppend == [entry(c.prev + 1, 3)])
        }
    }

    @Test(
        "Figure 2, AppendEntries rule 3: a delayed shorter AppendEntries after a longer one removes nothing")
    func delayedShorterAppendKeepsEntries() throws {
        var n2 = makeCore("n2", voters: three, hardState: HardState(term: Term(1)))
        let short = envelope("n1", "n2", 1, .append(prev: 0, prevTerm: 0, [entry(1, 1)]))
        let long = envelope(
            "n1", "n2", 1, .append(prev: 0, prevTerm: 0, [entry(1, 1), entry(2, 1), entry(3, 1)]))
        n2.step(long)
        _ = n2.takeAndAdvance()
        n2.step(short)
        let ready = try n2.requireReady()
        #expect(n2.log.lastIndex == LogIndex(3))
        #expect(ready.entriesToAppend.isEmpty)
        #expect(ready.messages == [envelope("n2", "n1", 1, .appendOK(match: 1))])
    }

    @Test(
        "Figure 2, AppendEntries rule 3: a conflicting entry deletes the follower's entry and all that follow"
    )
    func conflictingEntryTruncates() throws {
        var n2 = makeCore(
            "n2", voters: three, hardState: HardState(term: Term(2)), log: makeLog(terms: [1, 2, 2, 2]))
        n2.step(envelope("n1", "n2", 3, .append(prev: 1, prevTerm: 1, [entry(2, 3)])))
        let ready = try n2.requireReady()
        #expect(n2.log.entries == [entry(1, 1), entry(2, 3)])
        #expect(ready.entriesToAppend == [entry(2, 3)], "the driver overwrites i2 and drops i3, i4")
        #expect(ready.messages == [envelope("n2", "n1", 3, .appendOK(match: 2))])
    }

    @Test("Figure 2, AppendEntries: an append reaching below the commit index appends only what is new")
    func appendBelowCommitIndex() throws {
        var n2 = makeCore("n2", voters: three, hardState: HardState(term: Term(1)))
        n2.step(
            envelope(
                "n1", "n2", 1,
                .append(prev: 0, prevTerm: 0, [entry(1, 1), entry(2, 1), entry(3, 1)], commit: 3)))
        _ = try n2.requireReady()
        #expect(n2.log.committed == LogIndex(3))

        // A stale copy of the first append: settled entries, acknowledged up to the commit index.
        n2.step(envelope("n1", "n2", 1, .append(prev: 0, prevTerm: 0, [entry(1, 1)])))
        let stale = try n2.requireReady()
        #expect(stale.messages == [envelope("n2", "n1", 1, .appendOK(match: 3))])
        #expect(stale.entriesToAppend.isEmpty)

        // Overlapping the commit index: the settled prefix is skipped, the rest appended.
        n2.step(
            envelope(
                "n1", "n2", 1,
                .append(prev: 1, prevTerm: 1, [entry(2, 1), entry(3, 1), entry(4, 1)], commit: 3)))
        let overlap = try n2.requireReady()
        #expect(overlap.entriesToAppend == [entry(4, 1)])
        #expect(overlap.messages == [envelope("n2", "n1", 1, .appendOK(match: 4))])
    }

    @Test("§5.3: a lost AppendEntries is sent again once heartbeats show the follower made no progress")
    func lostAppendRetried() throws {
        var cluster = TestCluster.caughtUp()
        _ = try cluster["n1"].propose([1])
        cluster.collect("n1")
        cluster.inFlight.removeAll { $0.to == "n2" }
        cluster.settle()
        #expect(cluster["n2"].log.lastIndex == LogIndex(1))
        for _ in 0..<3 {
            cluster["n1"].tick()
            cluster.settle()
        }
        #expect(cluster["n2"].log.lastIndex == LogIndex(2))
        #expect(cluster["n2"].log.committed == LogIndex(2))
    }

    @Test("§5.3: a lost probe is sent again after the follower answers a heartbeat")
    func lostProbeRetried() throws {
        var cluster = TestCluster(ids: three)
        cluster["n1"].tickUntilCampaign()
        cluster.run(until: { $0["n1"].isLeader })
        cluster.collect("n1")
        cluster.inFlight.removeAll { $0.to == "n2" }  // the no-op's probe to n2 is lost
        cluster.settle()
        #expect(cluster["n2"].log.lastIndex == .zero)
        cluster["n1"].tick()
        cluster.settle()
        #expect(cluster["n2"].log.lastIndex == LogIndex(1))
    }

    struct FollowerCommitCase: Sendable, CustomTestStringConvertible {
        var name: String
        var followerLog: [UInt64]
        var prev: UInt64
        var prevTerm: UInt64
        var entries: [Entry]
        var leaderCommit: UInt64
        var expectedCommit: UInt64
        var testDescription: String { name }
    }

    @Test(
        "Figure 2, AppendEntries rule 5: a follower commits min(leaderCommit, last index covered)",
        arguments: [
            FollowerCommitCase(
                name: "unverified entries past an empty append stay uncommitted", followerLog: [1, 1, 1],
                prev: 1,
                prevTerm: 1, entries: [], leaderCommit: 3, expectedCommit: 1),
            FollowerCommitCase(
                name: "a conflicting suffix is replaced and committed only through the message",
                followerLog: [1, 1, 1], prev: 1, prevTerm: 1, entries: [entry(2, 2)], leaderCommit: 4,
                expectedCommit: 2),
            FollowerCommitCase(
                name: "leaderCommit below the covered index wins", followerLog: [1, 1, 1], prev: 3,
                prevTerm: 1,
                entries: [], leaderCommit: 2, expectedCommit: 2),
            FollowerCommitCase(
                name: "new entries are committed up to leaderCommit", followerLog: [1], prev: 1, prevTerm: 1,
                entries: [entry(2, 2), entry(3, 2)], leaderCommit: 3, expectedCommit: 3),
        ])
    func followerCommitIndex(_ c: FollowerCommitCase) throws {
        var n2 = makeCore(
            "n2", voters: three, hardState: HardState(term: Term(1)), log: makeLog(terms: c.followerLog))
        n2.step(
            envelope(
                "n1", "n2", 2, .append(prev: c.prev, prevTerm: c.prevTerm, c.entries, commit: c.leaderCommit))
        )
        #expect(n2.log.committed == LogIndex(c.expectedCommit))
        let ready = try n2.requireReady()
        #expect(ready.entriesToApply.last?.index == LogIndex(c.expectedCommit))
    }

    @Test("Figure 2, rules for all servers: committed entries are applied in order, each exactly once")
    func committedEntriesAppliedInOrder() throws {
        var cluster = TestCluster.caughtUp()
        for k in UInt8(1)...3 { _ = try cluster["n1"].propose([k]) }
        cluster.settle()
        _ = try cluster["n1"].propose([4])
        cluster.settle()
        cluster["n1"].tick()
        cluster.settle()
        for id in three {
            let applied = cluster.readies[id, default: []].flatMap(\.entriesToApply)
            #expect(applied.map(\.index) == (1...5).map(LogIndex.init), "\(id)")
            #expect(applied.dropFirst().map(\.data) == [[1], [2], [3], [4]], "\(id)")
        }
    }

    struct Figure8Case: Sendable, CustomTestStringConvertible {
        var fault: TestingFault?
        var commitAfterOldEntryReplicated: UInt64
        var testDescription: String { fault.map { "with fault \($0.rawValue)" } ?? "correct core" }
    }

    @Test(
        "§5.4.2: a leader commits an earlier term's entry only together with an entry of its own term",
        arguments: [
            Figure8Case(fault: nil, commitAfterOldEntryReplicated: 0),
            // Negative control: the Figure 8 bug commits i2@t2 by counting replicas.
            Figure8Case(fault: .commitEarlierTermByCounting, commitAfterOldEntryReplicated: 2),
        ])
    func onlyCurrentTermCommitsByCounting(_ c: Figure8Case) throws {
        // n1 led t2 and appended i2@t2 alone; it is now elected in t4. One entry per AppendEntries.
        let n1 = makeCore(
            "n1", voters: three, hardState: HardState(term: Term(3)), log: makeLog(terms: [1, 2]),
            maxAppendBytes: 1,
            testingFault: c.fault)
        let followers = ["n2", "n3"].map {
            makeCore($0, voters: three, hardState: HardState(term: Term(3)), log: makeLog(terms: [1]))
        }
        var cluster = TestCluster([n1] + followers)
        cluster["n1"].campaign()
        cluster.run(until: { $0["n1"].isLeader })
        #expect(cluster["n1"].term == Term(4))
        cluster.isolated = ["n3"]

        // The first probe (prev i2@t2, carrying the no-op) is rejected; the second carries i2@t2.
        cluster.run(until: { $0["n2"].log.lastIndex == LogIndex(2) })
        let accepted = try cluster.requireCollect("n2")
        #expect(accepted.messages == [envelope("n2", "n1", 4, .appendOK(match: 2))])
        cluster.deliverAll()
        #expect(cluster["n1"].progress(of: "n2")?.match == LogIndex(2))
        #expect(cluster["n1"].log.term(at: LogIndex(2)) == Term(2))
        #expect(cluster["n2"].log.term(at: LogIndex(2)) == Term(2))
        #expect(cluster["n1"].log.stableIndex == LogIndex(3))
        // i2@t2 is now on n1 and n2, a majority, yet (correctly) not committed.
        #expect(cluster["n1"].log.committed == LogIndex(c.commitAfterOldEntryReplicated))

        // Once the no-op i3@t4 reaches n2, it commits, and i2 with it.
        cluster.settle()
        #expect(cluster["n2"].log.lastIndex == LogIndex(3))
        #expect(cluster["n1"].log.committed == LogIndex(3))
    }

    @Test("§5.3: only the leader takes proposals; others refuse, naming the leader they know")
    func proposalsOnlyOnLeader() throws {
        var cluster = TestCluster.caughtUp()
        var n2 = cluster["n2"]
        #expect(throws: ProposalError.notLeader(leaderHint: "n1")) { try n2.propose([1]) }
        // A follower that knows its leader takes reads (thesis §6.4; RaftPaperTests+FollowerReads).
        try n2.requestRead(ReadRequestID(1))
        #expect(n2.pendingReadCount == 1)

        var candidate = makeCore("n3", voters: three)
        candidate.campaign()
        #expect(throws: ProposalError.notLeader(leaderHint: nil)) { try candidate.propose([1]) }
        var fresh = makeCore("n3", voters: three)
        #expect(throws: ProposalError.notLeader(leaderHint: nil)) { try fresh.propose([1]) }

        let index = try cluster["n1"].propose([9])
        #expect(index == LogIndex(2))
    }
}

// MARK: - Persistence before messages (Figure 2, "persistent state")

@Suite("Raft paper: persist before send")
struct RaftPaperPersistenceTests {
    @Test(
        "Figure 2: a granted vote is in the same Ready as the hardState that records it",
        arguments: [0, 1] as [UInt64])
    func voteAndHardStateInOneReady(initialTerm: UInt64) throws {
        // From t0 the vote comes with a new term; from t1 (no vote yet) only the vote changes.
        var n2 = makeCore("n2", voters: three, hardState: HardState(term: Term(initialTerm)))
        n2.step(envelope("n1", "n2", 1, .vote()))
        let ready = try n2.requireReady(advance: false)
        #expect(ready.hardState == HardState(term: Term(1), vote: "n1"))
        #expect(ready.messages == [envelope("n2", "n1", 1, .voteReply(granted: true))])
        #expect(ready.mustSync)
    }

    @Test("Figure 2: an accepted append is in the same Ready as the entries it acknowledges")
    func acceptAndEntriesInOneReady() throws {
        var n2 = makeCore("n2", voters: three)
        n2.step(envelope("n1", "n2", 1, .append(prev: 0, prevTerm: 0, [entry(1, 1), entry(2, 1)])))
        let ready = try n2.requireReady(advance: false)
        #expect(ready.hardState == HardState(term: Term(1)))
        #expect(ready.entriesToAppend == [entry(1, 1), entry(2, 1)])
        #expect(ready.messages == [envelope("n2", "n1", 1, .appendOK(match: 2))])
    }

    @Test("§10.2.1 (thesis): a leader counts its own entry towards commitment only once it is durable")
    func leaderCountsItselfOnlyWhenDurable() throws {
        var cluster = TestCluster.caughtUp()
        _ = try cluster["n1"].propose([1])
        // n1 hands out the entry and its AppendEntries but has not finished writing it yet.
        let ready = try cluster["n1"].requireReady(advance: false)
        for message in ready.messages where message.to == "n2" { cluster["n2"].step(message) }
        let answer = try cluster["n2"].requireReady()
        #expect(answer.messages == [envelope("n2", "n1", 1, .appendOK(match: 2))])
        cluster["n1"].step(answer.messages[0])
        #expect(cluster["n1"].log.committed == LogIndex(1), "n2 alone is not a majority of three")
        cluster["n1"].advance(ready)
        #expect(cluster["n1"].log.committed == LogIndex(2))
    }

    /// What one node has made durable, rebuilt from its Readies alone.
    struct Disk {
        var hardState = HardState()
        var log: [Entry] = []

        mutating func persist(_ ready: Ready) {
            if let hardState = ready.hardState { self.hardState = hardState }
            if let first = ready.entriesToAppend.first {
                log.removeSubrange(Int(first.index.value - 1)...)
                log += ready.entriesToAppend
            }
        }
    }

    @Test("Figure 2: every message is backed by state persisted in the same or an earlier Ready")
    func everyMessageBackedByDurableState() throws {
        var cluster = TestCluster.caughtUp()
        for k in UInt8(1)...3 { _ = try cluster["n1"].propose([k]) }
        cluster.settle()
        // n1 is cut off; n2 takes over in a new term and replicates more.
        cluster.isolated = ["n1"]
        for _ in 0..<40 {
            cluster.tickAll()
            cluster.settle()
            if cluster["n2"].isLeader || cluster["n3"].isLeader { break }
        }
        let leader = try #require(["n2", "n3"].first { cluster[$0].isLeader })
        _ = try cluster[leader].propose([4])
        cluster.settle()
        cluster.isolated = []
        for _ in 0..<3 {
            cluster.tickAll()
            cluster.settle()
        }
        #expect(cluster["n1"].log.lastIndex == cluster[leader].log.lastIndex)

        var checked = 0
        for id in three {
            var disk = Disk()
            for ready in cluster.readies[id, default: []] {
                disk.persist(ready)
                for message in ready.messages {
                    checked += 1
                    // Pre-votes speak of a term the node has not moved to, by design (thesis §9.6).
                    if message.isPreVote { continue }
                    #expect(
                        message.term <= disk.hardState.term, "\(message) sent before its term was durable")
                    if let response = message.voteResponse, response.granted {
                        #expect(
                            disk.hardState == HardState(term: message.term, vote: message.to), "\(message)")
                    }
                    if case .accepted(let match) = message.appendResult {
                        #expect(
                            match.value <= UInt64(disk.log.count),
                            "\(message) acknowledges unpersisted entries")
                    }
                }
            }
        }
        #expect(checked > 20)
    }
}
