import KeyValClient
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// `HTTPClient` against a real NIO server over TCP on 127.0.0.1.
@Suite("HTTPClient")
struct HTTPClientTests {
    /// Runs `body` with a fresh server and client, and shuts both down afterwards.
    private func withServer(
        maxIdleConnectionsPerHost: Int = 16, maxResponseBytes: Int = 8 << 20,
        _ body: (TestHTTPServer, HTTPClient) async throws -> Void
    ) async throws {
        let server = try await TestHTTPServer.start()
        let client = HTTPClient(
            maxIdleConnectionsPerHost: maxIdleConnectionsPerHost, maxResponseBytes: maxResponseBytes)
        do {
            try await body(server, client)
        } catch {
            await client.shutdown()
            await server.stop()
            throw error
        }
        await client.shutdown()
        await server.stop()
    }

    private func get(
        _ client: HTTPClient, _ server: TestHTTPServer, _ path: String, timeout: Duration = .seconds(5)
    ) async throws(HTTPClientError) -> HTTPClientResponse {
        try await client.execute(
            HTTPClientRequest(path: path), host: "127.0.0.1", port: server.port, timeout: timeout)
    }

    @Test("a request and its response round-trip: method, path with query, headers, body")
    func roundTrip() async throws {
        try await withServer { server, client in
            let request = HTTPClientRequest(
                method: "PUT", path: "/echo?x=1", headers: [("X-Test", "yes")], body: Array("payload".utf8))
            let response = try await client.execute(
                request, host: "127.0.0.1", port: server.port, timeout: .seconds(5))
            #expect(response.status == 200)
            #expect(response.bodyText == "payload")
            #expect(response.header("x-method") == "PUT")
            #expect(response.header("X-URI") == "/echo?x=1")
            #expect(response.header("x-TEST") == "yes")
            #expect(response.header("content-length") == "7")
            #expect(response.header("x-absent") == nil)
        }
    }

    @Test("a non-2xx status is a response, not an error")
    func notFoundIsAResponse() async throws {
        try await withServer { server, client in
            let response = try await get(client, server, "/nowhere")
            #expect(response.status == 404)
            #expect(response.body.isEmpty)
        }
    }

    @Test("a chunked response is decoded")
    func chunked() async throws {
        try await withServer { server, client in
            let response = try await get(client, server, "/chunked")
            #expect(response.status == 200)
            #expect(response.bodyText == "hello chunked world")
        }
    }

    @Test("sequential requests reuse one keep-alive connection")
    func keepAliveReuse() async throws {
        try await withServer { server, client in
            for i in 0..<10 {
                let request = HTTPClientRequest(method: "POST", path: "/echo", body: Array("\(i)".utf8))
                let response = try await client.execute(
                    request, host: "127.0.0.1", port: server.port, timeout: .seconds(5))
                #expect(response.bodyText == "\(i)")
            }
            #expect(server.acceptedConnections == 1)
        }
    }

    @Test("a response with Connection: close is not reused; the next request opens a new connection")
    func connectionCloseHeader() async throws {
        try await withServer { server, client in
            let first = try await get(client, server, "/close")
            #expect(first.bodyText == "bye")
            let second = try await get(client, server, "/echo")
            #expect(second.status == 200)
            #expect(server.acceptedConnections == 2)
        }
    }

    @Test("a pooled connection the server dropped without answering is retried once on a fresh one")
    func retryAfterServerDroppedIdleConnection() async throws {
        try await withServer { server, client in
            let first = try await get(client, server, "/drop-reused")
            #expect(first.bodyText == "first")
            // The pooled connection gets no answer to its second request: the client must retry on
            // a new connection, whose first request is answered.
            let second = try await get(client, server, "/drop-reused")
            #expect(second.status == 200)
            #expect(second.bodyText == "first")
            #expect(server.acceptedConnections == 2)
        }
    }

