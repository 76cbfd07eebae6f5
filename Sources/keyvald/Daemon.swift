import Foundation
import KeyVal
import KeyValClient
import KeyValHTTP
import Logging
import NIOCore
import NIOPosix
import Raft
import ServiceLifecycle
import Synchronization

/// One keyvald process: validates the flags, opens (or bootstraps, or joins) the node's state, and
/// runs the Raft node and the HTTP API until SIGTERM/SIGINT.
struct Daemon {
    /// Raft time advances in ticks of this length; timeouts are whole numbers of ticks.
    static let tick = Duration.milliseconds(10)

    let nodeID: NodeID?
    let httpAddress: NetworkAddress
    let raftAddress: NetworkAddress
    let joinTarget: NetworkAddress?
    let dataDirectory: String
    let inMemory: Bool
    let electionTicks: Int
    let heartbeatTicks: Int
    let options: RaftNodeOptions
    let writeTimeout: Duration
    let logger: Logger

    init(_ command: Keyvald) throws(DaemonError) {
        guard !command.dataDirectory.isEmpty else { throw .usage("the data directory is empty") }
        httpAddress = try ListenAddress.normalize(command.httpAddress, flag: "haddr")
        raftAddress = try ListenAddress.normalize(command.raftAddress, flag: "raddr")
        guard httpAddress != raftAddress else { throw .usage("-haddr and -raddr are both \(httpAddress)") }
        joinTarget = try command.join.map { join throws(DaemonError) in
            try ListenAddress.normalize(join, flag: "join")
        }
        if let id = command.id {
            guard Self.isValidNodeID(id) else {
                throw .usage("-id \(id): use 1 to 128 bytes without spaces or control characters")
            }
        }
        nodeID = command.id.map { NodeID($0) }
        dataDirectory = command.dataDirectory
        inMemory = command.inMemory

        let election = try Self.duration(command.electionTimeout, flag: "election-timeout")
        let heartbeat = try Self.duration(command.heartbeatInterval, flag: "heartbeat-interval")
        writeTimeout = try Self.duration(command.writeTimeout, flag: "write-timeout")
        electionTicks = Int(election / Self.tick)
        heartbeatTicks = Int(heartbeat / Self.tick)
        guard heartbeatTicks >= 1, electionTicks >= 2 * heartbeatTicks else {
            throw .usage(
                "-heartbeat-interval \(command.heartbeatInterval) must be at least \(Self.tick) and at most half of -election-timeout \(command.electionTimeout)"
            )
        }
        guard command.snapshotThreshold >= 0 else {
            throw .usage("-snapshot-threshold \(command.snapshotThreshold) is negative")
        }
        options = RaftNodeOptions(tickInterval: Self.tick, snapshotThreshold: command.snapshotThreshold)
        guard let level = Logger.Level(rawValue: command.logLevel.lowercased()) else {
            throw .usage(
                "-log-level \(command.logLevel): use trace, debug, info, notice, warning, error or critical")
        }
        LoggingSystem.bootstrap { _ in PlainLogHandler(logLevel: level) }
        logger = Logger(label: "keyvald")
    }

