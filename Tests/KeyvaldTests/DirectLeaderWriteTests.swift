import Foundation
import KeyValClient
import Synchronization
import TestSupport
import Testing

/// A `KeyValSession` whose node is a follower sends its writes straight to the leader it knows,
/// and its reads to its own node; when the leader dies, a write falls back to the session's node,
/// which forwards it, as before. The session's node is a `CountingRelay` in front of the
/// follower, so the test sees what the session sent to its node.
@Suite("keyvald: clients write to the leader directly", .serialized, .timeLimit(.minutes(3)))
struct DirectLeaderWriteTests {
    static let writes: Set<String> = ["PUT", "POST", "DELETE"]

    /// The events a session reported.
    final class Events: Sendable {
        let list = Mutex<[KeyValSession.Event]>([])
        var count: Int { list.withLock { $0.count } }
    }

    @Test(
        "a session on a follower sends writes to the leader, not through the follower; reads stay on its node"
    )
    func writesSkipTheFollower() async throws {
        let cluster = try KeyvaldCluster(size: 3)
        defer { Task { await cluster.stop() } }
        try await cluster.startAll()
        let leader = try #require(await cluster.api.agreedLeader(among: cluster.nodes), "\(cluster.logs)")
        let follower = try #require(cluster.nodes.first { $0 !== leader })
        let relay = try await CountingRelay.start(forwardingTo: follower.httpPort)
        defer { Task { await relay.stop() } }
        let http = HTTPClient()
        defer { Task { await http.shutdown() } }
        let node = ServerAddress(host: "127.0.0.1", port: relay.port)
        let events = Events()
        let session = KeyValSession(
            seeds: [node], httpClient: http,
            onEvent: { event in events.list.withLock { $0.append(event) } })

        // Once the session has the cluster's status, no write goes through its node.
        let status = try await session.status()
        #expect(status.id == follower.id && status.leader?.id == leader.id)
        let set = try await session.set("direct", "v1")
        #expect(set.created)
        let swapped = try await session.compareAndSet("direct", expectedVersion: set.version, value: "v2")
        guard case .written(let written) = swapped else {
            Issue.record("the compare-and-set was refused: \(swapped)")
            return
        }
        #expect(try await session.delete("direct") == .deleted)
        #expect(try await session.delete("direct") == .notFound)
        #expect(relay.count(Self.writes) == 0, "writes sent through the follower: \(relay.requests)")

        // Reads are served by the session's node.
        _ = try await session.set("direct", "v3")
        let read = try await session.get("direct")
        #expect(read?.value == "v3" && read!.version > written.version)
        #expect(relay.requests.contains("GET /key/direct"), "\(relay.requests)")
        #expect(relay.count(Self.writes) == 0, "\(relay.requests)")
        #expect(await session.current == node)
        #expect(events.count == 0)

        // A session that has not asked for the status learns the leader from its first write's
        // answer, which its node forwarded; the writes after it go to the leader.
        let learning = KeyValSession(seeds: [node], httpClient: http)
        let before = relay.count(Self.writes)
        for k in 0..<5 { _ = try await learning.set("learn-\(k)", "v") }
        #expect(relay.count(Self.writes) - before == 1, "\(relay.requests)")
        #expect(await learning.current == node)
        #expect(await learning.leaderID == leader.id)
    }

    @Test(
        "when the leader dies, a write falls back to the session's node and applies once; the next ones go to the new leader"
    )
    func fallbackWhenTheLeaderDies() async throws {
        let cluster = try KeyvaldCluster(size: 3)
        defer { Task { await cluster.stop() } }
        try await cluster.startAll()
        let leader = try #require(await cluster.api.agreedLeader(among: cluster.nodes), "\(cluster.logs)")
        let follower = try #require(cluster.nodes.first { $0 !== leader })
        let relay = try await CountingRelay.start(forwardingTo: follower.httpPort)
        defer { Task { await relay.stop() } }
        let http = HTTPClient()
        defer { Task { await http.shutdown() } }
        let node = ServerAddress(host: "127.0.0.1", port: relay.port)
        let events = Events()
        let session = KeyValSession(
            seeds: [node], httpClient: http,
            onEvent: { event in events.list.withLock { $0.append(event) } })
        _ = try await session.status()
        _ = try await session.set("before", "v")
        #expect(relay.count(Self.writes) == 0, "\(relay.requests)")

        await leader.kill9()
        let started = ContinuousClock.now
        let during = try await session.set("during", "v")
        // Applied twice, the second would have found the key and answered "updated".
        #expect(during.created, "\(during)")
        #expect(relay.count(Self.writes) >= 1, "the write did not fall back to the session's node")
        #expect(ContinuousClock.now - started < .seconds(8))
        // The session's node answered throughout: it is still the session's node.
        #expect(await session.current == node)
        #expect(events.count == 0)
        #expect(try await session.get("during")?.version == during.version)

        let survivors = cluster.nodes.filter { $0 !== leader }
        let newLeader = try #require(await cluster.api.agreedLeader(among: survivors), "\(cluster.logs)")
        let mark = relay.count(Self.writes)
        for k in 0..<5 { _ = try await session.set("after-\(k)", "v") }
        #expect(await session.leaderID == newLeader.id)
        if newLeader !== follower {
            #expect(relay.count(Self.writes) == mark, "\(relay.requests)")
        }
    }
}
