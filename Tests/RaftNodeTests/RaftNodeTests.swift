import Foundation
import Raft
import TestSupport
import Testing

/// A node of an in-process test cluster with its stores, which outlive restarts as a disk would.
final class TestNode: @unchecked Sendable {
    // @unchecked: the stores are touched only by the running RaftNode's loop, and `start`/`stop`
    // are called from the one test task, never while another node on these stores runs.
    let id: NodeID
    let logStore: CountingLogStore
    let snapshotStore: MemorySnapshotStore
    var node: RaftNode<ListMachine>?
    var task: Task<Void, any Error>?

    init(id: NodeID) {
        self.id = id
        logStore = CountingLogStore()
        snapshotStore = MemorySnapshotStore()
    }
}

struct InProcessCluster {
    let network = LocalNetwork()
    let members: [TestNode]
    let configuration: ClusterConfiguration
    let options: RaftNodeOptions

    init(size: Int, options: RaftNodeOptions = fastTicks) {
        members = (1...size).map { TestNode(id: NodeID("n\($0)")) }
        configuration = ClusterConfiguration(voters: members.map(\.id))
        self.options = options
    }

    func start(_ member: TestNode, seed: UInt64) throws {
        let node = try RaftNode(
            config: config(member.id, seed: seed), configuration: configuration, logStore: member.logStore,
            snapshotStore: member.snapshotStore, stateMachine: ListMachine(), transport: network.transport(),
            options: options)
        member.node = node
        network.attach(member.id) { node.receive($0) }
        member.task = Task { try await node.run() }
    }

    func startAll() throws {
        for (k, member) in members.enumerated() { try start(member, seed: UInt64(k + 1)) }
    }

    func stop(_ member: TestNode) async {
        network.detach(member.id)
        member.node?.shutdown()
        _ = await member.task?.result
        member.node = nil
        member.task = nil
    }

    func stopAll() async { for member in members { await stop(member) } }

    /// The running member every running member agrees leads.
    func leader() async -> TestNode? {
        for member in members {
            guard let node = member.node, await node.status.role == .leader else { continue }
            return member
        }
        return nil
    }

    func awaitLeader() async throws -> TestNode {
        var found: TestNode?
        let elected = await eventually {
            found = await leader()
            return found != nil
        }
        try #require(elected, "no leader elected")
        return found!
    }
}

@Suite("RaftNode: the shell around the core")
struct RaftNodeTests {
    @Test("a 3-node cluster elects a leader, applies proposals everywhere and answers with the output")
    func replicatesProposals() async throws {
        let cluster = InProcessCluster(size: 3)
        try cluster.startAll()
        let leader = try await cluster.awaitLeader()
        var outputs: [Int] = []
        for k in 1...20 { outputs.append(try await leader.node!.propose(Array("item\(k)".utf8))) }
        #expect(outputs == Array(1...20))
        let items = try await leader.node!.linearizableRead { $0.items }
        #expect(items == (1...20).map { "item\($0)" })
        let converged = await eventually {
            for member in cluster.members {
                guard (try? await member.node!.staleRead({ $0.items.count })) == 20 else { return false }
            }
            return true
        }
        #expect(converged)
        await cluster.stopAll()
    }

    @Test("a follower refuses proposals, naming the leader, and serves linearizable reads itself")
    func followerNamesLeader() async throws {
        let cluster = InProcessCluster(size: 3)
        try cluster.startAll()
        let leader = try await cluster.awaitLeader()
        _ = try await leader.node!.propose(Array("x".utf8))
        let follower = cluster.members.first { $0 !== leader }!
        let knows = await eventually { await follower.node!.status.leader == leader.id }
        #expect(knows)
        await #expect(throws: NodeError.notLeader(leaderHint: leader.id)) {
            try await follower.node!.propose(Array("y".utf8))
        }
        // Served by the follower after its ReadIndex round (thesis §6.4), and it sees the write.
        let items = try await follower.node!.linearizableRead { $0.items }
        #expect(items == ["x"])
        await cluster.stopAll()
    }

    @Test("a restarted node recovers its state from its stores, through a snapshot")
    func restartRecovers() async throws {
        var options = fastTicks
        options.snapshotThreshold = 10
        options.snapshotKeepEntries = 2
        let cluster = InProcessCluster(size: 1, options: options)
        let member = cluster.members[0]
        try cluster.start(member, seed: 1)
        _ = try await cluster.awaitLeader()
        for k in 1...35 { _ = try await member.node!.propose(Array("v\(k)".utf8)) }
        #expect(member.snapshotStore.newest != nil, "no snapshot was taken")
        await cluster.stop(member)
        try cluster.start(member, seed: 2)
        _ = try await cluster.awaitLeader()
        let items = try await member.node!.linearizableRead { $0.items }
        #expect(items == (1...35).map { "v\($0)" })
        await cluster.stopAll()
    }

    @Test("a follower that missed compacted entries catches up through InstallSnapshot")
    func laggingFollowerInstallsSnapshot() async throws {
        var options = fastTicks
        options.snapshotThreshold = 20
        options.snapshotKeepEntries = 2
        let cluster = InProcessCluster(size: 3, options: options)
        try cluster.startAll()
        let leader = try await cluster.awaitLeader()
        let lagging = cluster.members.first { $0 !== leader }!
        await cluster.stop(lagging)
        for k in 1...60 { _ = try await leader.node!.propose(Array("w\(k)".utf8)) }
        let compacted = await leader.node!.status.snapshotIndex
        #expect(compacted > .zero)
        try cluster.start(lagging, seed: 9)
        let caughtUp = await eventually {
            (try? await lagging.node!.staleRead({ $0.items.count })) == 60
        }
        #expect(caughtUp)
        #expect(lagging.snapshotStore.newest != nil, "the follower caught up without a snapshot")
        await cluster.stopAll()
    }

    @Test("pending proposals fail with .stopped on shutdown, and later ones at once")
    func shutdownFailsWaiters() async throws {
        let cluster = InProcessCluster(size: 3)
        let member = cluster.members[0]
        try cluster.start(member, seed: 1)  // alone: never elected, never commits
        let node = member.node!
        await cluster.stop(member)
        await #expect(throws: NodeError.stopped) { try await node.propose(Array("late".utf8)) }
    }
}

