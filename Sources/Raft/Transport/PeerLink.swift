import Logging
import NIOCore
import NIOPosix

/// What every outbound link needs from its transport; all `Sendable`.
struct OutboundContext: Sendable {
    var localID: NodeID
    var clusterID: String
    /// Our Raft address as peers should dial it, sent in every hello.
    var advertisedAddress: @Sendable () -> String
    var peerAddress: @Sendable (NodeID) -> String?
    var onUnreachable: @Sendable (NodeID) -> Void
    var options: TCPTransportOptions
    var logger: Logger
}

/// The outbound side of the transport for one peer: one long-lived connection, opened on the first
/// send and reused, with a bounded queue in front of it.
///
/// `submit` may be called from any thread; it hops to `eventLoop`, where everything else runs.
/// Frames wait in the queue while the connection is being made or the socket cannot take more
/// (`isWritable` false); past the queue's limits the oldest are dropped. A connection that fails
/// or drops clears the queue, reports the peer unreachable and delays the next attempt with
/// exponential backoff; the next send after that delay reconnects (Raft keeps retrying, so a peer
/// that nobody needs to talk to is not dialled in a loop). The peer's address is looked up at
/// every attempt, since configurations change.
final class PeerLink: Sendable {
    let peer: NodeID
    let eventLoop: any EventLoop
    private let outbound: OutboundContext
    /// Mutable state; `NIOLoopBoundBox` traps if touched off `eventLoop`.
    private let state: NIOLoopBoundBox<LinkState>

    struct LinkState: Sendable {
        var connection: Connection = .idle
        /// Whole encoded frames, oldest first.
        var queue = CircularBuffer<ByteBuffer>()
        var queuedBytes = 0
        /// No connection attempt before this.
        var retryAt = NIODeadline.uptimeNanoseconds(0)
        /// The delay after the next failure.
        var nextBackoff: TimeAmount
        /// When the current connection was established.
        var connectedAt: NIODeadline?
        /// Failures since the last established connection; only the first is logged above debug.
        var failureStreak = 0
        /// Dropped by `trimQueue` since the last report.
        var droppedFrames = 0
        /// Reused across encodes.
        var scratch: [UInt8] = []

        mutating func popFrame() -> ByteBuffer? {
            guard !queue.isEmpty else { return nil }
            let frame = queue.removeFirst()
            queuedBytes -= frame.readableBytes
            return frame
        }
    }

    enum Connection: Sendable {
        case idle
        case connecting
        /// Backing off; the task connects when it fires.
        case waiting(Scheduled<Void>)
        case connected(any Channel)
        case closed
    }

    init(peer: NodeID, eventLoop: any EventLoop, outbound: OutboundContext) {
        self.peer = peer
        self.eventLoop = eventLoop
        self.outbound = outbound
        self.state = .makeBoxSendingValue(
            LinkState(nextBackoff: TimeAmount(outbound.options.initialBackoff)), eventLoop: eventLoop)
    }

    /// Queues `envelopes` (all addressed to `peer`) for sending, in order. Never blocks.
    func submit(_ envelopes: [Envelope]) {
        eventLoop.execute { self.enqueue(envelopes) }
    }

