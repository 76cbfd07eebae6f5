import NIOCore
import NIOPosix
import Raft
import TestSupport
import Testing

/// `TCPTransport.identify`: who listens at a Raft address, over real sockets on 127.0.0.1.
@Suite("TCPTransport.identify", .timeLimit(.minutes(1)))
struct IdentifyTests {
    @Test("a node of our cluster answers the hello with its cluster id, node id and address")
    func sameCluster() async throws {
        let book = AddressBook()
        let logs = LogRecorder()
        let asker = TestTransport("n1", book: book, logs: logs)
        let answerer = TestTransport("n2", book: book, logs: logs)
        try await answerer.start(in: book)
        let address = try #require(book["n2"])

        let hello = try await asker.transport.identify(address, timeout: .seconds(5))
        #expect(hello.clusterID == "test")
        #expect(hello.sender == "n2")
        #expect(hello.senderAddress == address)
        #expect(hello.protocolVersion == WireCodec.protocolVersion)
        // The answering node still serves its peers as before.
        asker.transport.send([Samples.envelopes(from: "n1", to: "n2")[0]])
        #expect(await eventually { answerer.received.all.count == 1 })

        await asker.transport.shutdown()
        await answerer.transport.shutdown()
    }

    @Test("a node of another cluster refuses the connection but first says which cluster it is in")
    func otherCluster() async throws {
        let book = AddressBook()
        let logs = LogRecorder()
        let asker = TestTransport("n1", cluster: "ours", book: book, logs: logs)
        let stranger = TestTransport("n9", cluster: "theirs", book: book, logs: logs)
        try await stranger.start(in: book)

        let hello = try await asker.transport.identify(try #require(book["n9"]), timeout: .seconds(5))
        #expect(hello.clusterID == "theirs")
        #expect(hello.sender == "n9")
        #expect(
            await eventually {
                logs.all.contains {
                    $0.contains("refused connection") && $0.hasSuffix("cluster id ours, ours is theirs")
                }
            }, "\(logs.all)")

        await asker.transport.shutdown()
        await stranger.transport.shutdown()
    }

    @Test("nothing listening, a silent listener, and a peer that closes at once each fail as such")
    func noAnswer() async throws {
        let logs = LogRecorder()
        let asker = TestTransport("n1", book: AddressBook(), logs: logs)

        let nothing = "127.0.0.1:\(try freeLoopbackPort())"
        await #expect {
            try await asker.transport.identify(nothing, timeout: .seconds(5))
        } throws: { error in
            guard case .connectFailed(let address, _) = error as? IdentifyError else { return false }
            return address == nothing
        }

        let silent = try SilentListener()
        let started = ContinuousClock.now
        await #expect(throws: IdentifyError.timedOut(address: silent.address, after: .milliseconds(300))) {
            try await asker.transport.identify(silent.address, timeout: .milliseconds(300))
        }
        #expect(ContinuousClock.now - started < .seconds(10), "the timeout bounds the wait")

        let closer = try await ScriptedPeer.start(sending: nil)
        await #expect(throws: IdentifyError.closedWithoutAnswer(address: closer.address)) {
            try await asker.transport.identify(closer.address, timeout: .seconds(5))
        }
        await closer.stop()
        await asker.transport.shutdown()
    }

    struct Garbage: Sendable, CustomTestStringConvertible {
        var name: String
        var bytes: [UInt8]
        var reason: String
        var testDescription: String { name }
    }

    @Test(
        "an answer that is not a hello frame is refused with what was wrong with it",
        arguments: [
            Garbage(
                name: "an HTTP server", bytes: Array("HTTP/1.1 400 Bad Request\r\n\r\n".utf8),
                reason: "limit 65536"),
            Garbage(
                name: "a damaged hello",
                bytes: {
                    var bytes = WireCodec.encode(.hello(WireCodec.Hello(clusterID: "test", sender: "n2")))
                    bytes[bytes.count - 1] ^= 0xFF
                    return bytes
                }(), reason: "bad checksum"),
            Garbage(
                name: "an envelope first",
                bytes: WireCodec.encode(.envelope(Samples.envelopes(from: "n2", to: "n1")[0])),
                reason: "an envelope came first"),
        ])
    func garbage(_ garbage: Garbage) async throws {
        let asker = TestTransport("n1", book: AddressBook(), logs: LogRecorder())
        let peer = try await ScriptedPeer.start(sending: garbage.bytes)
        await #expect {
            try await asker.transport.identify(peer.address, timeout: .seconds(5))
        } throws: { error in
            guard case .notAHello(let address, let reason) = error as? IdentifyError else { return false }
            return address == peer.address && reason.contains(garbage.reason)
        }
        await peer.stop()
        await asker.transport.shutdown()
    }
}

/// A listener on 127.0.0.1 that writes fixed bytes to each connection as it opens (or nothing)
/// and then closes it.
private struct ScriptedPeer {
    let server: any Channel
    let address: String

    static func start(sending bytes: [UInt8]?) async throws -> ScriptedPeer {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Script(bytes: bytes))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(server.localAddress?.port)
        return ScriptedPeer(server: server, address: "127.0.0.1:\(port)")
    }

    func stop() async { try? await server.close() }

    final class Script: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let bytes: [UInt8]?
        init(bytes: [UInt8]?) { self.bytes = bytes }

        func channelActive(context: ChannelHandlerContext) {
            guard let bytes else { return context.close(promise: nil) }
            let channel = context.channel
            context.writeAndFlush(NIOAny(ByteBuffer(bytes: bytes))).whenComplete { _ in
                channel.close(promise: nil)
            }
        }
    }
}