@Suite("RaftNode: recovery from disk")
struct RecoveryTests {
    @Test("a node on SQLite and snapshot files survives a restart with every acknowledged write")
    func sqliteRestart() async throws {
        let directory = try makeTemporaryDirectory(prefix: "keyval-node")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = ClusterConfiguration(voters: ["n1"])
        var options = fastTicks
        options.snapshotThreshold = 25
        options.snapshotKeepEntries = 5
        for round in 0..<3 {
            let node = try RaftNode(
                config: config("n1", seed: UInt64(round + 1)), configuration: configuration,
                logStore: SQLiteLogStore(directory: directory),
                snapshotStore: FileSnapshotStore(directory: directory),
                stateMachine: ListMachine(), transport: LocalNetwork().transport(), options: options)
            let task = Task { try await node.run() }
            let elected = await eventually { await node.status.role == .leader }
            try #require(elected)
            let before = try await node.linearizableRead { $0.items }
            #expect(before == (0..<(round * 30)).map { "r\($0)" }, "round \(round) lost writes")
            for k in (round * 30)..<((round + 1) * 30) { _ = try await node.propose(Array("r\(k)".utf8)) }
            node.shutdown()
            _ = await task.result
        }
    }

    @Test("a damaged snapshot file stops the node from starting, naming the file")
    func corruptSnapshotRefused() async throws {
        let directory = try makeTemporaryDirectory(prefix: "keyval-node")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let snapshots = try FileSnapshotStore(directory: directory)
        let metadata = SnapshotMetadata(
            index: LogIndex(5), term: Term(1), configuration: ClusterConfiguration(voters: ["n1"]))
        try snapshots.save(StoredSnapshot(metadata: metadata, data: Array("a\nb".utf8)))
        let file = try #require(
            FileManager.default.contentsOfDirectory(atPath: "\(directory)/snapshots").first)
        let path = "\(directory)/snapshots/\(file)"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count - 6] ^= 0x40
        try bytes.write(to: URL(fileURLWithPath: path))
        do {
            _ = try RaftNode(
                config: config("n1", seed: 1), configuration: ClusterConfiguration(voters: ["n1"]),
                logStore: SQLiteLogStore(directory: directory),
                snapshotStore: FileSnapshotStore(directory: directory),
                stateMachine: ListMachine(), transport: LocalNetwork().transport())
            Issue.record("a node started on a damaged snapshot")
        } catch {
            #expect("\(error)".contains(file), "the error does not name the file: \(error)")
        }
    }

    @Test("a log compacted past the newest snapshot is refused: entries would be missing")
    func missingSnapshotRefused() throws {
        let log = MemoryLogStore()
        try log.persist(
            hardState: HardState(term: Term(1)),
            entries: (1...10).map { Entry(term: Term(1), index: LogIndex(UInt64($0))) })
        try log.compact(through: LogIndex(6))
        #expect(throws: StorageError.self) {
            _ = try RecoveredState.load(logStore: log, snapshotStore: MemorySnapshotStore())
        }
    }

    @Test("recovery drops log entries a snapshot covers, and all of them if they disagree with it")
    func recoveryCombinesSnapshotAndLog() throws {
        let configuration = ClusterConfiguration(voters: ["n1"])
        let entries = (1...10).map { Entry(term: Term($0 <= 5 ? 1 : 2), index: LogIndex(UInt64($0))) }
        let log = MemoryLogStore()
        try log.persist(hardState: HardState(term: Term(2)), entries: entries)
        let snapshots = MemorySnapshotStore()
        try snapshots.save(
            StoredSnapshot(
                metadata: SnapshotMetadata(index: LogIndex(7), term: Term(2), configuration: configuration),
                data: []))
        let agreeing = try RecoveredState.load(logStore: log, snapshotStore: snapshots)
        #expect(agreeing.log.entries.map(\.index.value) == [8, 9, 10])
        try snapshots.save(
            StoredSnapshot(
                metadata: SnapshotMetadata(index: LogIndex(7), term: Term(3), configuration: configuration),
                data: []))
        let disagreeing = try RecoveredState.load(logStore: log, snapshotStore: snapshots)
        #expect(disagreeing.log.entries.isEmpty)
        #expect(disagreeing.log.snapshotIndex == LogIndex(7))
    }
}