    /// Drops everything queued and closes the connection; nothing is sent or reported after this.
    func close() -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            let previous = self.state.withValue { state in
                defer {
                    state.connection = .closed
                    state.queue.removeAll()
                    state.queuedBytes = 0
                }
                return state.connection
            }
            switch previous {
            case .connected(let channel): return channel.close().recover { _ in }
            case .waiting(let task):
                task.cancel()
                return self.eventLoop.makeSucceededVoidFuture()
            case .idle, .connecting, .closed: return self.eventLoop.makeSucceededVoidFuture()
            }
        }
    }

    // MARK: On the event loop

    private func enqueue(_ envelopes: [Envelope]) {
        let limit = outbound.options.maxFrameBytes
        let connection = state.withValue { state -> Connection in
            if case .closed = state.connection { return .closed }
            for envelope in envelopes {
                state.scratch.removeAll(keepingCapacity: true)
                WireCodec.encode(.envelope(envelope), into: &state.scratch)
                let length = state.scratch.count - WireCodec.lengthPrefixBytes
                guard length <= limit else {
                    outbound.logger.error("dropped \(envelope): a frame of \(length) bytes, limit \(limit)")
                    continue
                }
                state.queue.append(ByteBuffer(bytes: state.scratch))
                state.queuedBytes += state.scratch.count
            }
            trimQueue(&state)
            return state.connection
        }
        switch connection {
        case .connected(let channel): drain(channel)
        case .idle: connectWhenAllowed()
        case .connecting, .waiting, .closed: break
        }
    }

    /// Drops the oldest frames beyond the queue's limits, keeping at least the newest.
    private func trimQueue(_ state: inout LinkState) {
        let options = outbound.options
        var dropped = 0
        while state.queue.count > 1,
            state.queue.count > options.maxQueuedFrames || state.queuedBytes > options.maxQueuedBytes
        {
            state.queuedBytes -= state.queue.removeFirst().readableBytes
            dropped += 1
        }
        state.droppedFrames += dropped
    }

    /// One line per overflow episode, once the queue has drained or been discarded.
    private func reportDrops(_ state: inout LinkState) {
        guard state.droppedFrames > 0 else { return }
        outbound.logger.info("queue for \(peer) overflowed: dropped the \(state.droppedFrames) oldest frames")
        state.droppedFrames = 0
    }

    /// Writes queued frames while the socket takes them, then flushes once (also when `mustFlush`,
    /// for a frame written just before).
    private func drain(_ channel: any Channel, mustFlush: Bool = false) {
        var wrote = mustFlush
        while channel.isWritable, let frame = state.withValue({ $0.popFrame() }) {
            channel.write(frame, promise: nil)
            wrote = true
        }
        if wrote { channel.flush() }
        state.withValue { state in
            if state.queue.isEmpty { reportDrops(&state) }
        }
    }

    private func connectWhenAllowed() {
        let retryAt = state.value.retryAt
        guard NIODeadline.now() < retryAt else { return connect() }
        let task = eventLoop.scheduleTask(deadline: retryAt) { self.backoffElapsed() }
        state.value.connection = .waiting(task)
    }

    private func backoffElapsed() {
        guard case .waiting = state.value.connection else { return }
        if state.value.queue.isEmpty {
            state.value.connection = .idle
        } else {
            connect()
        }
    }

    private func connect() {
        state.value.connection = .connecting
        guard let text = outbound.peerAddress(peer) else { return connectionFailed("no address known") }
        let address: NetworkAddress
        do {
            address = try NetworkAddress(parsing: text)
        } catch {
            return connectionFailed("\(error)")
        }
        ClientBootstrap(group: eventLoop)
            .connectTimeout(TimeAmount(outbound.options.connectTimeout))
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelOption(.writeBufferWaterMark, value: .init(low: 256 << 10, high: 1 << 20))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(OutboundConnectionHandler(link: self))
                }
            }
            .connect(host: address.host, port: address.port)
            .hop(to: eventLoop)
            .whenComplete { result in
                switch result {
                case .success(let channel): self.connected(channel, to: address)
                case .failure(let error): self.connectionFailed("cannot connect to \(address): \(error)")
                }
            }
    }

    private func connected(_ channel: any Channel, to address: NetworkAddress) {
        guard case .connecting = state.value.connection else {
            // Closed while connecting.
            channel.close(promise: nil)
            return
        }
        state.withValue { state in
            state.connection = .connected(channel)
            state.connectedAt = .now()
            state.failureStreak = 0
        }
        outbound.logger.debug("connected to \(peer) at \(address)")
        var hello: [UInt8] = []
        WireCodec.encode(
            .hello(
                WireCodec.Hello(
                    clusterID: outbound.clusterID, sender: outbound.localID,
                    senderAddress: outbound.advertisedAddress())), into: &hello)
        channel.write(ByteBuffer(bytes: hello), promise: nil)
        drain(channel, mustFlush: true)
    }

    /// From the channel's handler: `channel` closed, by either side.
    fileprivate func channelClosed(_ channel: any Channel) {
        guard case .connected(let current) = state.value.connection, current === channel else { return }
        connectionFailed("connection closed")
    }

    /// From the channel's handler: the socket can take more.
    fileprivate func channelWritable(_ channel: any Channel) {
        guard case .connected(let current) = state.value.connection, current === channel else { return }
        drain(channel)
    }

    private func connectionFailed(_ reason: String) {
        let options = outbound.options
        let report = state.withValue { state -> (delay: TimeAmount, streak: Int)? in
            if case .closed = state.connection { return nil }
            let now = NIODeadline.now()
            if let connectedAt = state.connectedAt, now - connectedAt >= TimeAmount(options.maxBackoff) {
                state.nextBackoff = TimeAmount(options.initialBackoff)
            }
            let delay = state.nextBackoff
            state.nextBackoff = min(delay * 2, TimeAmount(options.maxBackoff))
            state.retryAt = now + delay
            state.connection = .idle
            state.connectedAt = nil
            state.queue.removeAll()
            state.queuedBytes = 0
            reportDrops(&state)
            state.failureStreak += 1
            return (delay, state.failureStreak)
        }
        guard let report else { return }
        let message: Logger.Message =
            "\(peer) unreachable: \(reason); next attempt in \(report.delay.nanoseconds / 1_000_000) ms"
        if report.streak == 1 { outbound.logger.info(message) } else { outbound.logger.debug(message) }
        outbound.onUnreachable(peer)
    }
}

/// Sits at the end of an outbound connection's pipeline and tells its `PeerLink` when the
/// connection closes or can take more. Peers never send on connections we opened; anything read
/// is discarded.
private final class OutboundConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let link: PeerLink

    init(link: PeerLink) { self.link = link }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { link.channelWritable(context.channel) }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        link.channelClosed(context.channel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Reported as "connection closed" once the channel goes inactive.
        context.close(promise: nil)
    }
}
