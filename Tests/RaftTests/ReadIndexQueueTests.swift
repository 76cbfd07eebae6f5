import Testing

@testable import RaftCore

@Suite("ReadIndexQueue")
struct ReadIndexQueueTests {
    let r1 = ReadRequestID(1)
    let r2 = ReadRequestID(2)
    let r3 = ReadRequestID(3)
    var l1: LeaderRead { .local(r1) }
    var l2: LeaderRead { .local(r2) }
    var l3: LeaderRead { .local(r3) }

    @Test("reads that arrive while a round is open share it and its single heartbeat round")
    func roundsBatchReads() {
        var queue = ReadIndexQueue()
        let first = queue.enqueue([l1], commitIndex: LogIndex(5), leader: "n1")
        let second = queue.enqueue([l2, l3], commitIndex: LogIndex(6), leader: "n1")
        #expect(first == 1)
        #expect(second == nil)
        #expect(queue.rounds.count == 1)
        #expect(queue.rounds[0].reads == [l1, l2, l3])
        // The round's heartbeats have not left, so the later commit index is the round's read index.
        #expect(queue.rounds[0].readIndex == LogIndex(6))
        #expect(queue.pendingCount == 3)
    }

    @Test("a closed round is not joined: the next read opens a new round with a new context")
    func closedRoundStartsNewRound() {
        var queue = ReadIndexQueue()
        let first = queue.enqueue([l1], commitIndex: LogIndex(5), leader: "n1")
        queue.isLastRoundOpen = false  // what takeReady() does once the heartbeats are handed out
        let second = queue.enqueue([l2], commitIndex: LogIndex(5), leader: "n1")
        #expect(first == 1)
        #expect(second == 2)
        #expect(queue.rounds.map(\.context) == [1, 2])
    }

    @Test("a round is confirmed only by a quorum, the leader counting itself")
    func roundNeedsQuorum() {
        var queue = ReadIndexQueue()
        _ = queue.enqueue([l1], commitIndex: LogIndex(3), leader: "n1")
        queue.isLastRoundOpen = false
        queue.acknowledge(context: 1, from: "n2", quorum: 3)
        #expect(queue.confirmed.isEmpty)
        queue.acknowledge(context: 1, from: "n2", quorum: 3)
        #expect(queue.confirmed.isEmpty, "a duplicate acknowledgement counts once")
        queue.acknowledge(context: 1, from: "n3", quorum: 3)
        #expect(queue.confirmed.map(\.id) == [r1])
        #expect(queue.confirmed.map(\.index) == [LogIndex(3)])
        #expect(queue.rounds.isEmpty)
    }

    @Test("a later round's quorum confirms the earlier rounds too")
    func laterRoundConfirmsEarlier() {
        var queue = ReadIndexQueue()
        _ = queue.enqueue([l1], commitIndex: LogIndex(3), leader: "n1")
        queue.isLastRoundOpen = false
        _ = queue.enqueue([l2], commitIndex: LogIndex(4), leader: "n1")
        queue.isLastRoundOpen = false
        _ = queue.enqueue([l3], commitIndex: LogIndex(4), leader: "n1")
        // Round 1 has n2; round 2 then reaches a quorum of 3 through n3 and n4 alone.
        queue.acknowledge(context: 1, from: "n2", quorum: 3)
        #expect(queue.confirmed.isEmpty)
        queue.rounds[1].acknowledged = ["n1", "n3"]
        queue.confirmQuorumRounds(quorum: 3)
        #expect(queue.confirmed.isEmpty)
        queue.rounds[1].acknowledged.insert("n4")
        queue.confirmQuorumRounds(quorum: 3)
        #expect(queue.confirmed.map(\.id) == [r1, r2])
        #expect(queue.rounds.map(\.context) == [3])
    }

    @Test("an acknowledgement of an earlier context does not confirm a later round")
    func earlierContextDoesNotConfirmLater() {
        var queue = ReadIndexQueue()
        _ = queue.enqueue([l1], commitIndex: LogIndex(3), leader: "n1")
        queue.isLastRoundOpen = false
        _ = queue.enqueue([l2], commitIndex: LogIndex(4), leader: "n1")
        queue.acknowledge(context: 1, from: "n2", quorum: 2)
        #expect(queue.confirmed.map(\.id) == [r1])
        #expect(queue.rounds.map(\.reads) == [[l2]])
        queue.acknowledge(context: 2, from: "n3", quorum: 2)
        #expect(queue.confirmed.map(\.id) == [r1, r2])
    }

