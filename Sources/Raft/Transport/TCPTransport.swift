import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Raft's transport over TCP (SwiftNIO), speaking `WireCodec` frames.
///
/// - Outbound: one long-lived connection per peer, opened on the first send to it and reused,
///   each starting with a `hello` (cluster id, our id). `send` groups envelopes by peer and hands
///   each group to that peer's `PeerLink` on an event loop: it never waits for the network, a
///   response or a lock held across I/O, and encoding happens on the event loop, not the caller's
///   (thesis §10.2.1: the node's loop must not stall). Each group is written in order and flushed once.
///   Failures are reported through `onUnreachable`; see `PeerLink` for queueing and backoff.
/// - Inbound: accepts connections on `listenAddress`; each must open with a `hello` from our
///   cluster, then carry envelopes from that sender to `localID`, which go to `onReceive` in
///   arrival order (see `InboundConnectionHandler`). A bad peer costs only its own connection.
///
/// Callbacks run on NIO event-loop threads and must not block: `RaftNode.receive` and
/// `RaftNode.reportUnreachable` only enqueue. `peerAddress` is called at every connection attempt;
/// for a peer it does not know, the address the peer gave in its own hello is used, so a node can
/// answer a leader before it has the configuration that names it.
///
/// Plain channel handlers rather than the style guide's `NIOAsyncChannel`: `send` is synchronous and
/// must not wait, so each peer's queue, connection and backoff form a small state machine on one
/// event loop, and inbound frames go straight to `onReceive`; an async writer per peer would add a
/// task and a buffer without removing any of that. Framing is our own `LengthPrefixedFrameDecoder`
/// (no swift-nio-extras), which checks the length limit before buffering a body.
///
/// NOTE: no TLS and no authentication: the cluster id only keeps clusters from talking across
/// by mistake. Heartbeats share the connection with appends and snapshot chunks, so on a slow
/// link they can wait behind large frames queued before them (head-of-line blocking).
public final class TCPTransport: RaftTransport, Sendable {
    public let localID: NodeID
    public let clusterID: String
    public let listenAddress: String
    private let options: TCPTransportOptions
    private let logger: Logger
    let group: any EventLoopGroup
    /// Whether `shutdown()` also shuts the group down (it was created here).
    private let ownsGroup: Bool
    private let outbound: OutboundContext
    private let inbound: InboundContext
    private let state = Mutex(State())
    /// Addresses peers announced in their hellos (a fallback for `peerAddress`), and ours.
    let directory: AddressDirectory

    private struct State {
        var phase = Phase.created
        var server: (any Channel)?
        var boundAddress: NetworkAddress?
        var peers: [NodeID: PeerLink] = [:]
        /// Accepted connections, so `shutdown()` can close them.
        var accepted: [ObjectIdentifier: any Channel] = [:]
    }

    private enum Phase {
        case created, starting, started, shutDown
    }

    /// Creates a transport; nothing is bound until `start()`. Sends work before `start()` (they
    /// only need outbound connections). Without a `group`, a one-thread group is created and shut
    /// down with the transport. `advertisedAddress` is the Raft address given to peers in each
    /// hello (default: the bound address, which is only right when `listenAddress` is dialable).
    public init(
        localID: NodeID, clusterID: String, listenAddress: String,
        peerAddress: @escaping @Sendable (NodeID) -> String?,
        onReceive: @escaping @Sendable (Envelope) -> Void,
        onUnreachable: @escaping @Sendable (NodeID) -> Void,
        logger: Logger, options: TCPTransportOptions = TCPTransportOptions(),
        group: (any EventLoopGroup)? = nil, advertisedAddress: String? = nil
    ) {
        self.localID = localID
        self.clusterID = clusterID
        self.listenAddress = listenAddress
        self.options = options
        var logger = logger
        logger[metadataKey: "raft-node"] = "\(localID)"
        self.logger = logger
        self.group = group ?? MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.ownsGroup = group == nil
        let directory = AddressDirectory(advertised: advertisedAddress)
        self.directory = directory
        self.outbound = OutboundContext(
            localID: localID, clusterID: clusterID, advertisedAddress: { directory.advertised },
            peerAddress: { peer in peerAddress(peer) ?? directory.address(of: peer) },
            onUnreachable: onUnreachable, options: options, logger: logger)
        self.inbound = InboundContext(
            localID: localID, clusterID: clusterID, maxFrameBytes: options.maxFrameBytes,
            advertisedAddress: { directory.advertised }, onReceive: onReceive,
            onHello: { sender, address in directory.record(address, for: sender) },
            logger: logger)
    }

    /// Where the listener is bound once `start()` returned: with port 0 asked for, the port the
    /// system chose.
    public var boundAddress: NetworkAddress? { state.withLock { $0.boundAddress } }

