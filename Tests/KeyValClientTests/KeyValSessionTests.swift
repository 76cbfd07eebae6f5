import Foundation
import Synchronization
import Testing

@testable import KeyValClient

/// `KeyValSession`'s retry rules against scripted servers: which node a request goes to next,
/// what a retry carries, and what the caller is told.
@Suite("Client session retries")
struct KeyValSessionTests {
    /// The requests a scripted server saw, and a script that answers the n-th one.
    final class Log: Sendable {
        let requests = Mutex<[TestHTTPServer.Request]>([])
        var all: [TestHTTPServer.Request] { requests.withLock { $0 } }
        func record(_ request: TestHTTPServer.Request) -> Int {
            requests.withLock {
                $0.append(request)
                return $0.count
            }
        }
    }

    static let created = TestHTTPServer.Answer.respond(
        status: 201, headers: [("ETag", "\"7\""), ("Keyval-Replicas", "3")], body: #"{"version":7}"#)
    static let noLeader = TestHTTPServer.Answer.respond(
        status: 503, headers: [("Retry-After", "1")], body: #"{"error":"no leader is known"}"#)

    /// The events a session reported.
    final class Events: Sendable {
        let list = Mutex<[KeyValSession.Event]>([])
        var count: Int { list.withLock { $0.count } }
    }

    private func session(_ servers: [TestHTTPServer], timeout: Duration = .seconds(5)) -> (
        KeyValSession, Events
    ) {
        session(servers.map { ServerAddress(host: "127.0.0.1", port: $0.port) }, timeout: timeout)
    }

    private func session(_ seeds: [ServerAddress], timeout: Duration = .seconds(5)) -> (KeyValSession, Events)
    {
        let events = Events()
        let session = KeyValSession(
            seeds: seeds, httpClient: HTTPClient(),
            options: KeyValSession.Options(attemptTimeout: .seconds(1), operationTimeout: timeout),
            onEvent: { event in events.list.withLock { $0.append(event) } })
        return (session, events)
    }

    @Test("a write retried after a lost answer carries the same client id and sequence, on the next node")
    func retryKeepsTheStamp() async throws {
        let first = Log()
        let second = Log()
        let a = try await TestHTTPServer.start { request in
            _ = first.record(request)
            return .drop
        }
        let b = try await TestHTTPServer.start { request in
            _ = second.record(request)
            return Self.created
        }
        let (session, events) = self.session([a, b])
        let outcome = try await session.set("k", "v")
        #expect(outcome == WriteOutcome(created: true, version: 7, replicas: 3))
        let sent = try #require(first.all.first)
        let retried = try #require(second.all.first)
        #expect(sent.header("Keyval-Client-Id") != nil)
        #expect(retried.header("Keyval-Client-Id") == sent.header("Keyval-Client-Id"))
        #expect(retried.header("Keyval-Sequence") == "1" && sent.header("Keyval-Sequence") == "1")
        #expect(retried.uri == "/key/k" && retried.method == "PUT" && retried.body == Array(#""v""#.utf8))
        // Its node stopped answering, so the session moved and said so.
        #expect(await session.current == ServerAddress(host: "127.0.0.1", port: b.port))
        #expect(events.count == 1)
        // The next write is a new request.
        _ = try await session.set("k", "w")
        #expect(second.all.last?.header("Keyval-Sequence") == "2")
    }

    @Test("a node answering 503 is passed over without becoming unreachable")
    func refusalGoesToTheNextNode() async throws {
        let a = try await TestHTTPServer.start { _ in Self.noLeader }
        let b = try await TestHTTPServer.start { _ in Self.created }
        let (session, events) = self.session([a, b])
        _ = try await session.set("k", "v")
        #expect(await session.current == ServerAddress(host: "127.0.0.1", port: a.port))
        #expect(events.count == 0)
    }

    @Test(
        "when every node refuses until the deadline, the caller learns why and that the write may have applied"
    )
    func everyNodeRefuses() async throws {
        let a = try await TestHTTPServer.start { _ in Self.noLeader }
        let (session, _) = self.session([a], timeout: .milliseconds(300))
        let start = ContinuousClock.now
        await #expect(
            throws: KeyValClientError.unavailable(message: "no leader is known", mayHaveApplied: true)
        ) {
            _ = try await session.set("k", "v")
        }
        #expect(ContinuousClock.now - start < .seconds(2))
        // A read that fails so never applied anything.
        await #expect(
            throws: KeyValClientError.unavailable(message: "no leader is known", mayHaveApplied: false)
        ) {
            _ = try await session.get("k")
        }
    }