@Suite("Data directory")
struct DataDirectoryTests {
    @Test("a missing raft.db beside snapshots is refused: the term and vote are gone")
    func missingDatabaseRefused() throws {
        let directory = try makeTemporaryDirectory(prefix: "keyval-node")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let opened = try DataDirectory.open(directory)
            let metadata = SnapshotMetadata(
                index: LogIndex(3), term: Term(1), configuration: ClusterConfiguration(voters: ["n1"]))
            try opened.snapshotStore.save(StoredSnapshot(metadata: metadata, data: []))
        }
        try FileManager.default.removeItem(atPath: "\(directory)/raft.db")
        #expect {
            _ = try DataDirectory.open(directory)
        } throws: { error in
            "\(error)".contains("raft.db") && "\(error)".contains("missing")
        }
    }

    @Test("a fresh data directory opens, and opens again")
    func freshDirectoryOpens() throws {
        let directory = try makeTemporaryDirectory(prefix: "keyval-node")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do { _ = try DataDirectory.open(directory) }
        let reopened = try DataDirectory.open(directory)
        #expect(try reopened.logStore.load() == PersistedLog())
    }
}

@Suite("Snapshot thresholds")
struct SnapshotThresholdTests {
    @Test("a byte threshold takes snapshots even when the entry threshold is never reached")
    func byteThreshold() async throws {
        let options = RaftNodeOptions(
            tickInterval: .milliseconds(5), snapshotThreshold: 1_000_000, snapshotThresholdBytes: 4_000,
            snapshotKeepEntries: 0)
        let cluster = InProcessCluster(size: 1, options: options)
        let member = cluster.members[0]
        try cluster.start(member, seed: 1)
        _ = try await cluster.awaitLeader()
        let big = String(repeating: "x", count: 500)
        for k in 0..<20 { _ = try await member.node!.propose(Array("\(k)\(big)".utf8)) }
        let status = await member.node!.status
        #expect(status.snapshotIndex > .zero, "10 KB of entries took no snapshot")
        #expect(status.lastIndex.value - status.snapshotIndex.value < 10, "the log was not bounded by bytes")
        await cluster.stopAll()
    }
}

@Suite("RaftNode: restart keeps the applied index")
struct AppliedIndexTests {
    @Test(
        "a restarted node applies everything it had applied before any election, so applied never goes back")
    func appliedNeverGoesBack() async throws {
        let directory = try makeTemporaryDirectory(prefix: "keyval-node")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = ClusterConfiguration(voters: ["n1"])
        let options = RaftNodeOptions(
            tickInterval: .milliseconds(5), snapshotThreshold: 25, snapshotKeepEntries: 5)
        var appliedBefore = LogIndex.zero
        for round in 0..<2 {
            // The second incarnation cannot win an election for seconds (1,000 ticks of 5 ms):
            // whatever it applies comes from what its stores recorded.
            let config = RaftConfig(
                id: "n1", electionTicks: round == 0 ? 10 : 1_000, randomSeed: UInt64(round + 1))
            let node = try RaftNode(
                config: config, configuration: configuration, storage: DataDirectory.open(directory),
                stateMachine: ListMachine(), transport: LocalNetwork().transport(), options: options)
            let task = Task { try await node.run() }
            if round == 0 {
                let elected = await eventually { await node.status.role == .leader }
                try #require(elected)
                for k in 0..<37 { _ = try await node.propose(Array("e\(k)".utf8)) }
                appliedBefore = await node.status.appliedIndex
            } else {
                let caughtUp = await eventually(timeout: .seconds(2)) {
                    await node.status.appliedIndex >= appliedBefore
                }
                let appliedNow = await node.status.appliedIndex
                #expect(caughtUp, "applied \(appliedNow), before the restart \(appliedBefore)")
                #expect(await node.status.role != .leader)
                let items = try await node.staleRead { $0.items }
                #expect(items == (0..<37).map { "e\($0)" })
            }
            node.shutdown()
            _ = await task.result
        }
    }
}
