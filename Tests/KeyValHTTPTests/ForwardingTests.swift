import KeyVal
import KeyValClient
import KeyValHTTP
import Raft
import Testing

/// A follower forwards requests to the leader it knows and relays the answer.
@Suite("forwarding to the leader", .timeLimit(.minutes(1)))
struct ForwardingTests {
    /// Node A follows node B.
    private func withFollowerAndLeader(
        _ body: (_ follower: TestNode, _ leader: TestNode) async throws -> Void
    )
        async throws
    {
        let leader = FakeReplica(id: "nB")
        let follower = FakeReplica(id: "nA")
        try await withNodes([leader, follower]) { nodes in
            follower.mode = .follower(leader: leader.asLeader)
            try await body(nodes[1], nodes[0])
        }
    }

    @Test("a write to a follower lands on the leader; status, ETag and body come back")
    func writeIsForwarded() async throws {
        try await withFollowerAndLeader { follower, leader in
            let response = try await follower.request("POST", "/key", body: #"{"a":"1","b":"2"}"#)
            #expect(response.status == 200)
            #expect(response.bodyText == #"{"created":2,"updated":0,"version":1}"#)
            #expect(response.header("ETag") == #""1""#)
            #expect(response.header("Content-Type") == "application/json")
            #expect(leader.replica.store.get("a") == KVItem(value: "1", version: LogIndex(1)))
            #expect(follower.replica.store.count == 0)
        }
    }

    @Test("conditions and client session headers travel with a forwarded PUT")
    func headersAreForwarded() async throws {
        try await withFollowerAndLeader { follower, leader in
            leader.replica.seed(.set(["k": "v"]))
            let id = "000000000000000000000000000000aa"
            let session = [("Keyval-Client-Id", id), ("Keyval-Sequence", "1")]
            let mismatch = try await follower.request(
                "PUT", "/key/k", headers: session + [("If-Match", #""9""#)], body: #""x""#)
            #expect(mismatch.status == 412)
            #expect(mismatch.header("ETag") == #""1""#)
            #expect(mismatch.bodyText == #"{"error":"version mismatch","current_version":1}"#)
            let next = [("Keyval-Client-Id", id), ("Keyval-Sequence", "2")]
            let match = try await follower.request(
                "PUT", "/key/k", headers: next + [("If-Match", #""1""#)], body: #""x""#)
            #expect(match.status == 200)
            #expect(match.header("ETag") == #""3""#)
            let created = try await follower.request(
                "PUT", "/key/new", headers: [("If-None-Match", "*")], body: #""n""#)
            #expect(created.status == 201)
            let commands = leader.replica.commands
            #expect(commands.count == 3)
            #expect(
                commands.first
                    == .compareAndSet(
                        "k", if: .versionEquals(LogIndex(9)), value: "x",
                        client: ClientRequest(clientID: ClientID(hex: id)!, sequence: 1)))
            #expect(commands.last?.operation == .compareAndSet(key: "new", condition: .absent, value: "n"))
        }
    }

    @Test(
        "a forwarded write without a client session gets the forwarding node's own stamp; one the client stamped keeps it"
    )
    func forwardedWritesAreStamped() async throws {
        try await withFollowerAndLeader { follower, leader in
            for k in 0..<3 {
                _ = try await follower.request("POST", "/key", body: #"{"a\#(k)":"1"}"#)
            }
            _ = try await follower.request("PUT", "/key/p", body: #""x""#)
            _ = try await follower.request("DELETE", "/key/p")
            let id = "000000000000000000000000000000bb"
            _ = try await follower.request(
                "POST", "/key", headers: [("Keyval-Client-Id", id), ("Keyval-Sequence", "7")],
                body: #"{"c":"1"}"#)
            let stamps = leader.replica.commands.map(\.client)
            #expect(stamps.count == 6)
            // One after another, the follower reuses its session with increasing sequences.
            let own = stamps.prefix(5).compactMap { $0 }
            #expect(own.count == 5, "\(stamps)")
            #expect(Set(own.map(\.clientID)).count == 1)
            #expect(own.map(\.sequence) == [1, 2, 3, 4, 5])
            #expect(stamps.last == ClientRequest(clientID: ClientID(hex: id)!, sequence: 7))

            // Concurrent forwards never share a session (a session has one request at a time).
            let concurrent = try await withThrowingTaskGroup(of: Void.self) { group in
                for k in 0..<20 {
                    group.addTask { _ = try await follower.request("POST", "/key", body: #"{"b\#(k)":"1"}"#) }
                }
                try await group.waitForAll()
                return leader.replica.commands.dropFirst(6).compactMap(\.client)
            }
            #expect(concurrent.count == 20)
            let pairs = Set(concurrent.map { "\($0.clientID) \($0.sequence)" })
            #expect(pairs.count == 20, "no stamp used twice")
        }
    }

    @Test("a forwarding session the leader has forgotten is replaced and the write sent again, once")
    func expiredForwardingSession() async throws {
        try await withFollowerAndLeader { follower, leader in
            #expect(try await follower.request("POST", "/key", body: #"{"a":"1"}"#).status == 200)
            // The leader's state machine forgets every session (as eviction would).
            leader.replica.state.withLock { $0.store = KVStore() }
            let again = try await follower.request("POST", "/key", body: #"{"b":"2"}"#)
            #expect(again.status == 200, "\(again.bodyText)")
            let stamps = leader.replica.commands.compactMap(\.client)
            try #require(stamps.map(\.sequence) == [1, 2, 1], "\(stamps)")
            #expect(stamps[0].clientID == stamps[1].clientID && stamps[2].clientID != stamps[0].clientID)
            #expect(leader.replica.store.get("b")?.value == "2")
        }
    }

    @Test(
        "deletes and membership changes are forwarded; reads, linearizable or stale, are served by the follower"
    )
    func readsAndMembership() async throws {
        try await withFollowerAndLeader { follower, leader in
            leader.replica.seed(.set(["k": "leader's"]))
            follower.replica.seed(.set(["k": "follower's"]))
            let linearizable = try await follower.request("GET", "/key/k")
            #expect(linearizable.status == 200)
            #expect(linearizable.bodyText == #"{"k":"follower's"}"#)
            let stale = try await follower.request("GET", "/key/k?consistency=stale")
            #expect(stale.bodyText == #"{"k":"follower's"}"#)
            #expect(leader.replica.state.withLock { $0.reads.isEmpty })
            #expect(
                follower.replica.state.withLock { $0.reads.map(\.consistency) } == [.linearizable, .stale])

            let deleted = try await follower.request("DELETE", "/key/k")
            #expect(deleted.bodyText == #"{"deleted":"k","previous_version":1}"#)
            let joined = try await follower.request("POST", "/join", body: #"{"id":"nC","addr":"h:7"}"#)
            #expect(joined.status == 200)
            let removed = try await follower.request("DELETE", "/join/nC")
            #expect(removed.status == 200)
            #expect(leader.replica.state.withLock { $0.joins } == [JoinRequest(id: "nC", addr: "h:7")])
            #expect(leader.replica.state.withLock { $0.removals } == ["nC"])
            #expect(follower.replica.state.withLock { $0.joins.isEmpty && $0.removals.isEmpty })
        }
    }

    @Test("a read that meets notLeader with a leader named is answered 503, never forwarded")
    func readsAreNotForwarded() async throws {
        try await withFollowerAndLeader { follower, leader in
            leader.replica.seed(.set(["k": "leader's"]))
            follower.replica.mode = .failing(.notLeader(leader: leader.replica.asLeader))
            for path in ["/key/k", "/key/k?consistency=stale"] {
                let response = try await follower.request("GET", path)
                #expect(response.status == 503, "\(path)")
            }
            #expect(leader.replica.state.withLock { $0.reads.isEmpty })
            // The same error on a write is forwarded: the 503 above is the read rule, not a broken link.
            let written = try await follower.request("POST", "/key", body: #"{"a":"1"}"#)
            #expect(written.status == 200)
        }
    }

    @Test("the leader's errors come back unchanged, with Allow and Retry-After")
    func errorsAreRelayed() async throws {
        try await withFollowerAndLeader { follower, leader in
            let absent = try await follower.request("DELETE", "/key/none")
            #expect(absent.status == 404)
            #expect(absent.bodyText == #"{"error":"key not found","key":"none"}"#)
            leader.replica.mode = .failing(.outcomeUnknown(reason: "leadership lost"))
            let unknown = try await follower.request("POST", "/key", body: #"{"a":"1"}"#)
            #expect(unknown.status == 503)
            #expect(unknown.header("Retry-After") == "1")
            #expect(unknown.bodyText.contains("the outcome is unknown (leadership lost)"))
        }
    }

    @Test(
        "the leader names itself in Keyval-Leader on the writes it serves, and a follower relays it; reads and errors of its own carry none"
    )
    func leaderHeader() async throws {
        try await withFollowerAndLeader { follower, leader in
            // Served by the leader itself: every outcome of the state machine names it.
            let direct = try await leader.request("POST", "/key", body: #"{"a":"1"}"#)
            #expect(direct.status == 200 && direct.header("Keyval-Leader") == "nB")
            let put = try await leader.request("PUT", "/key/p", body: #""x""#)
            #expect(put.status == 201 && put.header("Keyval-Leader") == "nB")
            let conflict = try await leader.request(
                "PUT", "/key/p", headers: [("If-None-Match", "*")], body: #""y""#)
            #expect(conflict.status == 412 && conflict.header("Keyval-Leader") == "nB")
            let deleted = try await leader.request("DELETE", "/key/p")
            #expect(deleted.status == 200 && deleted.header("Keyval-Leader") == "nB")
            let absent = try await leader.request("DELETE", "/key/p")
            #expect(absent.status == 404 && absent.header("Keyval-Leader") == "nB")

            // Forwarded by the follower: the leader's header comes back with the answer.
            let forwarded = try await follower.request("PUT", "/key/q", body: #""z""#)
            #expect(forwarded.status == 201 && forwarded.header("Keyval-Leader") == "nB")
            let forwardedMiss = try await follower.request("DELETE", "/key/none")
            #expect(forwardedMiss.status == 404 && forwardedMiss.header("Keyval-Leader") == "nB")

            // What a node answers without serving a write names no leader: a read, a bad request.
            #expect(try await follower.request("GET", "/key/q").header("Keyval-Leader") == nil)
            #expect(try await leader.request("GET", "/key/q").header("Keyval-Leader") == nil)
            let bad = try await follower.request("POST", "/key", body: #"{}"#)
            #expect(bad.status == 400 && bad.header("Keyval-Leader") == nil)
            leader.replica.mode = .failing(.outcomeUnknown(reason: "leadership lost"))
            let unknown = try await follower.request("POST", "/key", body: #"{"a":"2"}"#)
            #expect(unknown.status == 503 && unknown.header("Keyval-Leader") == nil)
        }
    }

    @Test("a forwarded request that meets notLeader again gets 503, not a loop")
    func noForwardingLoop() async throws {
        try await withFollowerAndLeader { follower, leader in
            // Each thinks the other leads.
            leader.replica.mode = .follower(leader: follower.replica.asLeader)
            let response = try await follower.request("POST", "/key", body: #"{"a":"1"}"#)
            #expect(response.status == 503)
            #expect(response.header("Retry-After") == "1")
            #expect(
                response.bodyText
                    == #"{"error":"leadership is changing: nA forwarded this request here, but the leader is now nA; the request was not applied","leader":"nA","applied":false}"#
            )
            #expect(leader.replica.commands.isEmpty)
            #expect(follower.replica.commands.isEmpty)
        }
    }

    @Test("an unreachable leader is 503 with Retry-After, naming the leader")
    func leaderUnreachable() async throws {
        // A port that was just bound and closed again: nothing listens there.
        let closedPort: Int = try await {
            let probe = FakeReplica(id: "probe")
            var port = 0
            try await withNodes([probe]) { port = $0[0].port }
            return port
        }()
        let follower = FakeReplica(id: "nA")
        let gone = StatusReport.Leader(id: "nGone", haddr: "127.0.0.1:\(closedPort)", raddr: "127.0.0.1:1")
        follower.mode = .follower(leader: gone)
        try await withNodes([follower]) { nodes in
            let response = try await nodes[0].request("POST", "/key", body: #"{"a":"1"}"#)
            #expect(response.status == 503)
            #expect(response.header("Retry-After") == "1")
            #expect(
                response.bodyText.hasPrefix(
                    #"{"error":"the leader nGone at 127.0.0.1:\#(closedPort) cannot be reached: "#))
            #expect(
                response.bodyText.hasSuffix(
                    #"; the request was not applied","leader":"nGone","leader_haddr":"127.0.0.1:\#(closedPort)","applied":false}"#
                ))
        }
    }

    @Test("with no known leader a follower answers 503 with Retry-After")
    func noLeader() async throws {
        try await withNodes([FakeReplica(id: "nA", mode: .follower(leader: nil))]) { nodes in
            let response = try await nodes[0].request("PUT", "/key/a", body: #""1""#)
            #expect(response.status == 503)
            #expect(response.header("Retry-After") == "1")
            #expect(
                response.bodyText
                    == #"{"error":"no leader is known; an election is probably under way; the request was not applied","applied":false}"#
            )
        }
    }
}
