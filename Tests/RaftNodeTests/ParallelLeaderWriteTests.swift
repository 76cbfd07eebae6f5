import NIOPosix
import TestSupport
import Testing

@testable import Raft

/// A leader sends its appends before its own write (thesis §10.2.1), so followers write in
/// parallel with it instead of after it.
@Suite("RaftNode: the leader writes in parallel with its followers", .timeLimit(.minutes(1)))
struct ParallelLeaderWriteTests {
    @Test(
        "followers hold a new entry while the leader's own write of it is still under way; it commits after")
    func followersWriteFirst() async throws {
        let network = LocalNetwork()
        let ids: [NodeID] = ["n1", "n2", "n3"]
        let stores = ids.map { _ in GatedLogStore() }
        // A thread per node: the leader's thread is held inside its write on purpose, and a
        // follower sharing it could not run.
        let threads = MultiThreadedEventLoopGroup(numberOfThreads: ids.count)
        var nodes: [RaftNode<ListMachine>] = []
        var tasks: [Task<Void, any Error>] = []
        for (k, id) in ids.enumerated() {
            let node = try RaftNode(
                config: config(id, seed: UInt64(k + 1)), configuration: ClusterConfiguration(voters: ids),
                logStore: stores[k], snapshotStore: MemorySnapshotStore(), stateMachine: ListMachine(),
                transport: network.transport(), options: fastTicks, eventLoop: threads.next())
            network.attach(id) { node.receive($0) }
            nodes.append(node)
            tasks.append(Task { try await node.run() })
        }
        defer {
            for store in stores { store.open() }
            for node in nodes { node.shutdown() }
        }
        var leader: Int?
        let elected = await eventually {
            for (k, node) in nodes.enumerated() where await node.status.role == .leader {
                if (try? await node.propose(Array("warm".utf8))) != nil {
                    leader = k
                    return true
                }
            }
            return false
        }
        let l = try #require(elected ? leader : nil, "no leader")

        stores[l].close()
        let leaderNode = nodes[l]
        let proposal = Task { try await leaderNode.propose(Array("x".utf8)) }
        #expect(await eventually { stores[l].isHolding }, "the leader never wrote x")
        // The leader is stuck inside its write of x, and yet both followers already wrote it.
        let followers = ids.indices.filter { $0 != l }
        #expect(
            await eventually { followers.allSatisfy { stores[$0].writes.contains(["x"]) } },
            "the followers got x only after the leader's write: \(followers.map { stores[$0].writes.suffix(2) })"
        )
        #expect(stores[l].isHolding)

        stores[l].open()
        let applied = try await proposal.value
        #expect(applied == 2, "x was not applied as the second item")
        for node in nodes { node.shutdown() }
        for task in tasks { _ = await task.result }
        try await threads.shutdownGracefully()
    }
}
