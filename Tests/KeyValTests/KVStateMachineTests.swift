import Foundation
import KeyVal
import Raft
import Testing

/// A single node needs no network.
struct NoTransport: RaftTransport {
    func send(_ envelopes: [Envelope]) {}
}

@Suite("KVStateMachine under a RaftNode")
struct KVStateMachineTests {
    @Test(
        "commands proposed through a node apply, and the node's store survives a restart through its snapshot"
    )
    func proposeAndRestart() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "kv-sm-\(UUID().uuidString)"
        ).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let options = RaftNodeOptions(
            tickInterval: .milliseconds(5), snapshotThreshold: 8, snapshotKeepEntries: 2)
        for round in 0..<2 {
            let node = try RaftNode(
                config: RaftConfig(id: "node0", electionTicks: 10, randomSeed: UInt64(round + 1)),
                configuration: ClusterConfiguration(voters: ["node0"]),
                storage: DataDirectory.open(directory),
                stateMachine: KVStateMachine(), transport: NoTransport(), options: options)
            let task = Task { try await node.run() }
            defer { task.cancel() }
            let deadline = ContinuousClock.now + .seconds(10)
            while await node.status.role != .leader && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            if round == 0 {
                for k in 0..<20 {
                    let result = try await node.propose(KVCommand.set(["user\(k % 4)": "v\(k)"]).encode())
                    guard case .set = result else {
                        Issue.record("set answered \(String(describing: result))")
                        return
                    }
                }
                let conflict = try await node.propose(
                    KVCommand.compareAndSet("user0", if: .absent, value: "x").encode())
                let version = try await node.linearizableRead { $0.store.get("user0")?.version }
                #expect(version != nil)
                #expect(conflict == .conditionFailed(currentVersion: version))
            }
            let values = try await node.linearizableRead { machine in
                (0..<4).map { machine.store.get("user\($0)")?.value }
            }
            #expect(values == ["v16", "v17", "v18", "v19"], "round \(round)")
            node.shutdown()
            _ = await task.result
        }
    }
}
