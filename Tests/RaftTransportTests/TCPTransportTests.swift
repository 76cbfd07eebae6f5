import Dispatch
import Logging
import NIOCore
import NIOPosix
import Raft
import TestSupport
import Testing

/// Real sockets on 127.0.0.1 with ports the system picks; every wait is bounded.
@Suite("TCPTransport", .timeLimit(.minutes(1)))
struct TCPTransportTests {
    @Test("two transports exchange envelopes of every message kind in both directions")
    func exchange() async throws {
        let book = AddressBook()
        let logs = LogRecorder()
        let a = TestTransport("n1", book: book, logs: logs)
        let b = TestTransport("n2", book: book, logs: logs)
        try await a.start(in: book)
        try await b.start(in: book)

        let toB = Samples.envelopes(from: "n1", to: "n2")
        let toA = Samples.envelopes(from: "n2", to: "n1", term: Term(9))
        a.transport.send(toB)
        b.transport.send(toA)
        #expect(await eventually { b.received.all.count == toB.count && a.received.all.count == toA.count })
        #expect(b.received.all == toB)
        #expect(a.received.all == toA)
        #expect(a.received.unreachablePeers.isEmpty && b.received.unreachablePeers.isEmpty)

        await a.transport.shutdown()
        await b.transport.shutdown()
    }

    @Test("many envelopes in one send, and sends in a row, arrive in order over one connection")
    func ordering() async throws {
        let book = AddressBook()
        let logs = LogRecorder()
        // Room for everything sent before the connection exists (the default keeps 1024 frames).
        let options = TCPTransportOptions(maxQueuedFrames: 5000)
        let a = TestTransport("n1", book: book, logs: logs, options: options)
        let b = TestTransport("n2", book: book, logs: logs)
        try await b.start(in: book)

        func append(_ k: Int) -> Envelope {
            Envelope(
                from: "n1", to: "n2", term: Term(2),
                message: .appendEntries(
                    AppendEntries(
                        prevLogIndex: LogIndex(UInt64(k)), prevLogTerm: Term(2),
                        entries: [
                            Entry(
                                term: Term(2), index: LogIndex(UInt64(k + 1)),
                                data: [UInt8](repeating: 7, count: k % 900))
                        ],
                        leaderCommit: .zero)))
        }
        let batch = (0..<3000).map(append)
        // Sent before the connection exists (queued while connecting), then more while it is
        // being made or in use.
        a.transport.send(batch)
        let more = (3000..<3500).map(append)
        for envelope in more { a.transport.send([envelope]) }
        let sent = batch + more
        #expect(await eventually { b.received.all.count == sent.count })
        let received = b.received.all
        let firstDifference = received.indices.first { $0 < sent.count && received[$0] != sent[$0] }
        #expect(received.count == sent.count && firstDifference == nil, "\(received.count) received")
        // One connection: b accepted exactly one.
        #expect(logs.all.filter { $0.contains("accepted connection") }.count == 1)

        await a.transport.shutdown()
        await b.transport.shutdown()
    }

