import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A real HTTP/1.1 server on 127.0.0.1 with an ephemeral port, whose routes misbehave on purpose
/// so the client's pooling, retry, limit and timeout paths can be exercised over TCP.
///
/// Routes: `/echo` (status 200, body and `X-Test` echoed, method and URI in `X-Method`/`X-URI`),
/// `/chunked` (three chunks), `/close` (answers with `Connection: close`, then closes),
/// `/never` (never answers), `/drop` (closes without answering), `/then-close` (answers as if
/// keeping the connection alive, then closes it), `/slow` (answers after 200 ms), `/big?n=` and
/// `/big-chunked?n=` (n bytes), `/drop-reused` (answers the first request on a connection, closes
/// the connection without answering any later one).
final class TestHTTPServer: Sendable {
    /// A request as a scripted server sees it.
    struct Request: Sendable {
        var method: String
        var uri: String
        var headers: [(name: String, value: String)]
        var body: [UInt8]

        func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }
    }

    /// What a scripted server does with a request.
    enum Answer: Sendable {
        case respond(status: Int, headers: [(String, String)], body: String)
        /// Close the connection without answering.
        case drop
        /// Never answer (a frozen node).
        case hang
    }

    /// Connection counts, updated on the server's event loops.
    final class Counters: Sendable {
        let accepted = Atomic<Int>(0)
        let closed = Atomic<Int>(0)
    }

    let port: Int
    private let channel: any Channel
    private let counters: Counters

    var acceptedConnections: Int { counters.accepted.load(ordering: .sequentiallyConsistent) }
    var closedConnections: Int { counters.closed.load(ordering: .sequentiallyConsistent) }

    private init(channel: any Channel, counters: Counters) {
        self.channel = channel
        self.port = channel.localAddress!.port!
        self.counters = counters
    }

    /// With `script`, every request is answered by it instead of the routes above.
    static func start(script: (@Sendable (Request) -> Answer)? = nil) async throws -> TestHTTPServer {
        let counters = Counters()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                counters.accepted.add(1, ordering: .sequentiallyConsistent)
                channel.closeFuture.whenComplete { _ in
                    counters.closed.add(1, ordering: .sequentiallyConsistent)
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(TestHandler(script: script))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return TestHTTPServer(channel: channel, counters: counters)
    }

    /// Stops accepting; connections already open stay open until their peer closes them.
    func stop() async {
        try? await channel.close()
    }
}

private final class TestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var requestsOnConnection = 0
    private let script: (@Sendable (TestHTTPServer.Request) -> TestHTTPServer.Answer)?

    init(script: (@Sendable (TestHTTPServer.Request) -> TestHTTPServer.Answer)?) { self.script = script }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = []
        case .body(let buffer):
            body.append(contentsOf: buffer.readableBytesView)
        case .end:
            guard let head else { return }
            requestsOnConnection += 1
            respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        if let script {
            let request = TestHTTPServer.Request(
                method: head.method.rawValue, uri: head.uri,
                headers: head.headers.map { ($0.name, $0.value) },
                body: body)
            switch script(request) {
            case .drop:
                context.close(promise: nil)
            case .hang:
                break
            case .respond(let status, let headerList, let text):
                var headers = HTTPHeaders(headerList)
                let bytes = Array(text.utf8)
                headers.add(name: "Content-Length", value: String(bytes.count))
                let responseHead = HTTPResponseHead(
                    version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: headers)
                context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: bytes)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
            return
        }
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        let n = head.uri.split(separator: "=").last.flatMap { Int($0) } ?? 0
        switch path {
        case "/echo":
            var headers: HTTPHeaders = ["X-Method": head.method.rawValue, "X-URI": head.uri]
            if let test = head.headers.first(name: "x-test") { headers.add(name: "X-Test", value: test) }
            send(context, headers: headers, body: body)
        case "/chunked":
            let responseHead = HTTPResponseHead(
                version: .http1_1, status: .ok, headers: ["Transfer-Encoding": "chunked"])
            context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
            for chunk in ["hello ", "chunked ", "world"] {
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: chunk)))), promise: nil)
            }
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        case "/close":
            send(context, headers: ["Connection": "close"], body: Array("bye".utf8))
            context.close(promise: nil)
        case "/never":
            break
        case "/drop":
            context.close(promise: nil)
        case "/then-close":
            // Answers as if keeping the connection, then closes it: a server's idle timeout.
            send(context, headers: [:], body: Array("ok".utf8))
            context.close(promise: nil)
        case "/slow":
            context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(200)) {
                self.send(context, headers: [:], body: Array("slow".utf8))
            }
        case "/big":
            send(context, headers: [:], body: [UInt8](repeating: 0x61, count: n))
        case "/big-chunked":
            let responseHead = HTTPResponseHead(
                version: .http1_1, status: .ok, headers: ["Transfer-Encoding": "chunked"])
            context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
            var left = n
            while left > 0 {
                let size = min(left, 65536)
                context.write(
                    wrapOutboundOut(.body(.byteBuffer(ByteBuffer(repeating: 0x61, count: size)))),
                    promise: nil)
                left -= size
            }
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        case "/drop-reused":
            if requestsOnConnection == 1 {
                send(context, headers: [:], body: Array("first".utf8))
            } else {
                context.close(promise: nil)
            }
        default:
            var headers = HTTPHeaders()
            headers.add(name: "Content-Length", value: "0")
            context.write(
                wrapOutboundOut(
                    .head(HTTPResponseHead(version: .http1_1, status: .notFound, headers: headers))),
                promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }

    private func send(_ context: ChannelHandlerContext, headers: HTTPHeaders, body: [UInt8]) {
        var headers = headers
        headers.add(name: "Content-Length", value: String(body.count))
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
            promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