    @Test(
        "a POST whose pooled connection closed unanswered is not resent (it may have applied), unless marked idempotent",
        arguments: [false, true])
    func writeNotResent(idempotent: Bool) async throws {
        let seen = Mutex(0)
        // Answers the first request, drops the second (as if the server went away after reading
        // it), answers any later one.
        let server = try await TestHTTPServer.start { _ in
            let n = seen.withLock {
                $0 += 1
                return $0
            }
            return n == 2 ? .drop : .respond(status: 200, headers: [], body: "applied \(n)")
        }
        let client = HTTPClient()
        func post() async throws(HTTPClientError) -> HTTPClientResponse {
            var request = HTTPClientRequest(method: "POST", path: "/key", body: Array(#"{"a":"1"}"#.utf8))
            request.isIdempotent = idempotent
            return try await client.execute(
                request, host: "127.0.0.1", port: server.port, timeout: .seconds(5))
        }
        #expect(try await post().bodyText == "applied 1")
        if idempotent {
            #expect(try await post().bodyText == "applied 3")
            #expect(seen.withLock { $0 } == 3)
        } else {
            await #expect(throws: HTTPClientError.connectionClosed) { try await post() }
            #expect(seen.withLock { $0 } == 2, "the write was sent again")
        }
        #expect(server.acceptedConnections == (idempotent ? 2 : 1))
        await client.shutdown()
        await server.stop()
    }

    @Test("a GET whose pooled connection closed unanswered is resent once; so is any request not yet written")
    func readsResent() async throws {
        try await withServer { server, client in
            _ = try await get(client, server, "/drop-reused")
            #expect(try await get(client, server, "/drop-reused").bodyText == "first")
            #expect(server.acceptedConnections == 2)
        }
        #expect(HTTPClientRequest(method: "GET", path: "/").isIdempotent)
        #expect(HTTPClientRequest(method: "HEAD", path: "/").isIdempotent)
        for method in ["POST", "PUT", "DELETE", "PATCH"] {
            #expect(!HTTPClientRequest(method: method, path: "/").isIdempotent, "\(method)")
        }
    }

    @Test("a pooled connection closed unanswered, then no new connection: the request may have arrived")
    func closedUnansweredThenServerGone() async throws {
        try await withServer { server, client in
            _ = try await get(client, server, "/drop-reused")
            // The server stops listening; its open connection drops the next request unanswered.
            // The retry cannot connect, but the request did go out: not `.connectFailed` ("never
            // sent"), which would let a caller resend a write that may have applied.
            await server.stop()
            await #expect(throws: HTTPClientError.connectionClosed) {
                try await get(client, server, "/drop-reused")
            }
        }
    }

    @Test("a connection closed before any response is retried at most once, never on a fresh connection")
    func closedBeforeResponseRetriedOnce() async throws {
        try await withServer { server, client in
            await #expect(throws: HTTPClientError.connectionClosed) { try await get(client, server, "/drop") }
            #expect(server.acceptedConnections == 1)
            _ = try await get(client, server, "/echo")
            #expect(server.acceptedConnections == 2)
            // The pooled connection is dropped, so is the retry's fresh one: one retry, then the error.
            await #expect(throws: HTTPClientError.connectionClosed) { try await get(client, server, "/drop") }
            #expect(server.acceptedConnections == 3)
        }
    }

    @Test("an idle connection closed by the server is discarded and the next request succeeds")
    func serverClosedIdleConnection() async throws {
        try await withServer { server, client in
            let first = try await get(client, server, "/then-close")
            #expect(first.bodyText == "ok")
            try await eventually { server.closedConnections == 1 }
            let second = try await get(client, server, "/echo")
            #expect(second.status == 200)
            #expect(server.acceptedConnections == 2)
        }
    }

    @Test("connection refused is .connectFailed naming the address")
    func connectionRefused() async throws {
        let server = try await TestHTTPServer.start()
        let port = server.port
        await server.stop()
        let client = HTTPClient()
        defer { Task { await client.shutdown() } }
        await #expect {
            try await client.execute(
                HTTPClientRequest(path: "/"), host: "127.0.0.1", port: port, timeout: .seconds(5))
        } throws: { error in
            guard case .connectFailed(let host, let p, let reason) = error as? HTTPClientError else {
                return false
            }
            return host == "127.0.0.1" && p == port && reason.contains("refused")
        }
    }