    func run() async throws {
        logger.info(
            "starting \(nodeID.map { "node \($0)" } ?? "a node") in \(dataDirectory)\(inMemory ? " (in memory)" : ""): HTTP \(httpAddress), Raft \(raftAddress)\(joinTarget.map { ", joining through \($0)" } ?? "")"
        )
        try createDataDirectory()
        let storage = try openStorage()
        let hasState = try Self.hasRaftState(storage)
        let stored = inMemory ? nil : try NodeIdentity.load(from: dataDirectory)
        let id = nodeID ?? stored.map { NodeID($0.nodeID) } ?? NodeID(raftAddress.description)
        if let stored, stored.nodeID != id.name {
            throw DaemonError.dataDirectory(
                "\(dataDirectory) belongs to node \(stored.nodeID), not \(id); start it with -id \(stored.nodeID)"
            )
        }
        // Forwarding to the leader keeps up to 256 idle connections: with 16, a follower serving
        // 64 plain clients (curl, not `KeyValSession`, which writes to the leader itself) opened
        // and closed a connection for most forwarded writes, about 5,400 in TIME-WAIT at once.
        let client = HTTPClient(maxIdleConnectionsPerHost: 256)
        defer { Task { await client.shutdown() } }

        // Which cluster, and how this node enters it.
        let clusterID: String
        let httpAddresses = HTTPAddressBook()
        var joiner: Joiner?
        if hasState {
            guard let stored else {
                throw DaemonError.dataDirectory(
                    "\(dataDirectory) has Raft state but no \(NodeIdentity.fileName): the node never finished joining; remove the directory and join again"
                )
            }
            clusterID = stored.clusterID
            if let joinTarget {
                // The state decides the cluster; but a -join naming another cluster is a mistake
                // the operator should hear about rather than a node quietly refused by its peers.
                var quick = Joiner(target: joinTarget, client: client, logger: logger)
                quick.patience = .seconds(3)
                if let theirs = try? await quick.clusterID(), theirs != clusterID {
                    throw DaemonError.dataDirectory(
                        "\(dataDirectory) belongs to cluster \(clusterID), but -join \(joinTarget) is in cluster \(theirs)"
                    )
                }
                logger.info(
                    "\(dataDirectory) has state: rejoining cluster \(clusterID) with it; ignoring -join \(joinTarget)"
                )
            }
        } else if let joinTarget {
            let found = Joiner(target: joinTarget, client: client, logger: logger)
            let report = try await found.status()
            let theirs = report.clusterID
            httpAddresses.learn(from: report)
            if let stored, stored.clusterID != theirs {
                throw DaemonError.dataDirectory(
                    "\(dataDirectory) belongs to cluster \(stored.clusterID), but \(joinTarget) is in cluster \(theirs)"
                )
            }
            clusterID = theirs
            joiner = found
            logger.info("joining cluster \(clusterID) through \(joinTarget)")
        } else if let stored {
            // Only a joiner writes its identity before it has state (see below).
            throw DaemonError.dataDirectory(
                "\(dataDirectory) was joining cluster \(stored.clusterID) and has no state yet: start it with -join"
            )
        } else {
            clusterID = NodeIdentity.newClusterID()
        }

        // The transport calls back into the node, which needs the transport: a slot breaks the cycle.
        let slot = NodeSlot()
        let transport = TCPTransport(
            localID: id, clusterID: clusterID, listenAddress: raftAddress.description,
            peerAddress: { peer in
                slot.node?.configuration.member(peer).flatMap {
                    $0.raftAddress.isEmpty ? nil : $0.raftAddress
                }
            },
            onReceive: { slot.node?.receive($0) },
            onUnreachable: { slot.node?.reportUnreachable($0) },
            logger: logger, advertisedAddress: raftAddress.description)
        // Both ports before anything is written: a node that cannot listen must leave no state
        // behind (a bootstrapped directory would make a later -join be ignored).
        do {
            try await transport.start()
        } catch {
            throw Self.bindFailure(error, address: raftAddress, flag: "raddr", name: "Raft")
        }
        do {
            try await Self.checkCanListen(on: httpAddress)
        } catch {
            await transport.shutdown()
            throw Self.bindFailure(error, address: httpAddress, flag: "haddr", name: "HTTP")
        }
        if !hasState {
            // A joiner records its cluster before it can receive any state, so state is never found
            // without knowing whose it is; a bootstrapping node after its first entry, for the same reason.
            if joiner == nil { try bootstrap(storage, id: id) }
            if !inMemory { try NodeIdentity(nodeID: id.name, clusterID: clusterID).save(in: dataDirectory) }
            if joiner == nil {
                logger.notice("bootstrapped a new cluster \(clusterID) with \(id) as its only voter")
            }
        }

        let config = RaftConfig(
            id: id, electionTicks: electionTicks, heartbeatTicks: heartbeatTicks,
            randomSeed: UInt64.random(in: .min ... .max))
        let node: RaftNode<KVStateMachine>
        let events = EventLog(id: id, logger: logger)
        do {
            node = try RaftNode(
                config: config, configuration: ClusterConfiguration(members: []), storage: storage,
                stateMachine: KVStateMachine(), transport: transport, options: options,
                onEvent: { events.record($0) })
        } catch {
            throw DaemonError.dataDirectory("\(dataDirectory): \(error)")
        }
        slot.node = node
        events.start(with: node.configuration)

        let httpRunning = Atomic<Bool>(false)
        let server = KeyValHTTPServer(
            replica: NodeReplica(
                node: node, clusterID: clusterID, commitTimeout: writeTimeout,
                leaderWait: Self.tick * (2 * electionTicks + 10), raftAddress: raftAddress.description,
                httpAddresses: httpAddresses,
                identify: { [transport] address throws(IdentifyError) in
                    try await transport.identify(address, timeout: .seconds(3))
                }),
            nodeID: id.name,
            client: client,
            configuration: .init(host: httpAddress.host, port: httpAddress.port), logger: logger,
            onServerRunning: { [logger, httpAddress, raftAddress, isJoining = joiner != nil] _ in
                httpRunning.store(true, ordering: .relaxed)
                logger.notice("\(id) serving HTTP on \(httpAddress), Raft on \(raftAddress)")
                // A joiner has started once it has joined (`JoinService`).
                if !isJoining { StartupLog.open() }
            })
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: RaftService(node: node, transport: transport)),
            .init(service: HTTPService(server: server)),
        ]
        if hasState {
            // Restarted with other addresses: the configuration must say where the node is now.
            services.append(
                .init(
                    service: AddressRefresh(
                        node: node, client: client, logger: logger,
                        request: JoinRequest(
                            id: id.name, addr: raftAddress.description, haddr: httpAddress.description,
                            clusterID: clusterID)),
                    successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore))
        }
        if let joiner {
            let request = JoinRequest(
                id: id.name, addr: raftAddress.description, haddr: httpAddress.description,
                clusterID: clusterID)
            services.append(
                .init(
                    service: JoinService(joiner: joiner, request: request, clusterID: clusterID),
                    successTerminationBehavior: .ignore))
        }
        // Last, so the first to be told of a shutdown: a leader hands over while everything still runs.
        services.append(
            .init(
                service: LeadershipHandoff(node: node, logger: logger, heartbeat: Self.tick * heartbeatTicks),
                successTerminationBehavior: .ignore))
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services, gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [],
                logger: Logger(label: "keyvald.services", factory: { _ in SwiftLogNoOpLogHandler() })))
        do {
            try await group.run()
        } catch {
            if !httpRunning.load(ordering: .relaxed) {
                throw Self.bindFailure(error, address: httpAddress, flag: "haddr", name: "HTTP")
            }
            throw error
        }
        logger.notice("\(id) stopped")
    }

    // MARK: Steps

    private func createDataDirectory() throws(DaemonError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: dataDirectory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw .dataDirectory("\(dataDirectory) is not a directory") }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        } catch {
            throw .dataDirectory("cannot create \(dataDirectory): \(error.localizedDescription)")
        }
    }

    private func openStorage() throws(DaemonError) -> NodeStorage {
        if inMemory { return NodeStorage(logStore: MemoryLogStore(), snapshotStore: MemorySnapshotStore()) }
        do {
            return try DataDirectory.open(dataDirectory)
        } catch {
            throw .dataDirectory("\(error)")
        }
    }

    /// Whether the stores hold anything: a term, a vote, an entry or a snapshot.
    private static func hasRaftState(_ storage: NodeStorage) throws(DaemonError) -> Bool {
        do {
            let log = try storage.logStore.load()
            if log.hardState != HardState() || !log.entries.isEmpty || log.compactedThrough > .zero {
                return true
            }
            return try storage.snapshotStore.loadNewest() != nil
        } catch {
            throw .dataDirectory("\(error)")
        }
    }

    /// A new cluster's first entry, as hashicorp/raft's BootstrapCluster writes it: a configuration
    /// with this node as its only voter, at index 1 of term 1, committed (one voter stored it).
    private func bootstrap(_ storage: NodeStorage, id: NodeID) throws(DaemonError) {
        let configuration = ClusterConfiguration(members: [
            Member(
                id: id, raftAddress: raftAddress.description, httpAddress: httpAddress.description,
                isVoter: true)
        ])
        let entry = Entry(
            term: Term(1), index: LogIndex(1), kind: .configuration, data: configuration.encoded())
        do {
            try storage.logStore.persist(
                hardState: HardState(term: Term(1)), entries: [entry], commitIndex: LogIndex(1))
        } catch {
            throw .dataDirectory("cannot bootstrap: \(error)")
        }
    }

    /// Binds `address` without listening and lets go at once: tells "port in use" before any
    /// state is written. Not listening matters: a client (a node joining through us) that
    /// connected to a listening probe would be accepted and then never answered. Another process
    /// could take the port in between; then the server's own bind reports it.
    private static func checkCanListen(on address: NetworkAddress) async throws {
        let resolved = try SocketAddress.makeAddressResolvingHost(address.host, port: address.port)
        let descriptor = socket(resolved.protocol.rawValue, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw IOError(errnoCode: errno, reason: "socket") }
        defer { close(descriptor) }
        var reuse: Int32 = 1
        _ = setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        let result = resolved.withSockAddr { pointer, size in bind(descriptor, pointer, socklen_t(size)) }
        guard result == 0 else { throw IOError(errnoCode: errno, reason: "bind") }
    }

    /// NIO's bind errors name the syscall; people want the cause: `port 11000 is already in use
    /// (HTTP)`, or the flag and what is wrong with its address.
    private static func bindFailure(_ error: any Error, address: NetworkAddress, flag: String, name: String)
        -> DaemonError
    {
        let text = "\(error)"
        if text.contains("Address already in use") {
            return .usage("port \(address.port) is already in use (\(name))")
        }
        if text.contains("Cannot assign requested address") {
            return .usage("-\(flag) \(address): not an address of this machine")
        }
        return .usage("-\(flag) \(address): \(text)")
    }

    // MARK: Parsing

    static func isValidNodeID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 128
            && id.unicodeScalars.allSatisfy {
                !$0.properties.isWhitespace && $0.value >= 0x20 && $0.value != 0x7F
            }
    }

    /// `250ms`, `1s`, `1.5s`, or a bare number of milliseconds.
    static func duration(_ text: String, flag: String) throws(DaemonError) -> Duration {
        let units: [(suffix: String, milliseconds: Double)] = [("ms", 1), ("s", 1000)]
        for unit in units where text.hasSuffix(unit.suffix) {
            if let value = Double(text.dropLast(unit.suffix.count)), value > 0, value.isFinite {
                return .milliseconds(Int64((value * unit.milliseconds).rounded()))
            }
        }
        if let value = Int64(text), value > 0 { return .milliseconds(value) }
        throw .usage("-\(flag) \(text): use a duration such as 250ms or 1s")
    }
}