    @Test("a peer that is down is reported unreachable with backoff, and delivery resumes once it starts")
    func reconnect() async throws {
        let book = AddressBook()
        let logs = LogRecorder()
        book["n2"] = "127.0.0.1:1"  // nothing listens there
        let a = TestTransport("n1", book: book, logs: logs)
        try await a.start(in: book)
        let sender = Task {
            var k: UInt64 = 0
            while !Task.isCancelled {
                k += 1
                a.transport.send([heartbeat(from: "n1", to: "n2", context: k)])
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
        #expect(await eventually { a.received.unreachablePeers.contains("n2") })
        // Backoff: 20, 40, 80, 160, 320 ms... so a few attempts in half a second, not one per send.
        let before = a.received.unreachablePeers.count
        try await Task.sleep(for: .milliseconds(500))
        let attempts = a.received.unreachablePeers.count - before
        #expect(attempts >= 1 && attempts <= 6, "\(attempts) attempts in 500 ms")

        // The peer starts; its address is looked up again at the next attempt.
        var b = TestTransport("n2", book: book, logs: logs)
        try await b.start(in: book)
        #expect(await eventually { !b.received.all.isEmpty })

        // It goes away again: reported, then reached at its new address.
        await b.transport.shutdown()
        let reported = a.received.unreachablePeers.count
        #expect(await eventually { a.received.unreachablePeers.count > reported })
        b = TestTransport("n2", book: book, logs: logs)
        try await b.start(in: book)
        #expect(await eventually { !b.received.all.isEmpty })
        // Whatever arrives arrives in order (dropped heartbeats are fine, reordered ones are not).
        let contexts = b.received.all.compactMap { envelope -> UInt64? in
            guard case .heartbeat(let h) = envelope.message else { return nil }
            return h.readContext
        }
        #expect(contexts == contexts.sorted())

        sender.cancel()
        await a.transport.shutdown()
        await b.transport.shutdown()
    }

    @Test("a transport from another cluster is refused and logged while the right one is served")
    func clusterMismatch() async throws {
        let book = AddressBook()
        let logs = LogRecorder()
        let b = TestTransport("n2", cluster: "test", book: book, logs: logs)
        let a = TestTransport("n1", cluster: "test", book: book, logs: logs)
        let stranger = TestTransport("n3", cluster: "other", book: book, logs: logs)
        try await b.start(in: book)

        stranger.transport.send([heartbeat(from: "n3", to: "n2")])
        a.transport.send([heartbeat(from: "n1", to: "n2")])
        #expect(await eventually { b.received.all.count == 1 })
        #expect(await eventually { stranger.received.unreachablePeers.contains("n2") })
        #expect(b.received.all == [heartbeat(from: "n1", to: "n2")])
        let refusals = logs.all.filter { $0.contains("refused connection from 127.0.0.1:") }
        #expect(!refusals.isEmpty)
        #expect(refusals.allSatisfy { $0.hasSuffix(": cluster id other, ours is test") }, "\(refusals)")

        await a.transport.shutdown()
        await b.transport.shutdown()
        await stranger.transport.shutdown()
    }

    struct BadPeer: Sendable, CustomTestStringConvertible {
        var name: String
        var bytes: [UInt8]
        /// What the one log line about this connection says.
        var logged: String
        var testDescription: String { name }
    }

    @Test(
        "a misbehaving connection is closed with one log line while other peers are served",
        arguments: [
            BadPeer(
                name: "an HTTP request", bytes: Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8),
                logged:
                    "refused connection from 127.0.0.1:PORT: bad frame: frame of 542393671 bytes, limit 67108864"
            ),
            BadPeer(
                name: "random bytes framed with a plausible length",
                bytes: le(UInt32(12)) + [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8],
                logged: "refused connection from 127.0.0.1:PORT: bad frame: bad checksum"),
            BadPeer(
                name: "a hello with a bad checksum",
                bytes: {
                    var bytes = hello("n3"); bytes[bytes.count - 1] ^= 1; return bytes
                }(),
                logged: "refused connection from 127.0.0.1:PORT: bad frame: bad checksum"),
            BadPeer(
                name: "a huge length prefix and no body", bytes: [0xFF, 0xFF, 0xFF, 0x7F],
                logged:
                    "refused connection from 127.0.0.1:PORT: bad frame: frame of 2147483647 bytes, limit 67108864"
            ),
            BadPeer(
                name: "an unknown frame kind",
                bytes: WireCodecTests.frame(kind: 9, payload: []),
                logged: "refused connection from 127.0.0.1:PORT: bad frame: unknown frame kind 9"),
            BadPeer(
                name: "an envelope before the hello",
                bytes: WireCodec.encode(.envelope(heartbeat(from: "n3", to: "n2"))),
                logged: "refused connection from 127.0.0.1:PORT: an envelope before the hello"),
            BadPeer(
                name: "an envelope addressed to another node",
                bytes: hello("n3") + WireCodec.encode(.envelope(heartbeat(from: "n3", to: "n4"))),
                logged: "closing connection from 127.0.0.1:PORT (n3): an envelope for n4, we are n2"),
            BadPeer(
                name: "an envelope from another sender than the hello's",
                bytes: hello("n3") + WireCodec.encode(.envelope(heartbeat(from: "n1", to: "n2"))),
                logged: "closing connection from 127.0.0.1:PORT (n3): an envelope from n1 on n3's connection"),
            BadPeer(
                name: "a second hello", bytes: hello("n3") + hello("n3"),
                logged: "closing connection from 127.0.0.1:PORT (n3): a second hello, from n3"),
            BadPeer(
                name: "a good envelope, then garbage",
                bytes: hello("n3") + WireCodec.encode(.envelope(heartbeat(from: "n3", to: "n2", context: 42)))
                    + [1, 0, 0, 0, 0],
                logged: "closing connection from 127.0.0.1:PORT (n3): bad frame: truncated"),
        ])
    func badPeer(_ bad: BadPeer) async throws {
        let book = AddressBook()
        let logs = LogRecorder()
        let b = TestTransport("n2", book: book, logs: logs)
        let a = TestTransport("n1", book: book, logs: logs)
        try await b.start(in: book)
        let address = try #require(b.transport.boundAddress)
        a.transport.send([heartbeat(from: "n1", to: "n2", context: 1)])
        #expect(await eventually { b.received.all.count == 1 })

        let raw = try await RawConnection.connect(to: address)
        let port = try #require(raw.channel.localAddress?.port)
        try await raw.write(bad.bytes)
        #expect(await raw.isClosed(), "the transport kept the connection open")
        let lines = logs.all.filter {
            $0.hasPrefix("warning") && $0.contains("connection from 127.0.0.1:\(port)")
        }
        let expected = "warning n2 " + bad.logged.replacing("PORT", with: "\(port)")
        #expect(lines.count == 1 && lines[0].hasPrefix(expected), "\(lines)")

        // Only the well-formed envelope before the fault, if any, was delivered; n1 is still served.
        a.transport.send([heartbeat(from: "n1", to: "n2", context: 2)])
        #expect(await eventually { b.received.all.contains(heartbeat(from: "n1", to: "n2", context: 2)) })
        let fromRaw = b.received.all.filter { $0.from != "n1" }
        #expect(
            fromRaw
                == (bad.name == "a good envelope, then garbage"
                    ? [heartbeat(from: "n3", to: "n2", context: 42)] : []))
        #expect(b.received.all.filter { $0.from == "n1" }.count == 2)

        await raw.close()
        await a.transport.shutdown()
        await b.transport.shutdown()
    }

