import KeyValClient
import Testing

@testable import KeyValCLI

@Suite("What the client says")
struct WordingTests {
    @Test("write answers name the replicas that hold the entry")
    func writes() {
        #expect(Wording.write(WriteOutcome(created: true, version: 7, replicas: 3)) == "Created (3 replicas)")
        #expect(Wording.write(WriteOutcome(created: false, version: 8, replicas: 1)) == "Updated (1 replica)")
        #expect(Wording.write(WriteOutcome(created: false, version: 8, replicas: nil)) == "Updated")
        #expect(Wording.compareAndSet(.conflict(currentVersion: 42)) == "Version conflict (now 42)")
        #expect(Wording.compareAndSet(.conflict(currentVersion: nil)) == "Version conflict (key absent)")
        #expect(Wording.delete(.deleted) == "Deleted")
        #expect(Wording.delete(.notFound) == "Not found")
    }

    @Test("values are shown in single quotes, as typed")
    func values() {
        let value = #"{"name": "Chapayev's Mustache comb"}"#
        #expect(Wording.value(StoredValue(value: value, version: 3)) == "'" + value + "'")
        #expect(Wording.value(nil) == "Not found")
    }

    @Test("the banner and the node list")
    func banner() {
        let nodes = [
            KnownNode(id: "node0", address: ServerAddress(host: "127.0.0.1", port: 11000), role: .leader),
            KnownNode(
                id: "node1", address: ServerAddress(host: "127.0.0.1", port: 11001), role: .follower,
                reachable: false),
        ]
        #expect(
            Wording.connected(
                clusterID: "3f2c9a", at: ServerAddress(host: "127.0.0.1", port: 11000), leader: "node0")
                == "Connected to keyval cluster 3f2c… at 127.0.0.1:11000 (leader node0)")
        #expect(
            Wording.nodes(nodes)
                == "Known nodes:\n  node0 127.0.0.1:11000 leader\n  node1 127.0.0.1:11001 follower (unreachable)"
        )
        #expect(
            Wording.reconnected(to: nodes[1], leader: nil)
                == "Reconnected to node1 at 127.0.0.1:11001 (no leader yet)")
    }
}