    @Test("a server that never answers times out, and the connection is not reused")
    func timeoutClosesConnection() async throws {
        try await withServer { server, client in
            let clock = ContinuousClock()
            let start = clock.now
            await #expect(throws: HTTPClientError.timedOut) {
                try await get(client, server, "/never", timeout: .milliseconds(200))
            }
            #expect(clock.now - start < .seconds(3))
            try await eventually { server.closedConnections == 1 }
            _ = try await get(client, server, "/echo")
            #expect(server.acceptedConnections == 2)
        }
    }

    @Test("cancelling the calling task closes the connection and throws .cancelled")
    func cancellation() async throws {
        try await withServer { server, client in
            let request = Task { try await get(client, server, "/never", timeout: .seconds(30)) }
            try await eventually { server.acceptedConnections == 1 }
            request.cancel()
            await #expect(throws: HTTPClientError.cancelled) { try await request.value }
            try await eventually { server.closedConnections == 1 }
        }
    }

    @Test(
        "a response over the size limit fails, with or without Content-Length",
        arguments: ["/big", "/big-chunked"])
    func responseTooLarge(path: String) async throws {
        try await withServer(maxResponseBytes: 100_000) { server, client in
            let fits = try await get(client, server, "\(path)?n=100000")
            #expect(fits.body.count == 100_000)
            await #expect(throws: HTTPClientError.responseTooLarge) {
                try await get(client, server, "\(path)?n=100001")
            }
        }
    }

    @Test("50 concurrent requests each get their own response")
    func concurrentRequests() async throws {
        try await withServer { server, client in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<50 {
                    group.addTask {
                        let body = Array("request \(i)".utf8)
                        let request = HTTPClientRequest(method: "POST", path: "/echo?i=\(i)", body: body)
                        let response = try await client.execute(
                            request, host: "127.0.0.1", port: server.port, timeout: .seconds(10))
                        #expect(response.status == 200)
                        #expect(response.body == body)
                        #expect(response.header("X-URI") == "/echo?i=\(i)")
                    }
                }
                try await group.waitForAll()
            }
            #expect(server.acceptedConnections <= 50)
            // The pool keeps connections: a second burst needs no more than 16 new ones.
            let before = server.acceptedConnections
            for _ in 0..<5 { _ = try await get(client, server, "/echo") }
            #expect(server.acceptedConnections == before)
        }
    }

    @Test("at most maxIdleConnectionsPerHost connections stay pooled")
    func idleBound() async throws {
        try await withServer(maxIdleConnectionsPerHost: 2) { server, client in
            // Six slow requests at once need six connections; only two are kept afterwards.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<6 {
                    group.addTask { _ = try await get(client, server, "/slow") }
                }
                try await group.waitForAll()
            }
            #expect(server.acceptedConnections >= 3)
            let accepted = server.acceptedConnections
            try await eventually { accepted - server.closedConnections == 2 }
        }
    }

    @Test("after shutdown, requests fail with .shutDown")
    func shutDown() async throws {
        let server = try await TestHTTPServer.start()
        let client = HTTPClient()
        _ = try await client.execute(
            HTTPClientRequest(path: "/echo"), host: "127.0.0.1", port: server.port, timeout: .seconds(5))
        await client.shutdown()
        await #expect(throws: HTTPClientError.shutDown) {
            try await client.execute(
                HTTPClientRequest(path: "/echo"), host: "127.0.0.1", port: server.port, timeout: .seconds(5))
        }
        await server.stop()
    }

    @Test("errors describe themselves in plain words")
    func descriptions() {
        #expect(
            HTTPClientError.connectFailed(host: "::1", port: 80, reason: "refused").description
                == "cannot connect to [::1]:80: refused")
        #expect(HTTPClientError.timedOut.description == "no complete response before the deadline")
    }
}

/// Waits until `condition` holds, checking every 5 ms, for at most 5 s: for effects of a close
/// that the other side of a connection observes asynchronously.
func eventually(_ condition: () -> Bool, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + .seconds(5)
    while !condition() {
        if clock.now > deadline {
            Issue.record("condition not met within 5 s", sourceLocation: sourceLocation)
            return
        }
        try await clock.sleep(for: .milliseconds(5))
    }
}