    @Test("frames over the limit: the sender drops the envelope, the receiver closes the connection")
    func frameLimit() async throws {
        let book = AddressBook()
        let logs = LogRecorder()
        let options = TCPTransportOptions(maxFrameBytes: 256)
        let a = TestTransport("n1", book: book, logs: logs, options: options)
        let b = TestTransport("n2", book: book, logs: logs, options: options)
        try await b.start(in: book)
        let big = Envelope(
            from: "n1", to: "n2", term: Term(1),
            message: .appendEntries(
                AppendEntries(
                    prevLogIndex: .zero, prevLogTerm: .zero,
                    entries: [
                        Entry(term: Term(1), index: LogIndex(1), data: [UInt8](repeating: 1, count: 300))
                    ],
                    leaderCommit: .zero)))
        a.transport.send([
            heartbeat(from: "n1", to: "n2", context: 1), big, heartbeat(from: "n1", to: "n2", context: 2),
        ])
        #expect(await eventually { b.received.all.count == 2 })
        #expect(
            b.received.all == [
                heartbeat(from: "n1", to: "n2", context: 1), heartbeat(from: "n1", to: "n2", context: 2),
            ])
        let length = WireCodec.encode(.envelope(big)).count - WireCodec.lengthPrefixBytes
        #expect(
            logs.all.contains {
                $0.hasPrefix("error n1 dropped n1 t1 append i1..i1")
                    && $0.hasSuffix("a frame of \(length) bytes, limit 256")
            })
        #expect(a.received.unreachablePeers.isEmpty)

        // A peer with a larger limit sending a large frame: b refuses it before reading the body.
        let raw = try await RawConnection.connect(to: try #require(b.transport.boundAddress))
        try await raw.write(hello("n3") + WireCodec.encode(.envelope(big)).prefix(8))
        #expect(await raw.isClosed())
        #expect(
            logs.all.contains { $0.hasSuffix("(n3): bad frame: frame of \(length) bytes, limit 256") },
            "\(logs.all)")

        await raw.close()
        await a.transport.shutdown()
        await b.transport.shutdown()
    }

    @Test("while a connection is being made, only the newest frames up to the queue limit are kept")
    func queueLimit() async throws {
        let book = AddressBook()
        let logs = LogRecorder()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let b = TestTransport("n2", book: book, logs: logs)
        try await b.start(in: book)
        let a = TCPTransport(
            localID: "n1", clusterID: "test", listenAddress: "127.0.0.1:0", peerAddress: book.lookup,
            onReceive: { _ in }, onUnreachable: { _ in }, logger: logs.logger("a"),
            options: TCPTransportOptions(maxQueuedFrames: 10), group: group)

        // Hold a's only event loop, so all 100 sends are queued as tasks before the first one runs
        // and starts connecting; the connection completes only after all of them ran.
        let release = DispatchSemaphore(value: 0)
        group.next().execute { release.wait() }
        for k in 1...100 { a.send([heartbeat(from: "n1", to: "n2", context: UInt64(k))]) }
        release.signal()

        #expect(await eventually { b.received.all.count == 10 })
        try await Task.sleep(for: .milliseconds(100))
        #expect(b.received.all == (91...100).map { heartbeat(from: "n1", to: "n2", context: UInt64($0)) })
        #expect(logs.all.contains { $0.hasSuffix("queue for n2 overflowed: dropped the 90 oldest frames") })

        // A borrowed group outlives the transport.
        await a.shutdown()
        #expect(try await group.next().submit { 1 }.get() == 1)
        try await group.shutdownGracefully()
        await b.transport.shutdown()
    }

    @Test("shutdown closes every connection and listener; later sends are dropped, nothing is reported")
    func shutdown() async throws {
        let book = AddressBook()
        let logs = LogRecorder()
        book["n9"] = "192.0.2.1:7000"  // TEST-NET-1: connecting hangs until the timeout
        let a = TestTransport("n1", book: book, logs: logs)
        let b = TestTransport("n2", book: book, logs: logs)
        try await a.start(in: book)
        try await b.start(in: book)
        let addressOfA = try #require(a.transport.boundAddress)

        a.transport.send([heartbeat(from: "n1", to: "n2")])
        #expect(await eventually { b.received.all.count == 1 })
        let raw = try await RawConnection.connect(to: addressOfA)
        try await raw.write(hello("n3"))
        // Sends in flight everywhere: to a connected peer, to one still connecting, from a task.
        let sender = Task {
            while !Task.isCancelled {
                a.transport.send([heartbeat(from: "n1", to: "n2"), heartbeat(from: "n1", to: "n9")])
                await Task.yield()
            }
        }
        try await Task.sleep(for: .milliseconds(50))
        await a.transport.shutdown()

        #expect(await raw.isClosed())
        await #expect(throws: (any Error).self) { _ = try await RawConnection.connect(to: addressOfA) }
        // Frames written before the shutdown may still be in the sockets on their way to b; let
        // them arrive (no change for 300 ms), then count: only sends after the shutdown must vanish.
        var delivered = b.received.all.count
        while true {
            try await Task.sleep(for: .milliseconds(300))
            let now = b.received.all.count
            if now == delivered { break }
            delivered = now
        }
        let reported = a.received.unreachablePeers
        a.transport.send([heartbeat(from: "n1", to: "n2")])
        try await Task.sleep(for: .milliseconds(1200))  // past n9's connect timeout
        #expect(b.received.all.count == delivered)
        #expect(a.received.unreachablePeers == reported)
        sender.cancel()

        await a.transport.shutdown()  // idempotent
        await #expect(throws: TCPTransportError.shutDown) { try await a.transport.start() }
        await raw.close()
        await b.transport.shutdown()
    }

    @Test("start refuses a bad address, a port in use and a second start; listens on localhost and [::1]")
    func startErrors() async throws {
        let book = AddressBook()
        let logs = LogRecorder()
        let bad = TestTransport("n1", book: book, logs: logs, listen: "no-port-here")
        await #expect(throws: TCPTransportError.invalidAddress("no-port-here", reason: "expected host:port"))
        {
            try await bad.transport.start()
        }
        await bad.transport.shutdown()

        let first = TestTransport("n1", book: book, logs: logs)
        try await first.start(in: book)
        await #expect(throws: TCPTransportError.alreadyStarted) { try await first.transport.start() }
        let taken = try #require(first.transport.boundAddress).description
        let second = TestTransport("n2", book: book, logs: logs, listen: taken)
        await #expect {
            try await second.transport.start()
        } throws: { error in
            guard case .bindFailed(taken, let reason) = error as? TCPTransportError else { return false }
            return reason.contains("Address already in use")
        }
        await second.transport.shutdown()
        await first.transport.shutdown()

        for listen in ["localhost:0", "[::1]:0"] {
            let server = TestTransport("n2", book: book, logs: logs, listen: listen)
            try await server.start(in: book)
            let client = TestTransport("n1", book: book, logs: logs)
            client.transport.send([heartbeat(from: "n1", to: "n2")])
            #expect(await eventually { server.received.all.count == 1 }, "listening on \(listen)")
            await client.transport.shutdown()
            await server.transport.shutdown()
        }
    }
}

@Suite("TCPTransport addresses", .timeLimit(.minutes(1)))
struct TCPTransportAddressTests {
    @Test("a node answers a peer it has no address for at the address that peer gave in its hello")
    func answersAtAnnouncedAddress() async throws {
        let book = AddressBook()  // b never learns a's address from it
        let logs = LogRecorder()
        let a = TestTransport("n1", book: book, logs: logs)
        let b = TestTransport("n2", book: AddressBook(), logs: logs)
        try await a.start(in: book)
        try await b.start(in: book)
        let ping = Samples.envelopes(from: "n1", to: "n2")[0]
        a.transport.send([ping])
        #expect(await eventually { b.received.all == [ping] })
        let pong = Samples.envelopes(from: "n2", to: "n1")[0]
        b.transport.send([pong])
        #expect(await eventually { a.received.all == [pong] })
        #expect(b.received.unreachablePeers.isEmpty)

        await a.transport.shutdown()
        await b.transport.shutdown()
    }
}
