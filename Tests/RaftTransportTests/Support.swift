import Logging
import NIOCore
import NIOPosix
import Raft
import Synchronization
import TestSupport
import Testing

/// Everything a transport under test hands to its callbacks.
final class Received: Sendable {
    private let envelopes = Mutex<[Envelope]>([])
    private let unreachable = Mutex<[NodeID]>([])

    func record(_ envelope: Envelope) { envelopes.withLock { $0.append(envelope) } }
    func recordUnreachable(_ peer: NodeID) { unreachable.withLock { $0.append(peer) } }

    var all: [Envelope] { envelopes.withLock { $0 } }
    var unreachablePeers: [NodeID] { unreachable.withLock { $0 } }
}

/// Peer addresses that tests can change while transports run.
final class AddressBook: Sendable {
    private let addresses = Mutex<[NodeID: String]>([:])
    subscript(_ id: NodeID) -> String? {
        get { addresses.withLock { $0[id] } }
        set { addresses.withLock { $0[id] = newValue } }
    }
    func lookup(_ id: NodeID) -> String? { self[id] }
}

/// Keeps log lines so tests can check what was logged (and print them when something fails).
final class LogRecorder: Sendable {
    private let lines = Mutex<[String]>([])

    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }

    func logger(_ label: String) -> Logger {
        Logger(label: label) { _ in Handler(recorder: self) }
    }

    struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let node = metadata["raft-node"].map { "\($0) " } ?? ""
            recorder.append("\(event.level) \(node)\(event.message)")
        }
    }
}

/// A transport on 127.0.0.1 with an ephemeral port, recording what it receives.
struct TestTransport {
    let id: NodeID
    let transport: TCPTransport
    let received = Received()

    init(
        _ id: NodeID, cluster: String = "test", book: AddressBook, logs: LogRecorder,
        options: TCPTransportOptions = TCPTransportOptions(), listen: String = "127.0.0.1:0"
    ) {
        self.id = id
        let received = self.received
        transport = TCPTransport(
            localID: id, clusterID: cluster, listenAddress: listen, peerAddress: book.lookup,
            onReceive: received.record, onUnreachable: received.recordUnreachable,
            logger: logs.logger("transport"),
            options: options)
    }

    /// Starts listening and publishes the bound address in `book`.
    func start(in book: AddressBook) async throws {
        try await transport.start()
        book[id] = try #require(transport.boundAddress).description
    }
}

/// A plain TCP connection that writes whatever a test gives it, to play a misbehaving peer.
struct RawConnection {
    let channel: any Channel
    static let group = MultiThreadedEventLoopGroup.singleton

    static func connect(to address: NetworkAddress) async throws -> RawConnection {
        let channel = try await ClientBootstrap(group: group).connect(host: address.host, port: address.port)
            .get()
        return RawConnection(channel: channel)
    }

    func write(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    /// Whether the other side closed the connection within `seconds`.
    func isClosed(within seconds: Double = 5) async -> Bool {
        await eventually(timeout: .milliseconds(Int(seconds * 1000))) { !channel.isActive }
    }

    func close() async { try? await channel.close() }
}

func hello(_ sender: NodeID, cluster: String = "test") -> [UInt8] {
    WireCodec.encode(.hello(WireCodec.Hello(clusterID: cluster, sender: sender)))
}

func heartbeat(from: NodeID, to: NodeID, context: UInt64 = 1) -> Envelope {
    Envelope(
        from: from, to: to, term: Term(1), message: .heartbeat(Heartbeat(commit: .zero, readContext: context))
    )
}
