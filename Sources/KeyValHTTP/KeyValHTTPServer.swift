import Hummingbird
import KeyVal
import KeyValClient
import Logging

/// The key-value HTTP API of one node, served by Hummingbird.
///
/// `run()` serves until the task is cancelled or, when run as (part of) a service in a
/// swift-service-lifecycle `ServiceGroup`, until graceful shutdown: Hummingbird then stops
/// accepting, lets requests in flight finish, and `run()` returns.
public struct KeyValHTTPServer<Replica: KVReplica>: Sendable {
    /// Where to listen and the limits of one request.
    public struct Configuration: Sendable {
        public var host: String
        /// 0 picks a free port; `onServerRunning` is told which.
        public var port: Int
        /// Larger request bodies get 413 before they are buffered. The default admits the largest
        /// command (`KVCommand.maxCommandBytes`) with room for JSON syntax and escapes.
        public var maxBodyBytes: Int
        /// How long a forwarded request may wait for the leader's answer.
        public var forwardingTimeout: Duration

        public init(
            host: String = "127.0.0.1", port: Int, maxBodyBytes: Int = KVCommand.maxCommandBytes + 64 << 10,
            forwardingTimeout: Duration = .seconds(10)
        ) {
            self.host = host
            self.port = port
            self.maxBodyBytes = maxBodyBytes
            self.forwardingTimeout = forwardingTimeout
        }
    }

    private let application: Application<KeyValResponder<Replica>>

    /// - Parameters:
    ///   - nodeID: this node's id, sent as `Keyval-Forwarded-By` on forwarded requests.
    ///   - client: used to forward requests to the leader; its pool keeps connections warm. The
    ///     caller owns it and shuts it down after `run()` returns.
    ///   - onServerRunning: called once the server listens, with the bound port.
    public init(
        replica: Replica, nodeID: String, client: HTTPClient, configuration: Configuration, logger: Logger,
        onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
    ) {
        let forwarder = LeaderForwarder(
            client: client, nodeID: nodeID, timeout: configuration.forwardingTimeout, logger: logger)
        let responder = KeyValResponder(
            replica: replica, maxBodyBytes: configuration.maxBodyBytes, forwarder: forwarder)
        let port = configuration.port
        application = Application(
            responder: responder,
            configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: port)),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }

    /// Serves until cancelled or shut down gracefully (see the type's comment).
    public func run() async throws {
        try await application.run()
    }
}
