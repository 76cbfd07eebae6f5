import KeyVal
import KeyValClient
import KeyValHTTP
import Logging
import Testing

/// A `KeyValHTTPServer` running on 127.0.0.1 with an ephemeral port over a `FakeReplica`, and
/// helpers to call it with `HTTPClient`.
struct TestNode {
    let replica: FakeReplica
    let port: Int
    let client: HTTPClient

    var haddr: String { "127.0.0.1:\(port)" }

    func request(
        _ method: String, _ path: String, headers: [(name: String, value: String)] = [], body: String? = nil
    ) async throws -> HTTPClientResponse {
        try await request(method, path, headers: headers, bytes: body.map { Array($0.utf8) } ?? [])
    }

    func request(
        _ method: String, _ path: String, headers: [(name: String, value: String)] = [], bytes: [UInt8]
    ) async throws -> HTTPClientResponse {
        let request = HTTPClientRequest(method: method, path: path, headers: headers, body: bytes)
        return try await client.execute(request, host: "127.0.0.1", port: port, timeout: .seconds(10))
    }
}

/// Runs `body` with one node per replica (servers started in order, each told its own address),
/// then stops them all and shuts the client down, whether `body` succeeded or not.
func withNodes(
    _ replicas: [FakeReplica], maxBodyBytes: Int? = nil,
    _ body: ([TestNode]) async throws -> Void
) async throws {
    let client = HTTPClient()
    var logger = Logger(label: "keyval.http.test")
    // Stopping a server by cancellation (tests have no ServiceGroup for a graceful shutdown) makes
    // Hummingbird log errors about its cancelled connections.
    logger.logLevel = .critical
    try await withThrowingTaskGroup(of: Void.self) { group in
        var nodes: [TestNode] = []
        for replica in replicas {
            let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
            var configuration = KeyValHTTPServer<FakeReplica>.Configuration(port: 0)
            if let maxBodyBytes { configuration.maxBodyBytes = maxBodyBytes }
            let server = KeyValHTTPServer(
                replica: replica, nodeID: replica.id, client: client, configuration: configuration,
                logger: logger,
                onServerRunning: { port in continuation.yield(port) })
            group.addTask { try await server.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw CancellationError() }
            replica.haddr.withLock { $0 = "127.0.0.1:\(port)" }
            nodes.append(TestNode(replica: replica, port: port, client: client))
        }
        do {
            try await body(nodes)
        } catch {
            group.cancelAll()
            await client.shutdown()
            throw error
        }
        group.cancelAll()
        await client.shutdown()
    }
}

/// One node over a fresh leader replica.
func withNode(maxBodyBytes: Int? = nil, _ body: (TestNode) async throws -> Void) async throws {
    try await withNodes([FakeReplica(id: "n1")], maxBodyBytes: maxBodyBytes) { try await body($0[0]) }
}
