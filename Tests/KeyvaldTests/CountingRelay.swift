import KeyValClient
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// An HTTP/1.1 relay on 127.0.0.1 in front of one node: it passes every request on (over
/// `HTTPClient`) and the node's answer back, and records each request's method and path. A
/// client whose node is the relay's address sends through it exactly what it sends to that node,
/// so a test can see which requests a client sent to its own node and which went elsewhere.
final class CountingRelay: Sendable {
    let port: Int
    private let channel: any Channel
    private let state: RelayState

    /// `PUT /key/k`, `GET /status`, … in the order received.
    var requests: [String] { state.requests.withLock { $0 } }

    /// The requests whose method is one of `methods`.
    func count(_ methods: Set<String>) -> Int {
        requests.filter { methods.contains(String($0.prefix { $0 != " " })) }.count
    }

    private init(channel: any Channel, state: RelayState) {
        self.channel = channel
        self.port = channel.localAddress!.port!
        self.state = state
    }

    static func start(forwardingTo targetPort: Int) async throws -> CountingRelay {
        let state = RelayState(targetPort: targetPort)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(RelayHandler(state: state))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return CountingRelay(channel: channel, state: state)
    }

    func stop() async {
        try? await channel.close()
        await state.client.shutdown()
    }
}

/// What the relay's connections share.
private final class RelayState: Sendable {
    let targetPort: Int
    let client = HTTPClient()
    let requests = Mutex<[String]>([])

    /// Headers the client or NIO sets per connection or per body; everything else goes through.
    static let hopByHop: Set<String> = ["host", "content-length", "connection", "transfer-encoding"]

    init(targetPort: Int) { self.targetPort = targetPort }

    /// Sends `request` to the node and writes its answer back on `bound`'s connection, or closes
    /// the connection when the node does not answer.
    func relay(_ request: HTTPClientRequest, to bound: NIOLoopBound<ChannelHandlerContext>) async {
        let answer = try? await client.execute(
            request, host: "127.0.0.1", port: targetPort, timeout: .seconds(20))
        bound.eventLoop.execute { Self.write(answer, on: bound.value) }
    }

    private static func write(_ answer: HTTPClientResponse?, on context: ChannelHandlerContext) {
        guard let answer else {
            context.close(promise: nil)
            return
        }
        var headers = HTTPHeaders(
            answer.headers.filter { !RelayState.hopByHop.contains($0.name.lowercased()) }.map {
                ($0.name, $0.value)
            })
        headers.add(name: "Content-Length", value: String(answer.body.count))
        let head = HTTPResponseHead(
            version: .http1_1, status: HTTPResponseStatus(statusCode: answer.status), headers: headers)
        context.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
        context.write(
            NIOAny(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: answer.body)))), promise: nil)
        context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: nil)
    }
}

private final class RelayHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let state: RelayState
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []

    init(state: RelayState) { self.state = state }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = []
        case .body(let buffer):
            body.append(contentsOf: buffer.readableBytesView)
        case .end:
            guard let head else { return }
            let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
            state.requests.withLock { $0.append("\(head.method.rawValue) \(path)") }
            // Not idempotent: the relay never resends; the client behind it decides.
            let request = HTTPClientRequest(
                method: head.method.rawValue, path: head.uri,
                headers: head.headers.filter { !RelayState.hopByHop.contains($0.name.lowercased()) }
                    .map { ($0.name, $0.value) },
                body: body, isIdempotent: false)
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            let state = state
            Task { await state.relay(request, to: bound) }
        }
    }
}