    @Test("context zero (a stale-term answer or a plain heartbeat) confirms nothing")
    func contextZeroIgnored() {
        var queue = ReadIndexQueue()
        _ = queue.enqueue([l1], commitIndex: LogIndex(3), leader: "n1")
        queue.acknowledge(context: 0, from: "n2", quorum: 2)
        #expect(queue.confirmed.isEmpty)
        #expect(queue.rounds[0].acknowledged == ["n1"])
    }

    @Test(
        "takeServable hands out confirmed reads only up to the applied index, in order",
        arguments: [
            (applied: 0, served: []),
            (applied: 2, served: []),
            (applied: 3, served: [1]),
            (applied: 4, served: [1]),
            (applied: 5, served: [1, 2]),
            (applied: 9, served: [1, 2, 3]),
        ] as [(applied: UInt64, served: [UInt64])])
    func takeServableRespectsApplied(applied: UInt64, served: [UInt64]) {
        var queue = ReadIndexQueue()
        queue.confirmed = [(LogIndex(3), r1), (LogIndex(5), r2), (LogIndex(7), r3)]
        let servable = queue.takeServable(applied: LogIndex(applied))
        #expect(servable == served.map(ReadRequestID.init))
        #expect(queue.confirmed.count == 3 - served.count)
        // What was served is gone; the rest is served once applied catches up.
        let rest = queue.takeServable(applied: LogIndex(7))
        #expect(rest == Array([r1, r2, r3].dropFirst(served.count)))
    }

    @Test("drainUnconfirmed fails waiting and unconfirmed reads but keeps confirmed ones")
    func drainKeepsConfirmed() {
        var queue = ReadIndexQueue()
        _ = queue.enqueue([l1], commitIndex: LogIndex(2), leader: "n1")
        queue.acknowledge(context: 1, from: "n2", quorum: 2)
        queue.isLastRoundOpen = false
        _ = queue.enqueue([l2], commitIndex: LogIndex(2), leader: "n1")
        queue.awaitingTermCommit = [l3]
        let failed = queue.drainUnconfirmed()
        #expect(Set(failed) == [l2, l3])
        #expect(queue.rounds.isEmpty)
        #expect(!queue.isLastRoundOpen)
        #expect(queue.awaitingTermCommit.isEmpty)
        let served = queue.takeServable(applied: LogIndex(2))
        #expect(served == [r1])
    }

    @Test("a follower's request shares the leader's round and is answered with the round's read index")
    func remoteReadsShareRounds() {
        var queue = ReadIndexQueue()
        let remote = LeaderRead.remote(from: "n3", context: 77)
        _ = queue.enqueue([l1], commitIndex: LogIndex(4), leader: "n1")
        #expect(queue.enqueue([remote], commitIndex: LogIndex(5), leader: "n1") == nil)
        queue.acknowledge(context: 1, from: "n2", quorum: 2)
        #expect(queue.confirmed.map(\.id) == [r1])
        let answers = queue.takeConfirmedRemote()
        #expect(answers.map(\.to) == ["n3"])
        #expect(answers.map(\.context) == [77])
        #expect(answers.map(\.index) == [LogIndex(5)])
        #expect(queue.takeConfirmedRemote().isEmpty, "each request is answered once")
        // The follower's read is served at the follower, not here: only the leader's own is pending.
        #expect(queue.pendingCount == 1)
    }

    @Test("confirm keeps reads in index order when a follower's answers come back out of order")
    func confirmKeepsOrder() {
        var queue = ReadIndexQueue()
        queue.confirm([r1], at: LogIndex(7))
        queue.confirm([r2], at: LogIndex(3))
        queue.confirm([r3], at: LogIndex(7))
        #expect(queue.confirmed.map(\.index) == [LogIndex(3), LogIndex(7), LogIndex(7)])
        #expect(queue.takeServable(applied: LogIndex(3)) == [r2])
        #expect(queue.takeServable(applied: LogIndex(6)).isEmpty)
        #expect(queue.takeServable(applied: LogIndex(7)) == [r1, r3])
    }
}