    static let notForwarded = TestHTTPServer.Answer.respond(
        status: 503, headers: [("Retry-After", "1")],
        body:
            #"{"error":"the leader n0 has no known HTTP address; the request was not applied","applied":false}"#
    )
    static let unknownOutcome = TestHTTPServer.Answer.respond(
        status: 503, headers: [("Retry-After", "1")], body: #"{"error":"the outcome is unknown (timed out)"}"#
    )

    @Test(
        "a write refused by 503s that say not applied fails as not applied; one 503 without it among them makes it may-have-applied"
    )
    func notAppliedRefusals() async throws {
        let refusing = try await TestHTTPServer.start { _ in Self.notForwarded }
        let (session, _) = self.session([refusing], timeout: .milliseconds(300))
        await #expect(throws: KeyValClientError.self) { _ = try await session.set("k", "v") }
        do {
            _ = try await session.set("k", "v")
            Issue.record("a refused write succeeded")
        } catch {
            #expect(!error.mayHaveApplied, "\(error)")
            guard case .unavailable(let message, _) = error else {
                Issue.record("not .unavailable: \(error)")
                return
            }
            #expect(message.contains("not applied"))
        }

        // A proposed write that timed out on one node, then refused (not applied) by another: the
        // first attempt may still apply.
        let timedOut = try await TestHTTPServer.start { _ in Self.unknownOutcome }
        let (mixed, _) = self.session([timedOut, refusing], timeout: .milliseconds(300))
        do {
            _ = try await mixed.set("k", "v")
            Issue.record("a refused write succeeded")
        } catch {
            #expect(error.mayHaveApplied, "\(error)")
        }
    }

    @Test("an expired session on the first attempt starts a new session; on a retry the outcome is unknown")
    func expiredSession() async throws {
        let log = Log()
        let expired = TestHTTPServer.Answer.respond(
            status: 409, headers: [], body: #"{"error":"the client session has expired"}"#)
        let a = try await TestHTTPServer.start { request in
            log.record(request) == 1 ? expired : Self.created
        }
        let (session, _) = self.session([a])
        #expect(try await session.set("k", "v").created)
        let requests = log.all
        #expect(requests.count == 2)
        #expect(requests[0].header("Keyval-Client-Id") != requests[1].header("Keyval-Client-Id"))
        #expect(requests[1].header("Keyval-Sequence") == "1")

        // A lost answer, then 409: the first attempt may have applied, and the servers can no
        // longer say. That must not be retried under a new session.
        let b = try await TestHTTPServer.start { _ in .drop }
        let c = try await TestHTTPServer.start { _ in expired }
        let (retrying, _) = self.session([b, c])
        do {
            _ = try await retrying.set("k", "v")
            Issue.record("a write that met an expired session on its retry succeeded")
        } catch {
            guard case .outcomeUnknown = error else {
                Issue.record("expected an unknown outcome, got \(error)")
                return
            }
            #expect(error.mayHaveApplied)
        }

        // A server that keeps answering 409 gets one new session, not an endless loop.
        let d = try await TestHTTPServer.start { _ in expired }
        let (stubborn, _) = self.session([d])
        await #expect(
            throws: KeyValClientError.rejected(status: 409, message: "the client session has expired")
        ) {
            _ = try await stubborn.set("k", "v")
        }
    }

