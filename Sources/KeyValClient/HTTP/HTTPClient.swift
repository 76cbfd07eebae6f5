import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A small HTTP/1.1 client with a keep-alive connection pool per host and port.
///
/// It exists so a follower can forward client requests to the leader, `keyvald -join` can post
/// `/join` and the CLI can talk to a node without async-http-client (which brings TLS and HTTP/2 and
/// costs about 80 s of every clean build). Plain HTTP only.
///
/// Each request leases one connection: an idle pooled one if there is one, else a new one. After a
/// complete keep-alive response the connection goes back to the pool (at most
/// `maxIdleConnectionsPerHost` per host; beyond that it is closed). A request that finds a pooled
/// connection closed (the server dropped it as idle) is retried once on a fresh connection, but
/// only if it provably was not written, or it is idempotent (`HTTPClientRequest.isIdempotent`):
/// a server may read a write and then close without answering, and sending it again would apply
/// it twice. Nothing is ever resent after part of a response arrived.
public final class HTTPClient: Sendable {
    private let eventLoopGroup: any EventLoopGroup
    private let maxIdleConnectionsPerHost: Int
    private let maxResponseBytes: Int
    private let pool = Mutex(ConnectionPool())

    /// - Parameters:
    ///   - maxIdleConnectionsPerHost: idle keep-alive connections kept per host and port.
    ///   - maxResponseBytes: larger responses fail with `.responseTooLarge`.
    public init(
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        maxIdleConnectionsPerHost: Int = 16,
        maxResponseBytes: Int = 8 << 20
    ) {
        precondition(
            maxIdleConnectionsPerHost >= 0, "maxIdleConnectionsPerHost \(maxIdleConnectionsPerHost) < 0")
        self.eventLoopGroup = eventLoopGroup
        self.maxIdleConnectionsPerHost = maxIdleConnectionsPerHost
        self.maxResponseBytes = maxResponseBytes
    }

    /// Sends `request` to `host:port` and returns the complete response, whatever its status.
    ///
    /// `timeout` covers connecting, sending and receiving; when it passes the connection is closed
    /// and `.timedOut` thrown. Cancelling the calling task closes the connection too.
    public func execute(
        _ request: HTTPClientRequest, host: String, port: Int, timeout: Duration
    ) async throws(HTTPClientError) -> HTTPClientResponse {
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        let key = ConnectionPool.Key(host: host, port: port)
        if Task.isCancelled { throw .cancelled }
        let pooled = try pool.withLock { pool throws(HTTPClientError) in try pool.takeIdle(for: key) }
        // Whether the request went out on a pooled connection that then closed unanswered.
        var pooledWasWritten = false
        if let channel = pooled {
            var wasWritten = true
            switch await exchange(request, on: channel, key: key, deadline: deadline) {
            case .success(let completion): return finish(completion, channel: channel, key: key)
            case .failure(.notSent): wasWritten = false  // retried below, on a fresh connection
            case .failure(.closedBeforeResponse):
                // It may have arrived: only a request the server may see twice is sent again.
                guard request.isIdempotent else { throw mapped(.connectionClosed) }
            case .failure(.failed(let error)): throw mapped(error)
            }
            pooledWasWritten = wasWritten
            if Task.isCancelled { throw .cancelled }
        }
        let channel: any Channel
        do {
            channel = try await connect(key, deadline: deadline)
        } catch .connectFailed where pooledWasWritten {
            // The request went out on the pooled connection, which closed unanswered: the server
            // may have taken it before it went away, so this is not "never sent".
            throw mapped(.connectionClosed)
        }
        switch await exchange(request, on: channel, key: key, deadline: deadline) {
        case .success(let completion): return finish(completion, channel: channel, key: key)
        case .failure(.notSent) where !pooledWasWritten:
            // A fresh connection closed before the request went out: never sent.
            throw mapped(
                .connectFailed(host: key.host, port: key.port, reason: "closed before the request was sent"))
        case .failure(.notSent), .failure(.closedBeforeResponse): throw mapped(.connectionClosed)
        case .failure(.failed(let error)): throw mapped(error)
        }
    }

