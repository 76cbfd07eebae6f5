import NIOCore
import NIOPosix

/// Why `TCPTransport.identify(_:timeout:)` learned nothing about who listens at an address.
public enum IdentifyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The text is not a "host:port".
    case invalidAddress(String, reason: String)
    /// No connection could be made: nothing listens there, or the host is unreachable.
    case connectFailed(address: String, reason: String)
    /// The connection closed before a hello came back: not a keyval node, or one too old to
    /// answer hellos.
    case closedWithoutAnswer(address: String)
    /// What came back is not a Raft hello frame (another protocol, or damaged bytes).
    case notAHello(address: String, reason: String)
    /// Connected, but no hello came back in time.
    case timedOut(address: String, after: Duration)

    public var description: String {
        switch self {
        case .invalidAddress(let text, let reason): "invalid address \"\(text)\": \(reason)"
        case .connectFailed(let address, let reason): "cannot connect to \(address): \(reason)"
        case .closedWithoutAnswer(let address):
            "\(address) closed the connection without answering the Raft hello"
        case .notAHello(let address, let reason):
            "\(address) did not answer with a Raft hello: \(reason)"
        case .timedOut(let address, let after):
            "\(address) accepted the connection but did not answer the Raft hello within \(after)"
        }
    }
}

extension TCPTransport {
    /// Who listens for Raft connections at `address`: opens a connection, sends our hello, and
    /// returns the hello the other side answers with (its cluster id, node id, protocol version
    /// and address), then closes. The other side answers even when it refuses our cluster id, so
    /// a node of another cluster is recognised as such. It records our address from the hello,
    /// as it would from any peer's. Works before `start()`.
    public func identify(_ address: String, timeout: Duration) async throws(IdentifyError)
        -> WireCodec.Hello
    {
        let target: NetworkAddress
        do {
            target = try NetworkAddress(parsing: address)
        } catch {
            throw .invalidAddress(address, reason: "\(error)")
        }
        let eventLoop = group.next()
        let answer = eventLoop.makePromise(of: WireCodec.Hello.self)
        // A hello is small; anything announcing more is not one.
        let limit = 64 << 10
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(TimeAmount(timeout))
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandlers([
                            ByteToMessageHandler(LengthPrefixedFrameDecoder(maxFrameBytes: limit)),
                            IdentifyHandler(address: address, answer: answer),
                        ])
                    }
                }
                .connect(host: target.host, port: target.port).get()
        } catch ChannelError.connectTimeout {
            answer.fail(IdentifyError.timedOut(address: address, after: timeout))
            throw .timedOut(address: address, after: timeout)
        } catch {
            let failure = IdentifyError.connectFailed(address: address, reason: Self.connectFailure(error))
            answer.fail(failure)
            throw failure
        }
        let hello = WireCodec.encode(
            .hello(
                WireCodec.Hello(clusterID: clusterID, sender: localID, senderAddress: directory.advertised))
        )
        channel.writeAndFlush(ByteBuffer(bytes: hello), promise: nil)
        let timer = eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            answer.fail(IdentifyError.timedOut(address: address, after: timeout))
        }
        defer {
            timer.cancel()
            channel.close(promise: nil)
        }
        do {
            return try await answer.futureResult.get()
        } catch let error as IdentifyError {
            throw error
        } catch {
            throw .closedWithoutAnswer(address: address)  // unreachable: the handler fails with IdentifyError
        }
    }

    private static func connectFailure(_ error: any Error) -> String {
        if let error = error as? NIOConnectionError, let first = error.connectionErrors.first {
            return "\(first.error)"
        }
        return "\(error)"
    }
}

/// Waits for the one frame `identify` expects and completes its promise with it, or fails it on
/// anything else. The promise may also be failed by `identify`'s timer: NIO ignores a second
/// completion, and this handler completes it at most once.
private final class IdentifyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let address: String
    private let answer: EventLoopPromise<WireCodec.Hello>
    private var isDone = false

    init(address: String, answer: EventLoopPromise<WireCodec.Hello>) {
        self.address = address
        self.answer = answer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Self.unwrapInboundIn(data)
        do {
            switch try WireCodec.decode(bytes.readableBytesView, maxFrameBytes: 64 << 10) {
            case .hello(let hello): complete(.success(hello))
            case .envelope: complete(.failure(.notAHello(address: address, reason: "an envelope came first")))
            }
        } catch {
            complete(.failure(.notAHello(address: address, reason: "\(error)")))
        }
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? WireError {
            complete(.failure(.notAHello(address: address, reason: "\(error)")))
        } else {
            complete(.failure(.closedWithoutAnswer(address: address)))
        }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        complete(.failure(.closedWithoutAnswer(address: address)))
        context.fireChannelInactive()
    }

    private func complete(_ result: Result<WireCodec.Hello, IdentifyError>) {
        guard !isDone else { return }
        isDone = true
        answer.completeWith(result.mapError { $0 as any Error })
    }
}

@available(*, unavailable)
extension IdentifyHandler: Sendable {}