    @Test("with no node accepting connections, the error names every node tried")
    func noNodeReachable() async throws {
        let a = try await TestHTTPServer.start { _ in Self.created }
        let port = a.port
        await a.stop()
        let (session, _) = self.session([a])
        await #expect(
            throws: KeyValClientError.noNodeReachable(
                tried: [ServerAddress(host: "127.0.0.1", port: port)], mayHaveApplied: false)
        ) { _ = try await session.get("k") }
    }

    @Test("a node that does not answer in time is passed over, and the session moves to one that does")
    func slowNodePassedOver() async throws {
        let frozen = try await TestHTTPServer.start { _ in .hang }
        let b = try await TestHTTPServer.start { _ in Self.created }
        let (session, events) = self.session([frozen, b])
        _ = try await session.set("k", "v")
        #expect(await session.current == ServerAddress(host: "127.0.0.1", port: b.port))
        #expect(events.count == 1)

        // Every node frozen: the operation ends at its deadline saying so, not "unreachable".
        let (stuck, _) = self.session([frozen], timeout: .milliseconds(1500))
        do {
            _ = try await stuck.get("k")
            Issue.record("a read from a frozen node succeeded")
        } catch {
            guard case .unavailable(let message, false) = error else {
                Issue.record("expected unavailable, got \(error)")
                return
            }
            #expect(message.contains("did not answer within"))
        }
    }

    /// A `/status` body for a scripted server.
    private static func status(id: String, role: String, leader: String?, members: [(String, Int)])
        -> TestHTTPServer
        .Answer
    {
        let report = StatusReport(
            id: id, role: role, term: 2,
            leader: leader.map { leader in
                StatusReport.Leader(
                    id: leader, haddr: "127.0.0.1:\(members.first { $0.0 == leader }!.1)", raddr: "")
            },
            commitIndex: 5, appliedIndex: 5, lastIndex: 5, snapshotIndex: 0, clusterID: "c1",
            members: members.map { (id, port) in
                StatusReport.Member(
                    id: id, haddr: "127.0.0.1:\(port)", raddr: "", voter: true,
                    reachable: role == "leader" ? (id == "a" ? true : nil) : nil)
            })
        let body = String(decoding: try! JSONEncoder().encode(report), as: UTF8.self)
        return .respond(status: 200, headers: [("Content-Type", "application/json")], body: body)
    }

    /// `a` (the leader) and `b` (a follower, the session's node), whose `/status` names `a` as
    /// leader; `b` serves reads and, like a follower forwarding a write, answers writes with the
    /// leader's `Keyval-Leader`. `leader` answers the n-th write `a` gets.
    private func leaderAndFollower(
        leader: @escaping @Sendable (Int) -> TestHTTPServer.Answer = { _ in KeyValSessionTests.servedByA }
    ) async throws -> (a: TestHTTPServer, b: TestHTTPServer, atA: Log, atB: Log) {
        let ports = Mutex((a: 0, b: 0))
        let atA = Log()
        let atB = Log()
        let a = try await TestHTTPServer.start { request in leader(atA.record(request)) }
        let b = try await TestHTTPServer.start { request in
            _ = atB.record(request)
            let (a, b) = ports.withLock { ($0.a, $0.b) }
            switch (request.method, request.uri) {
            case ("GET", "/status"):
                return Self.status(id: "b", role: "follower", leader: "a", members: [("a", a), ("b", b)])
            case ("GET", _):
                return .respond(status: 200, headers: [("ETag", "\"7\"")], body: #"{"k":"v"}"#)
            default:
                return Self.servedByA
            }
        }
        ports.withLock { $0 = (a.port, b.port) }
        return (a, b, atA, atB)
    }

    static let servedByA = TestHTTPServer.Answer.respond(
        status: 201, headers: [("ETag", "\"7\""), ("Keyval-Leader", "a")], body: #"{"version":7}"#)

    @Test("a write goes to the leader the session knows, a read to the session's node")
    func writesGoToTheLeader() async throws {
        let (a, b, atA, atB) = try await leaderAndFollower()
        let (session, events) = self.session([b])
        _ = try await session.status()
        #expect(try await session.set("k", "v").created)
        let swapped = try await session.compareAndSet("k", expectedVersion: 7, value: "w")
        #expect(swapped == .written(WriteOutcome(created: true, version: 7, replicas: nil)))
        #expect(try await session.get("k")?.value == "v")
        #expect(atA.all.map(\.method) == ["PUT", "PUT"])
        #expect(atB.all.map { "\($0.method) \($0.uri)" } == ["GET /status", "GET /key/k"])
        #expect(await session.current == ServerAddress(host: "127.0.0.1", port: b.port))
        #expect(await session.leaderID == "a")
        #expect(events.count == 0)
        await a.stop()
    }

    @Test(
        "a session that knows no leader learns it from a write's Keyval-Leader, asks its node's status once, then writes to the leader"
    )
    func leaderLearnedFromAnAnswer() async throws {
        let (_, b, atA, atB) = try await leaderAndFollower()
        let (session, _) = self.session([b])
        for k in 0..<4 { _ = try await session.set("k\(k)", "v") }
        #expect(atB.all.map { "\($0.method) \($0.uri)" } == ["PUT /key/k0", "GET /status"])
        #expect(atA.all.map(\.uri) == ["/key/k1", "/key/k2", "/key/k3"])
        #expect(atA.all.map { $0.header("Keyval-Sequence") } == ["2", "3", "4"])
    }

    @Test(
        "a known leader that refuses connections: the write goes to the session's node instead, and the leader is forgotten"
    )
    func leaderGone() async throws {
        let (a, b, atA, atB) = try await leaderAndFollower()
        let (session, events) = self.session([b])
        _ = try await session.status()
        await a.stop()
        #expect(try await session.set("k", "v").created)
        #expect(atA.all.isEmpty)
        let writes = atB.all.filter { $0.method == "PUT" }
        #expect(writes.count == 1 && writes[0].header("Keyval-Sequence") == "1")
        // The session's node answered: it stays the session's node.
        #expect(await session.current == ServerAddress(host: "127.0.0.1", port: b.port))
        #expect(events.count == 0)
        // b's answer names a again (as a follower forwarding to a would); the next write goes
        // to b at once.
        #expect(await session.leaderID == "a")
        _ = try await session.set("k", "w")
        #expect(atB.all.filter { $0.method == "PUT" }.count == 2)
    }

    @Test(
        "a leader that does not answer in time is not tried first again for a while, though answers keep naming it"
    )
    func leaderSilent() async throws {
        let (_, b, atA, atB) = try await leaderAndFollower { _ in .hang }
        let (session, events) = self.session([b])
        _ = try await session.status()
        let started = ContinuousClock.now
        #expect(try await session.set("k", "v").created)
        #expect(ContinuousClock.now - started >= .seconds(1), "the attempt timeout on the leader")
        // b's answer named a again, but the next writes do not wait on it.
        let next = ContinuousClock.now
        for k in 0..<3 { _ = try await session.set("k\(k)", "v") }
        #expect(ContinuousClock.now - next < .seconds(1))
        #expect(await session.leaderID == "a")
        #expect(atA.all.count == 1)
        #expect(
            atB.all.filter { $0.method == "PUT" }.map { $0.header("Keyval-Sequence") } == [
                "1", "2", "3", "4",
            ])
        #expect(events.count == 0)
    }

    @Test(
        "a write the leader drops or answers 503 goes to the session's node once, with the same client id and sequence"
    )
    func leaderFailsTheWrite() async throws {
        let (_, b, atA, atB) = try await leaderAndFollower { n in n == 1 ? .drop : Self.unknownOutcome }
        let (session, events) = self.session([b])
        _ = try await session.status()
        // Dropped by the leader: it may have applied, so the retry must carry the same stamp.
        #expect(try await session.set("k", "v").created)
        // Refused by the leader with a 503 (outcome unknown): the same.
        _ = try await session.status()
        #expect(try await session.set("k", "w").created)
        let leader = atA.all
        let follower = atB.all.filter { $0.method == "PUT" }
        #expect(leader.count == 2 && follower.count == 2, "\(leader.map(\.uri)) \(follower.map(\.uri))")
        for (sent, retried) in zip(leader, follower) {
            #expect(sent.header("Keyval-Client-Id") == retried.header("Keyval-Client-Id"))
            #expect(sent.header("Keyval-Sequence") == retried.header("Keyval-Sequence"))
            #expect(sent.body == retried.body)
        }
        #expect(follower.map { $0.header("Keyval-Sequence") } == ["1", "2"])
        #expect(await session.current == ServerAddress(host: "127.0.0.1", port: b.port))
        #expect(events.count == 0)
    }

    @Test("a heartbeat and a command that both find the node dead move the session once")
    func oneReconnectForTwoFinders() async throws {
        let dead = try await TestHTTPServer.start { _ in Self.created }
        let deadPort = dead.port
        await dead.stop()
        let portBox = Mutex(0)
        let alive = try await TestHTTPServer.start { request in
            let port = portBox.withLock { $0 }
            return request.uri == "/status"
                ? Self.status(
                    id: "b", role: "follower", leader: nil, members: [("a", deadPort), ("b", port)])
                : Self.created
        }
        portBox.withLock { $0 = alive.port }
        for _ in 0..<20 {
            let (session, events) = self.session([
                ServerAddress(host: "127.0.0.1", port: deadPort),
                ServerAddress(host: "127.0.0.1", port: alive.port),
            ])
            async let beat = session.heartbeat()
            async let write = session.set("k", "v")
            _ = try await (beat, write)
            #expect(events.count == 1)
            #expect(await session.current == ServerAddress(host: "127.0.0.1", port: alive.port))
        }
    }

    @Test("a leader's report counts only if it still leads: one that handed over reports nobody reachable")
    func steppedDownLeaderIgnored() async throws {
        let ports = Mutex((a: 0, b: 0))
        let a = try await TestHTTPServer.start { _ in
            let (a, b) = ports.withLock { ($0.a, $0.b) }
            return Self.status(id: "a", role: "follower", leader: "a", members: [("a", a), ("b", b)])
        }
        let b = try await TestHTTPServer.start { _ in
            let (a, b) = ports.withLock { ($0.a, $0.b) }
            // b names a as leader; a itself has just stepped down.
            return Self.status(id: "b", role: "follower", leader: "a", members: [("a", a), ("b", b)])
        }
        ports.withLock { $0 = (a.port, b.port) }
        let (session, _) = self.session([b])
        let heartbeat = try await session.heartbeat()
        #expect(heartbeat.node.leader?.id == "a")
        #expect(heartbeat.leader == nil)
    }
}
