import Raft
import TestSupport
import Testing

/// `RaftNode.replicaCount(holding:)`: how many members the leader knows hold an entry.
@Suite("RaftNode: replica count")
struct ReplicaCountTests {
    /// Proposes `command` on `leader` and returns the count for its index read right after the
    /// proposal returns, with no hop to the node's loop in between, as the HTTP layer reads it.
    /// Nothing else proposes in these tests, so the entry lands just after the last one.
    private func write(_ command: String, on leader: RaftNode<ListMachine>) async throws -> (LogIndex, Int?) {
        let index = await leader.status.lastIndex.next
        _ = try await leader.propose(Array(command.utf8))
        let count = leader.replicaCount(holding: index)
        #expect(await leader.status.appliedIndex >= index)
        return (index, count)
    }

    @Test(
        "a committed write reads as held by at least a quorum at once, then by all three; followers answer nil"
    )
    func allMembersCounted() async throws {
        let cluster = InProcessCluster(size: 3)
        try cluster.startAll()
        let leader = try await cluster.awaitLeader()
        let node = leader.node!
        var last = LogIndex.zero
        for k in 1...30 {
            let (index, count) = try await write("w\(k)", on: node)
            #expect(
                count.map { $0 >= 2 && $0 <= 3 } == true,
                "write \(k) at \(index): \(String(describing: count))")
            last = index
        }
        let allThree = await eventually { node.replicaCount(holding: last) == 3 }
        #expect(
            allThree, "the leader counts \(String(describing: node.replicaCount(holding: last))) for \(last)")
        // Nothing holds an entry that was never written.
        #expect(node.replicaCount(holding: last.next) == 0)
        for follower in cluster.members where follower !== leader {
            let knows = await eventually { await follower.node!.status.leader == leader.id }
            #expect(knows)
            #expect(follower.node!.replicaCount(holding: last) == nil)
            #expect(follower.node!.replicaCount(holding: .zero) == nil)
        }
        await cluster.stopAll()
    }

    @Test("with a follower down the count stays at the quorum, 2, and reaches 3 once it is back")
    func followerDown() async throws {
        let cluster = InProcessCluster(size: 3)
        try cluster.startAll()
        let leader = try await cluster.awaitLeader()
        let node = leader.node!
        let (before, _) = try await write("before", on: node)
        let allThree = await eventually { node.replicaCount(holding: before) == 3 }
        #expect(allThree)

        let down = cluster.members.first { $0 !== leader }!
        await cluster.stop(down)
        var last = before
        for k in 1...20 {
            let (index, count) = try await write("w\(k)", on: node)
            // Committed needs the other follower's acknowledgement; the stopped one cannot give one.
            #expect(count == 2, "write \(k) at \(index) while \(down.id) is down")
            last = index
        }
        // Heartbeats and retries come and go; nothing makes the count rise or fall.
        try await Task.sleep(for: .milliseconds(200))
        #expect(node.replicaCount(holding: last) == 2)
        // What the stopped follower acknowledged before, it still holds.
        #expect(node.replicaCount(holding: before) == 3)

        try cluster.start(down, seed: 7)
        let caughtUp = await eventually { node.replicaCount(holding: last) == 3 }
        #expect(
            caughtUp, "the leader counts \(String(describing: node.replicaCount(holding: last))) for \(last)")
        await cluster.stopAll()
    }

    @Test("a single voter counts itself once its entry is durable")
    func singleVoter() async throws {
        let cluster = InProcessCluster(size: 1)
        try cluster.startAll()
        let leader = try await cluster.awaitLeader()
        let (index, count) = try await write("only", on: leader.node!)
        #expect(count == 1)
        #expect(leader.node!.replicaCount(holding: index.next) == 0)
        await cluster.stopAll()
    }
}
