import Foundation
import KeyValClient
import TestSupport
import Testing

/// Linearizable reads served by followers (thesis §6.4) in real `keyvald` processes.
@Suite("keyvald: linearizable reads on every node", .serialized, .timeLimit(.minutes(3)))
struct FollowerReadTests {
    @Test(
        "read-your-writes across nodes: a linearizable read on any node sees every write acknowledged through another"
    )
    func readYourWritesAcrossNodes() async throws {
        let cluster = try KeyvaldCluster(size: 3)
        let api = cluster.api
        try await cluster.startAll()
        let leader = try #require(await api.agreedLeader(among: cluster.nodes), "\(cluster.logs)")
        var acknowledged: [String: String] = [:]
        for round in 0..<15 {
            for (w, writer) in cluster.nodes.enumerated() {
                // One key rewritten every round: a reader that lags by one write sees the old value.
                let key = "k\(w)"
                let value = "r\(round)-\(writer.id)"
                let written = await api.set(key, value, via: writer)
                try #require(written, "write \(key)=\(value) through \(writer.id) failed:\n\(cluster.logs)")
                acknowledged[key] = value
                for reader in cluster.nodes where reader !== writer {
                    let read = await api.get(key, via: reader)
                    #expect(
                        read == value,
                        "\(reader.id) (\(reader === leader ? "leader" : "follower")) read \(key)=\(read ?? "nil") after \(value) was acknowledged through \(writer.id)"
                    )
                }
            }
        }
        // Every node answers every key linearizably, followers from their own state machines.
        for node in cluster.nodes {
            for (key, value) in acknowledged.sorted(by: { $0.key < $1.key }) {
                #expect(await api.get(key, via: node) == value, "\(node.id) \(key)")
            }
        }
        await cluster.stop()
    }
}
