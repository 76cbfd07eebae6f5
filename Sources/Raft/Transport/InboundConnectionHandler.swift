import Logging
import NIOCore

/// What every accepted connection's handler needs from its transport; all `Sendable`.
struct InboundContext: Sendable {
    var localID: NodeID
    var clusterID: String
    var maxFrameBytes: Int
    /// Our Raft address as we give it in the hello we answer with.
    var advertisedAddress: @Sendable () -> String
    var onReceive: @Sendable (Envelope) -> Void
    /// A peer introduced itself with the address it listens on.
    var onHello: @Sendable (_ sender: NodeID, _ address: String) -> Void
    var logger: Logger
}

/// One accepted connection, after `LengthPrefixedFrameDecoder`: the first frame must be a `hello`
/// from our cluster, then every frame an envelope from that sender to us, each handed to
/// `onReceive` in arrival order. Anything else closes the connection with one log line; the peer
/// reconnects if it was a transient fault. Lives on its channel's event loop only.
///
/// A well-formed hello is answered with ours (cluster id, our id, protocol version, address), even
/// when we refuse it, so whoever dialled learns who listens here (`TCPTransport.identify`): a
/// leader checks a new member that way before adding it. Peers never read on connections they
/// opened, so older nodes simply discard the answer.
final class InboundConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let inbound: InboundContext
    /// Set by the hello.
    private var sender: NodeID?
    /// Once set, nothing more is read or logged from this connection.
    private var isClosing = false

    init(_ inbound: InboundContext) { self.inbound = inbound }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !isClosing else { return }
        let bytes = Self.unwrapInboundIn(data)
        let frame: WireCodec.Frame
        do {
            frame = try WireCodec.decode(bytes.readableBytesView, maxFrameBytes: inbound.maxFrameBytes)
        } catch {
            close(context, "bad frame: \(error)")
            return
        }
        switch frame {
        case .hello(let hello):
            guard sender == nil else { return close(context, "a second hello, from \(hello.sender)") }
            let answer = WireCodec.encode(
                .hello(
                    WireCodec.Hello(
                        clusterID: inbound.clusterID, sender: inbound.localID,
                        senderAddress: inbound.advertisedAddress())))
            let written = context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: answer)))
            guard hello.clusterID == inbound.clusterID else {
                // Closed once our answer is out, so the other side can tell who refused it.
                return close(
                    context, "cluster id \(hello.clusterID), ours is \(inbound.clusterID)", after: written)
            }
            guard hello.protocolVersion == WireCodec.protocolVersion else {
                return close(
                    context,
                    "protocol version \(hello.protocolVersion), ours is \(WireCodec.protocolVersion)",
                    after: written)
            }
            sender = hello.sender
            if !hello.senderAddress.isEmpty { inbound.onHello(hello.sender, hello.senderAddress) }
            inbound.logger.debug("accepted connection from \(remote(context)) (\(hello.sender))")
        case .envelope(let envelope):
            guard let sender else { return close(context, "an envelope before the hello") }
            guard envelope.to == inbound.localID else {
                return close(context, "an envelope for \(envelope.to), we are \(inbound.localID)")
            }
            guard envelope.from == sender else {
                return close(context, "an envelope from \(envelope.from) on \(sender)'s connection")
            }
            inbound.onReceive(envelope)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !isClosing else { return }
        if let error = error as? WireError {
            // From the frame decoder: an oversized length prefix.
            close(context, "bad frame: \(error)")
        } else {
            // A reset or similar: the peer went away; it reconnects on its own.
            isClosing = true
            inbound.logger.debug("connection from \(remote(context)) failed: \(error)")
            context.close(promise: nil)
        }
    }

    /// Closes the connection with one log line; with `after`, once that write is done.
    private func close(
        _ context: ChannelHandlerContext, _ reason: String, after write: EventLoopFuture<Void>? = nil
    ) {
        isClosing = true
        let verb = sender == nil ? "refused" : "closing"
        let who = sender.map { " (\($0))" } ?? ""
        inbound.logger.warning("\(verb) connection from \(remote(context))\(who): \(reason)")
        guard let write else { return context.close(promise: nil) }
        let channel = context.channel
        write.whenComplete { _ in channel.close(promise: nil) }
    }

    private func remote(_ context: ChannelHandlerContext) -> String {
        guard let address = context.channel.remoteAddress else { return "an unknown address" }
        return address.hostAndPort
    }
}

extension SocketAddress {
    /// "127.0.0.1:5000" or "[::1]:5000", as operators write addresses.
    var hostAndPort: String {
        guard let ip = ipAddress, let port else { return "\(self)" }
        return NetworkAddress(host: ip, port: port).description
    }
}
