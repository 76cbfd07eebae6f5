import KeyVal
import KeyValClient
import KeyValHTTP
import Raft
import Testing

/// `Keyval-Replicas` on write answers: the leader's count of members holding the write.
@Suite("Keyval-Replicas", .timeLimit(.minutes(1)))
struct ReplicaCountTests {
    @Test("POST /key answers with the replica's count for the version it wrote")
    func setKeys() async throws {
        try await withNode { node in
            node.replica.state.withLock { $0.replicaCount = 3 }
            let response = try await node.request("POST", "/key", body: #"{"a":"1","b":"2"}"#)
            #expect(response.status == 200)
            #expect(response.header("Keyval-Replicas") == "3")
            #expect(response.header("ETag") == #""1""#)
            #expect(node.replica.state.withLock { $0.replicaCountQueries } == [LogIndex(1)])
        }
    }

    /// A PUT's precondition, and whether the key exists before it.
    struct PutCase: CustomTestStringConvertible, Sendable {
        var headers: [(name: String, value: String)]
        var keyExists: Bool
        var testDescription: String { headers.map { "\($0.name): \($0.value)" }.first ?? "unconditional" }
    }

    @Test(
        "PUT answers with the count, conditional or not",
        arguments: [
            PutCase(headers: [], keyExists: false),
            PutCase(headers: [("If-None-Match", "*")], keyExists: false),
            PutCase(headers: [("If-Match", #""2""#)], keyExists: true),
        ])
    func put(_ put: PutCase) async throws {
        try await withNode { node in
            node.replica.seed(.set(["other": "x"]))
            if put.keyExists { node.replica.seed(.set(["k": "v"])) }
            node.replica.state.withLock { $0.replicaCount = 2 }
            let response = try await node.request("PUT", "/key/k", headers: put.headers, body: #""new""#)
            #expect(response.status == (put.keyExists ? 200 : 201))
            #expect(response.header("Keyval-Replicas") == "2")
            let version = LogIndex(put.keyExists ? 3 : 2)
            #expect(response.header("ETag") == "\"\(version.value)\"")
            #expect(node.replica.state.withLock { $0.replicaCountQueries } == [version])
        }
    }

    @Test("no header when the count is unknown, nor on a refused write or a delete")
    func absent() async throws {
        try await withNode { node in
            let unknown = try await node.request("POST", "/key", body: #"{"a":"1"}"#)
            #expect(unknown.status == 200)
            #expect(unknown.header("Keyval-Replicas") == nil)
            node.replica.state.withLock { $0.replicaCount = 3 }
            let refused = try await node.request(
                "PUT", "/key/a", headers: [("If-Match", #""9""#)], body: #""x""#)
            #expect(refused.status == 412)
            #expect(refused.header("Keyval-Replicas") == nil)
            let deleted = try await node.request("DELETE", "/key/a")
            #expect(deleted.status == 200)
            #expect(deleted.header("Keyval-Replicas") == nil)
            // Only the write with a version asked.
            #expect(node.replica.state.withLock { $0.replicaCountQueries } == [LogIndex(1)])
        }
    }

    @Test("a follower relays the leader's count, not its own")
    func relayedThroughForwarding() async throws {
        let leader = FakeReplica(id: "nB")
        let follower = FakeReplica(id: "nA")
        try await withNodes([leader, follower]) { nodes in
            follower.mode = .follower(leader: leader.asLeader)
            follower.state.withLock { $0.replicaCount = 7 }
            leader.state.withLock { $0.replicaCount = 5 }
            let posted = try await nodes[1].request("POST", "/key", body: #"{"a":"1"}"#)
            #expect(posted.status == 200)
            #expect(posted.header("Keyval-Replicas") == "5")
            let put = try await nodes[1].request(
                "PUT", "/key/a", headers: [("If-Match", #""1""#)], body: #""2""#)
            #expect(put.status == 200)
            #expect(put.header("Keyval-Replicas") == "5")
            #expect(leader.state.withLock { $0.replicaCountQueries } == [LogIndex(1), LogIndex(2)])
            #expect(follower.state.withLock { $0.replicaCountQueries }.isEmpty)

            leader.state.withLock { $0.replicaCount = nil }
            let unknown = try await nodes[1].request("POST", "/key", body: #"{"b":"1"}"#)
            #expect(unknown.status == 200)
            #expect(unknown.header("Keyval-Replicas") == nil)
        }
    }
}