    /// Binds `listenAddress` and starts accepting peers. Throws `.invalidAddress` or
    /// `.bindFailed` (naming the cause, e.g. the port in use), `.alreadyStarted` or `.shutDown`.
    public func start() async throws(TCPTransportError) {
        let address = try NetworkAddress(parsing: listenAddress)
        try state.withLock { state throws(TCPTransportError) in
            switch state.phase {
            case .created: state.phase = .starting
            case .starting, .started: throw .alreadyStarted
            case .shutDown: throw .shutDown
            }
        }
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [weak self, inbound] channel in
                guard let self, self.register(accepted: channel) else {
                    return channel.eventLoop.makeFailedFuture(TCPTransportError.shutDown)
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(
                            LengthPrefixedFrameDecoder(maxFrameBytes: inbound.maxFrameBytes)),
                        InboundConnectionHandler(inbound),
                    ])
                }
            }
        let server: any Channel
        do {
            // NOTE: resolving a host name here calls getaddrinfo synchronously; listen addresses
            // are local, so this is quick.
            server = try await bootstrap.bind(host: address.host, port: address.port).get()
        } catch {
            state.withLock { $0.phase = .created }
            throw .bindFailed(address: listenAddress, reason: "\(error)")
        }
        let bound = server.localAddress.flatMap { local in
            local.port.map { NetworkAddress(host: local.ipAddress ?? address.host, port: $0) }
        }
        let isShutDown = state.withLock { state in
            guard state.phase == .starting else { return true }
            state.phase = .started
            state.server = server
            state.boundAddress = bound
            return false
        }
        if isShutDown {
            try? await server.close()
            throw .shutDown
        }
        if let bound { directory.listening(at: bound.description) }
        logger.info("listening on \(bound?.description ?? listenAddress)")
    }

    /// Sends each envelope to its `to` peer, best-effort; returns at once (see the type's notes).
    /// After `shutdown()`, envelopes are dropped.
    public func send(_ envelopes: [Envelope]) {
        guard !envelopes.isEmpty else { return }
        var batches: [NodeID: [Envelope]] = [:]
        for envelope in envelopes { batches[envelope.to, default: []].append(envelope) }
        // Submitted under the lock (submitting only queues a task on the link's event loop), so
        // no submit can land after `shutdown()` has closed the links and stopped their loops.
        state.withLock { state in
            guard state.phase != .shutDown else { return }
            for (peer, batch) in batches {
                let link: PeerLink
                if let existing = state.peers[peer] {
                    link = existing
                } else {
                    // NOTE: links are never removed, so a peer removed from the configuration keeps
                    // an idle link (and possibly an open connection) until shutdown; fine for
                    // small clusters.
                    link = PeerLink(peer: peer, eventLoop: group.next(), outbound: outbound)
                    state.peers[peer] = link
                }
                link.submit(batch)
            }
        }
    }

    /// Stops listening, closes every connection and drops queued envelopes; sends after this are
    /// dropped and no callback fires for this transport's connections any more. Idempotent.
    public func shutdown() async {
        let taken = state.withLock {
            state -> (server: (any Channel)?, accepted: [any Channel], links: [PeerLink])? in
            guard state.phase != .shutDown else { return nil }
            state.phase = .shutDown
            defer {
                state.server = nil
                state.accepted = [:]
                state.peers = [:]
            }
            return (state.server, Array(state.accepted.values), Array(state.peers.values))
        }
        guard let taken else { return }
        var closing: [EventLoopFuture<Void>] = taken.links.map { $0.close() }
        closing += taken.accepted.map { $0.close().recover { _ in } }
        if let server = taken.server { closing.append(server.close().recover { _ in }) }
        for future in closing { try? await future.get() }
        if ownsGroup {
            do {
                try await group.shutdownGracefully()
            } catch {
                logger.warning("event loop group shutdown failed: \(error)")
            }
        }
        logger.debug("transport shut down")
    }

    /// Tracks an accepted connection until it closes; false once shut down.
    private func register(accepted channel: any Channel) -> Bool {
        let key = ObjectIdentifier(channel)
        let isOpen = state.withLock { state in
            guard state.phase != .shutDown else { return false }
            state.accepted[key] = channel
            return true
        }
        if isOpen {
            channel.closeFuture.whenComplete { [weak self] _ in
                self?.state.withLock { _ = $0.accepted.removeValue(forKey: key) }
            }
        }
        return isOpen
    }
}

/// The Raft addresses a transport knows beyond its `peerAddress` lookup: the ones peers gave in
/// their hellos, and the one it gives in its own. Shared by the inbound and outbound sides.
final class AddressDirectory: Sendable {
    private let state: Mutex<(announced: [NodeID: String], advertised: String)>

    /// `advertised`: the address to give peers; nil until `start()` binds, then the bound one.
    init(advertised: String?) { state = Mutex(([:], advertised ?? "")) }

    var advertised: String { state.withLock { $0.advertised } }
    func listening(at bound: String) { state.withLock { if $0.advertised.isEmpty { $0.advertised = bound } } }
    func address(of peer: NodeID) -> String? { state.withLock { $0.announced[peer] } }
    func record(_ address: String, for peer: NodeID) { state.withLock { $0.announced[peer] = address } }
}