/// Where the transport's callbacks find the node, which is created after the transport.
final class NodeSlot: Sendable {
    private let slot = Mutex<RaftNode<KVStateMachine>?>(nil)
    var node: RaftNode<KVStateMachine>? {
        get { slot.withLock { $0 } }
        set { slot.withLock { $0 = newValue } }
    }
}

/// The HTTP API as a service of the group.
struct HTTPService: Service {
    let server: KeyValHTTPServer<NodeReplica>
    func run() async throws { try await server.run() }
}

/// Joins the cluster once the node and its HTTP API run; a refusal stops the daemon.
struct JoinService: Service {
    let joiner: Joiner
    let request: JoinRequest
    let clusterID: String

    func run() async throws {
        try await joiner.join(request)
        joiner.logger.notice("joined cluster \(clusterID) as \(request.id)")
        StartupLog.open()
    }
}

/// A node restarted with state: if the configuration still names other addresses for it (it
/// moved), it asks the other members, through their HTTP APIs, to update it (one forwards to the
/// leader). It cannot wait to hear from the leader: at a new Raft address, the leader cannot reach
/// it until the configuration says where it is. Same id and addresses: nothing to do.
struct AddressRefresh: Service {
    let node: RaftNode<KVStateMachine>
    let client: HTTPClient
    let logger: Logger
    let request: JoinRequest

