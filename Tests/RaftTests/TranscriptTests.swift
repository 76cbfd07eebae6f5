import RaftCore
import Testing

// Transcripts: the exact `Ready` each node hands out, step by step, for short scenarios. A change in
// what the core emits (or in what order) shows up here as a precise diff.

@Suite("Transcripts")
struct TranscriptTests {
    @Test(
        "transcript: three nodes elect n1 through pre-vote and vote, then replicate its no-op and one command"
    )
    func electionAndFirstReplication() throws {
        var cluster = TestCluster(ids: ["n1", "n2", "n3"])
        let t0 = Term.zero
        let t1 = Term(1)

        // n1 times out and asks for pre-votes for t1 without leaving t0.
        cluster["n1"].tickUntilCampaign()
        cluster.expectReady(
            "n1",
            .expect(
                messages: [
                    envelope("n1", "n2", 1, .vote(pre: true)), envelope("n1", "n3", 1, .vote(pre: true)),
                ],
                events: [.becamePreCandidate(term: t0)]))
        cluster.deliverAll()
        cluster.expectReady(
            "n2", .expect(messages: [envelope("n2", "n1", 1, .voteReply(pre: true, granted: true))]))
        cluster.expectReady(
            "n3", .expect(messages: [envelope("n3", "n1", 1, .voteReply(pre: true, granted: true))]))
        cluster.deliverAll()

        // Two pre-votes of three: the real election, in t1, voting for itself.
        cluster.expectReady(
            "n1",
            .expect(
                hardState: HardState(term: t1, vote: "n1"),
                messages: [envelope("n1", "n2", 1, .vote()), envelope("n1", "n3", 1, .vote())],
                events: [.becameCandidate(term: t1)]))
        cluster.deliverAll()
        for voter: NodeID in ["n2", "n3"] {
            cluster.expectReady(
                voter,
                .expect(
                    hardState: HardState(term: t1, vote: "n1"),
                    messages: [envelope(voter, "n1", 1, .voteReply(granted: true))],
                    events: [.becameFollower(term: t1, leader: nil)]))
        }
        cluster.deliverAll()

        // Leader: the no-op goes to disk and to both followers in one batch.
        #expect(cluster["n1"].isLeader)
        cluster.expectReady(
            "n1",
            .expect(
                append: [entry(1, 1, .noop)],
                messages: [
                    envelope("n1", "n2", 1, .append(prev: 0, prevTerm: 0, [entry(1, 1, .noop)])),
                    envelope("n1", "n3", 1, .append(prev: 0, prevTerm: 0, [entry(1, 1, .noop)])),
                ],
                events: [.becameLeader(term: t1)],
                // A leader's appends may go out before its own write (thesis §10.2.1).
                sendsBeforePersisting: true))
        cluster.deliverAll()
        for follower: NodeID in ["n2", "n3"] {
            cluster.expectReady(
                follower,
                .expect(
                    append: [entry(1, 1, .noop)],
                    messages: [envelope(follower, "n1", 1, .appendOK(match: 1))],
                    events: [.leaderChanged(term: t1, leader: "n1")]))
        }
        cluster.deliverAll()

        // Committed on a majority: n1 applies it; the followers learn the commit index on the heartbeat.
        cluster.expectReady("n1", .expect(apply: [entry(1, 1, .noop)]))
        cluster.expectReady("n2", nil)
        cluster["n1"].tick()
        cluster.expectReady(
            "n1",
            .expect(messages: [
                envelope("n1", "n2", 1, .beat(commit: 1)), envelope("n1", "n3", 1, .beat(commit: 1)),
            ]))
        cluster.deliverAll()
        for follower: NodeID in ["n2", "n3"] {
            cluster.expectReady(
                follower,
                .expect(messages: [envelope(follower, "n1", 1, .beatReply())], apply: [entry(1, 1, .noop)]))
        }
        cluster.deliverAll()
        cluster.expectReady("n1", nil)

        // A command: one AppendEntries per follower, pipelined right after the no-op.
        let index = try cluster["n1"].propose([42])
        #expect(index == LogIndex(2))
        let command = entry(2, 1, data: [42])
        cluster.expectReady(
            "n1",
            .expect(
                append: [command],
                messages: [
                    envelope("n1", "n2", 1, .append(prev: 1, prevTerm: 1, [command], commit: 1)),
                    envelope("n1", "n3", 1, .append(prev: 1, prevTerm: 1, [command], commit: 1)),
                ], sendsBeforePersisting: true))
        cluster.deliverAll()
        for follower: NodeID in ["n2", "n3"] {
            cluster.expectReady(
                follower,
                .expect(append: [command], messages: [envelope(follower, "n1", 1, .appendOK(match: 2))]))
        }
        cluster.deliverAll()
        cluster.expectReady("n1", .expect(apply: [command]))
        cluster.expectReady("n1", nil)
    }

    @Test("transcript: a follower that missed appends is probed back into line with one rejection")
    func laggingFollowerProbe() throws {
        var cluster = TestCluster.caughtUp()
        // n2 misses two appends; n1 and n3 commit them.
        cluster.isolated = ["n2"]
        for k in UInt8(1)...2 {
            _ = try cluster["n1"].propose([k])
            cluster.settle()
        }
        #expect(cluster["n1"].log.committed == LogIndex(3))
        cluster.isolated = []

        let missed = [entry(2, 1, data: [1]), entry(3, 1, data: [2])]
        let fourth = entry(4, 1, data: [3])
        _ = try cluster["n1"].propose([3])
        cluster.expectReady(
            "n1",
            .expect(
                append: [fourth],
                messages: [
                    envelope("n1", "n2", 1, .append(prev: 3, prevTerm: 1, [fourth], commit: 3)),
                    envelope("n1", "n3", 1, .append(prev: 3, prevTerm: 1, [fourth], commit: 3)),
                ], sendsBeforePersisting: true))
        cluster.deliverAll()
        cluster.expectReady(
            "n2",
            .expect(messages: [
                envelope("n2", "n1", 1, .appendRejected(at: 3, conflictTerm: nil, firstIndex: 2))
            ]))
        cluster.expectReady(
            "n3",
            .expect(
                append: [fourth], messages: [envelope("n3", "n1", 1, .appendOK(match: 4))], apply: [missed[1]]
            ))
        cluster.deliverAll()

        // The hint sends n1 straight back to i2: everything n2 lacks, in one message.
        cluster.expectReady(
            "n1",
            .expect(
                messages: [
                    envelope("n1", "n2", 1, .append(prev: 1, prevTerm: 1, missed + [fourth], commit: 4))
                ],
                apply: [fourth]))
        cluster.deliverAll()
        cluster.expectReady(
            "n2",
            .expect(
                append: missed + [fourth], messages: [envelope("n2", "n1", 1, .appendOK(match: 4))],
                apply: missed + [fourth]))
        cluster.deliverAll()
        cluster.expectReady("n1", nil)
    }
}
