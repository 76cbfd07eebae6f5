import Logging
import Raft
import Synchronization
import TestSupport
import Testing

@Suite("RaftNode over TCPTransport", .timeLimit(.minutes(1)))
struct RaftNodeOverTCPTests {
    @Test("three nodes on real sockets elect a leader and replicate proposals to every node")
    func cluster() async throws {
        let ids: [NodeID] = ["n1", "n2", "n3"]
        let book = AddressBook()
        let logs = LogRecorder()
        let slots = ids.map { _ in NodeSlot<ListMachine>() }
        let transports = zip(ids, slots).map { id, slot in
            TCPTransport(
                localID: id, clusterID: "smoke", listenAddress: "127.0.0.1:0", peerAddress: book.lookup,
                onReceive: { slot.node?.receive($0) }, onUnreachable: { slot.node?.reportUnreachable($0) },
                logger: logs.logger("transport"))
        }
        for (id, transport) in zip(ids, transports) {
            try await transport.start()
            book[id] = try #require(transport.boundAddress).description
        }
        let configuration = ClusterConfiguration(members: ids.map { Member(id: $0, raftAddress: book[$0]!) })
        var nodes: [RaftNode<ListMachine>] = []
        var tasks: [Task<Void, any Error>] = []
        for (k, id) in ids.enumerated() {
            let node = try RaftNode(
                config: RaftConfig(id: id, electionTicks: 10, heartbeatTicks: 1, randomSeed: UInt64(k + 1)),
                configuration: configuration, logStore: MemoryLogStore(),
                snapshotStore: MemorySnapshotStore(),
                stateMachine: ListMachine(), transport: transports[k],
                options: RaftNodeOptions(
                    tickInterval: .milliseconds(20), snapshotThreshold: 0, snapshotThresholdBytes: 0))
            slots[k].node = node
            nodes.append(node)
            tasks.append(Task { try await node.run() })
        }

        func leader() async -> RaftNode<ListMachine>? {
            for node in nodes where await node.status.role == .leader { return node }
            return nil
        }
        #expect(await eventually { await leader() != nil }, "no leader elected")

        let commands = ["alpha", "beta", "gamma", "delta"]
        for command in commands {
            let committed = await eventually {
                // Leadership may move under load; retry on whichever node leads now.
                guard let node = await leader() else { return false }
                return (try? await node.propose(Array(command.utf8))) != nil
            }
            #expect(committed, "\(command) was not committed")
        }
        #expect(
            await eventually {
                for node in nodes where (try? await node.staleRead({ $0.items })) != commands { return false }
                return true
            }, "\(logs.all.suffix(20))")

        for node in nodes { node.shutdown() }
        for task in tasks { _ = await task.result }
        for transport in transports { await transport.shutdown() }
    }
}