    func run() async throws {
        let id = NodeID(request.id)
        let deadline = ContinuousClock.now + .seconds(120)
        var announced = false
        while ContinuousClock.now < deadline {
            let configuration = node.configuration
            guard let me = configuration.member(id) else { return }  // not a member (any more)
            if me.raftAddress == request.addr && me.httpAddress == request.haddr { return }
            if !announced {
                logger.notice(
                    "the cluster knows \(id) at raft \(me.raftAddress), http \(me.httpAddress); asking to update it"
                )
                announced = true
            }
            for peer in configuration.members where peer.id != id && !peer.httpAddress.isEmpty {
                guard let target = try? ListenAddress.normalize(peer.httpAddress, flag: "haddr") else {
                    continue
                }
                var joiner = Joiner(target: target, client: client, logger: logger)
                joiner.patience = .seconds(2)
                if (try? await joiner.join(request)) != nil { return }
            }
            try await Task.sleep(for: .milliseconds(500))
        }
    }
}

/// On SIGTERM/SIGINT, before anything stops: a leader hands leadership to the most up-to-date
/// voter (thesis §3.10), so a rolling restart costs no election timeout. The ServiceGroup shuts
/// services down in reverse order and this one is last in the list, so it runs first.
struct LeadershipHandoff: Service {
    let node: RaftNode<KVStateMachine>
    let logger: Logger
    /// The heartbeat interval: after handing over, the node stays up a couple of them, so the
    /// other nodes hear from the new leader before they could forward anything to this one.
    let heartbeat: Duration

    func run() async throws {
        try await gracefulShutdown()
        let status = await node.status
        guard status.role == .leader, status.configuration.voters.count > 1 else { return }
        do {
            let successor = try await node.transferLeadership(to: nil)
            logger.notice("shutting down: handed leadership to \(successor)")
            for _ in 0..<500 where await node.status.leader != successor {
                try? await Task.sleep(for: .milliseconds(2))
            }
            try? await Task.sleep(for: heartbeat * 2)
        } catch {
            logger.warning("shutting down without handing leadership over: \(error)")
        }
    }
}
