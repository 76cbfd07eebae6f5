import NIOCore
import NIOHTTP1

/// The channel handler behind one pooled keep-alive connection: it runs one request/response
/// exchange at a time (no pipelining, so a failure never leaves a second request in doubt),
/// collects the response within a size bound, and enforces the exchange's deadline.
///
/// It lives on its channel's event loop; callers reach it only by writing an `Exchange` to the
/// channel and waiting on the exchange's promise, which is completed exactly once.
final class HTTPClientConnection: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = Exchange
    typealias OutboundOut = HTTPClientRequestPart

    /// One request on this connection and where its outcome goes.
    struct Exchange: Sendable {
        var request: HTTPClientRequest
        /// Sent as the `Host` header unless the request has one.
        var hostHeader: String
        var deadline: NIODeadline
        var maxResponseBytes: Int
        var promise: EventLoopPromise<Completion>
    }

    /// A complete response and whether the connection may carry another request.
    struct Completion: Sendable {
        var response: HTTPClientResponse
        var isReusable: Bool
    }

    /// How an exchange failed. The first two are kept apart because only then may the client
    /// retry (on a fresh connection): the server sent nothing, so on a reused connection it most
    /// likely closed it as idle.
    enum Failure: Error, Sendable {
        /// The connection was closed before anything of the request was written: any request may
        /// be sent again.
        case notSent
        /// Written (or partly), then closed before any response byte: the server may have read
        /// and applied it, so only an idempotent request may be sent again.
        case closedBeforeResponse
        case failed(HTTPClientError)
    }

    private var exchange: Exchange?
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()
    private var timeout: Scheduled<Void>?
    /// Whether any byte arrived for the current exchange, even a partial head: after that a retry
    /// could apply the request twice. Set by `ResponseByteMarker`, which sits before the decoder.
    fileprivate var hasReceivedBytes = false

    // MARK: Outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let exchange = unwrapOutboundIn(data)
        promise?.succeed()
        guard self.exchange == nil else {
            // The pool leases a connection to one caller at a time; reaching this is a bug.
            preconditionFailure("two exchanges on one HTTP connection")
        }
        guard context.channel.isActive else {
            exchange.promise.fail(Failure.notSent)
            return
        }
        self.exchange = exchange
        head = nil
        hasReceivedBytes = false
        timeout = context.eventLoop.assumeIsolated().scheduleTask(deadline: exchange.deadline) {
            self.finish(context: context, .failure(.failed(.timedOut)), close: true)
        }

        var headers = HTTPHeaders(exchange.request.headers.map { ($0.name, $0.value) })
        if !headers.contains(name: "host") { headers.add(name: "host", value: exchange.hostHeader) }
        let body = exchange.request.body
        if !headers.contains(name: "content-length") && !headers.contains(name: "transfer-encoding")
            && (!body.isEmpty || !["GET", "HEAD", "DELETE", "OPTIONS"].contains(exchange.request.method))
        {
            headers.add(name: "content-length", value: String(body.count))
        }
        let requestHead = HTTPRequestHead(
            version: .http1_1, method: HTTPMethod(rawValue: exchange.request.method),
            uri: exchange.request.path, headers: headers)
        context.write(wrapOutboundOut(.head(requestHead)), promise: nil)
        if !body.isEmpty {
            context.write(
                wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))),
                promise: nil)
        }
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
        written.futureResult.assumeIsolated().whenFailure { error in
            // A write fails when the connection is already closed (then nothing went out), when it
            // breaks mid-write (some bytes may have), or when the request cannot be encoded (the
            // encoder validates header names and values).
            let failure: Failure
            if let error = error as? ChannelError, error == .ioOnClosedChannel {
                failure = .notSent
            } else if error is ChannelError || error is IOError {
                failure = .closedBeforeResponse
            } else {
                failure = .failed(.invalidRequest("\(error)"))
            }
            self.finish(context: context, .failure(failure), close: true)
        }
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let exchange else {
            // Bytes nobody asked for: the connection's framing can no longer be trusted.
            context.close(promise: nil)
            return
        }
        switch unwrapInboundIn(data) {
        case .head(let head):
            if let length = head.headers.first(name: "content-length").flatMap(Int.init),
                length > exchange.maxResponseBytes
            {
                finish(context: context, .failure(.failed(.responseTooLarge)), close: true)
                return
            }
            self.head = head
            body = context.channel.allocator.buffer(capacity: 0)
        case .body(var part):
            guard head != nil else {
                finish(context: context, .failure(.failed(.invalidResponse("body before head"))), close: true)
                return
            }
            if body.readableBytes + part.readableBytes > exchange.maxResponseBytes {
                finish(context: context, .failure(.failed(.responseTooLarge)), close: true)
                return
            }
            body.writeBuffer(&part)
        case .end:
            guard let head else {
                finish(context: context, .failure(.failed(.invalidResponse("end before head"))), close: true)
                return
            }
            let response = HTTPClientResponse(
                status: Int(head.status.code), headers: head.headers.map { ($0.name, $0.value) },
                body: Array(body.readableBytesView))
            body = ByteBuffer()
            let isReusable = head.isKeepAlive
            finish(
                context: context, .success(Completion(response: response, isReusable: isReusable)),
                close: !isReusable)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(context: context, .failure(closedFailure), close: false)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let failure: Failure
        if error is HTTPParserError || error is ByteToMessageDecoderError {
            failure = .failed(.invalidResponse("\(error)"))
        } else {
            failure = closedFailure  // a reset or broken pipe: the connection is gone
        }
        finish(context: context, .failure(failure), close: true)
    }

    private var closedFailure: Failure {
        hasReceivedBytes ? .failed(.connectionClosed) : .closedBeforeResponse
    }

    /// Completes the current exchange, if any, exactly once, and closes the connection when it
    /// cannot be reused.
    private func finish(context: ChannelHandlerContext, _ result: Result<Completion, Failure>, close: Bool) {
        if let exchange {
            self.exchange = nil
            timeout?.cancel()
            timeout = nil
            switch result {
            case .success(let completion): exchange.promise.succeed(completion)
            case .failure(let failure): exchange.promise.fail(failure)
            }
        }
        if close { context.close(promise: nil) }
    }
}

@available(*, unavailable)
extension HTTPClientConnection: Sendable {}

/// Records that response bytes arrived, before the decoder sees them: a partial head that the
/// decoder is still buffering already rules out a retry.
final class ResponseByteMarker: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let connection: HTTPClientConnection

    init(connection: HTTPClientConnection) { self.connection = connection }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connection.hasReceivedBytes = true
        context.fireChannelRead(data)
    }
}

@available(*, unavailable)
extension ResponseByteMarker: Sendable {}
