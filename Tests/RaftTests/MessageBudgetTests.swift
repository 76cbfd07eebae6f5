import RaftCore
import Testing

// How many messages the core spends on common work, on a 3-node cluster driven by hand.

@Suite("Message budgets")
struct MessageBudgetTests {
    struct Counts: Equatable, CustomStringConvertible {
        var appends = 0
        var appendResponses = 0
        var heartbeats = 0
        var heartbeatResponses = 0
        var votes = 0
        var snapshots = 0
        var readIndexRequests = 0
        var readIndexResponses = 0

        init(_ envelopes: [Envelope]) {
            for envelope in envelopes {
                switch envelope.message {
                case .appendEntries: appends += 1
                case .appendEntriesResponse: appendResponses += 1
                case .heartbeat: heartbeats += 1
                case .heartbeatResponse: heartbeatResponses += 1
                case .requestVote, .requestVoteResponse, .timeoutNow: votes += 1
                case .installSnapshot, .installSnapshotResponse: snapshots += 1
                case .readIndex: readIndexRequests += 1
                case .readIndexResponse: readIndexResponses += 1
                }
            }
        }

        init(
            appends: Int = 0, appendResponses: Int = 0, heartbeats: Int = 0, heartbeatResponses: Int = 0,
            readIndexRequests: Int = 0, readIndexResponses: Int = 0
        ) {
            self.readIndexRequests = readIndexRequests
            self.readIndexResponses = readIndexResponses
            self.appends = appends
            self.appendResponses = appendResponses
            self.heartbeats = heartbeats
            self.heartbeatResponses = heartbeatResponses
        }

        var description: String {
            "append \(appends)/\(appendResponses) heartbeat \(heartbeats)/\(heartbeatResponses) vote \(votes) read index \(readIndexRequests)/\(readIndexResponses)"
        }
    }

    @Test("an idle leader with caught-up followers sends only heartbeats, one per follower per tick")
    func idleLeaderSendsOnlyHeartbeats() {
        var cluster = TestCluster.caughtUp()
        cluster.delivered = []
        for _ in 0..<50 {
            cluster.tickAll()
            cluster.settle()
        }
        #expect(Counts(cluster.delivered) == Counts(heartbeats: 100, heartbeatResponses: 100))
        #expect(cluster["n1"].isLeader)
        #expect(cluster["n1"].term == Term(1))
        #expect(cluster.delivered.allSatisfy { $0.isHeartbeat ? $0.from == "n1" : $0.to == "n1" })
    }

    @Test("one proposal costs exactly one AppendEntries per follower and one response from each")
    func oneProposalOneRoundTrip() throws {
        var cluster = TestCluster.caughtUp()
        cluster.delivered = []
        let index = try cluster["n1"].propose([1])
        cluster.settle()
        #expect(Counts(cluster.delivered) == Counts(appends: 2, appendResponses: 2))
        #expect(cluster.delivered.filter(\.isAppendEntries).map(\.to) == ["n2", "n3"])
        #expect(cluster["n1"].log.committed == index)
        for id: NodeID in ["n2", "n3"] { #expect(cluster[id].log.lastIndex == index) }
    }

    @Test(
        "proposals made before one takeReady travel in one AppendEntries per follower",
        arguments: [2, 10, 100])
    func proposalsBatched(count: Int) throws {
        var cluster = TestCluster.caughtUp()
        cluster.delivered = []
        for k in 0..<count { _ = try cluster["n1"].propose([UInt8(k % 256)]) }
        let ready = try cluster.requireCollect("n1")
        #expect(ready.entriesToAppend.count == count, "one disk write for the batch")
        #expect(ready.messages.map(\.appendEntries?.entries.count) == [count, count])
        cluster.settle()
        #expect(Counts(cluster.delivered) == Counts(appends: 2, appendResponses: 2))
        #expect(cluster["n1"].log.committed == LogIndex(UInt64(count + 1)))
    }

    @Test("a proposal made while the previous one is in flight is pipelined, not held back")
    func proposalsPipelined() throws {
        var cluster = TestCluster.caughtUp()
        cluster.delivered = []
        _ = try cluster["n1"].propose([1])
        cluster.collect("n1")
        _ = try cluster["n1"].propose([2])
        let second = try cluster.requireCollect("n1")
        #expect(
            second.messages.compactMap(\.appendEntries).map(\.prevLogIndex) == [LogIndex(2), LogIndex(2)])
        cluster.settle()
        #expect(Counts(cluster.delivered) == Counts(appends: 4, appendResponses: 4))
    }

    @Test(
        "reads on both followers and the leader within one Ready share one heartbeat round; each follower sends one request (thesis §6.4)",
        arguments: [1, 10, 100])
    func followerReadsBatched(count: Int) throws {
        var cluster = TestCluster.caughtUp()
        cluster.delivered = []
        var reads: [NodeID: [ReadRequestID]] = [:]
        var next: UInt64 = 1
        for id: NodeID in ["n1", "n2", "n3"] {
            for _ in 0..<count {
                try cluster[id].requestRead(ReadRequestID(next))
                reads[id, default: []].append(ReadRequestID(next))
                next += 1
            }
        }
        // The followers' requests reach the leader before it hands out its round's heartbeats.
        cluster.collect("n2")
        cluster.collect("n3")
        cluster.deliverAll()
        cluster.settle()
        #expect(
            Counts(cluster.delivered)
                == Counts(heartbeats: 2, heartbeatResponses: 2, readIndexRequests: 2, readIndexResponses: 2))
        for id: NodeID in ["n1", "n2", "n3"] {
            #expect(cluster.readies[id, default: []].flatMap(\.readsToServe) == reads[id], "\(id)")
        }
    }
}