    /// Closes every connection; requests in flight fail, and later ones throw `.shutDown`.
    public func shutdown() async {
        let channels = pool.withLock { $0.shutDown() }
        for channel in channels {
            channel.close(promise: nil)
            try? await channel.closeFuture.get()
        }
    }

    // MARK: Internals

    private func exchange(
        _ request: HTTPClientRequest, on channel: any Channel, key: ConnectionPool.Key, deadline: NIODeadline
    ) async -> Result<HTTPClientConnection.Completion, HTTPClientConnection.Failure> {
        let promise = channel.eventLoop.makePromise(of: HTTPClientConnection.Completion.self)
        let exchange = HTTPClientConnection.Exchange(
            request: request, hostHeader: HTTPClientError.address(key.host, key.port), deadline: deadline,
            maxResponseBytes: maxResponseBytes, promise: promise)
        return await withTaskCancellationHandler {
            channel.writeAndFlush(exchange, promise: nil)
            do {
                return .success(try await promise.futureResult.get())
            } catch let failure as HTTPClientConnection.Failure {
                return .failure(failure)
            } catch {
                // Unreachable: the handler fails exchanges only with `Failure`.
                return .failure(.failed(.invalidResponse("\(error)")))
            }
        } onCancel: {
            channel.close(promise: nil)
        }
    }

    /// Returns a reusable connection to the pool, closes any other, and hands back the response.
    private func finish(
        _ completion: HTTPClientConnection.Completion, channel: any Channel, key: ConnectionPool.Key
    ) -> HTTPClientResponse {
        let isKept =
            completion.isReusable && channel.isActive
            && pool.withLock { $0.release(channel, for: key, maxIdle: maxIdleConnectionsPerHost) }
        if !isKept { channel.close(promise: nil) }
        return completion.response
    }

    /// Errors after `shutdown()` or a cancellation are reported as such, not as the closed
    /// connection they caused.
    private func mapped(_ error: HTTPClientError) -> HTTPClientError {
        if pool.withLock({ $0.isShutDown }) { return .shutDown }
        if Task.isCancelled { return .cancelled }
        return error
    }

    private func connect(_ key: ConnectionPool.Key, deadline: NIODeadline) async throws(HTTPClientError)
        -> any Channel
    {
        let remaining = deadline - .now()
        guard remaining > .zero else { throw .timedOut }
        let bootstrap = ClientBootstrap(group: eventLoopGroup)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(remaining)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let connection = HTTPClientConnection()
                    let operations = channel.pipeline.syncOperations
                    try operations.addHandler(ResponseByteMarker(connection: connection))
                    try operations.addHTTPClientHandlers()
                    try operations.addHandler(connection)
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: key.host, port: key.port).get()
        } catch ChannelError.connectTimeout {
            throw mapped(.timedOut)
        } catch {
            if Task.isCancelled { throw .cancelled }
            throw .connectFailed(host: key.host, port: key.port, reason: Self.reason(error))
        }
        let isRegistered = pool.withLock { $0.register(channel) }
        guard isRegistered else {
            channel.close(promise: nil)
            throw .shutDown
        }
        // The pool forgets a connection when it closes, whoever closed it (idle servers do).
        channel.closeFuture.whenComplete { _ in
            self.pool.withLock { $0.forget(channel, for: key) }
        }
        return channel
    }

    /// The underlying reason for a failed connect, without NIO's wrapping.
    private static func reason(_ error: any Error) -> String {
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first { return reason(first.error) }
            if let dns = error.dnsAAAAError ?? error.dnsAError { return "cannot resolve the host: \(dns)" }
            return "no address for the host"
        }
        if let error = error as? IOError { return error.description }
        return "\(error)"
    }
}
