import Dispatch
import Synchronization
import TestSupport
import Testing

@testable import Raft

/// A log store that records the entries of every write and can hold the node's loop inside a
/// write (the gate), so a test can queue a burst of inputs while the loop is busy.
final class GatedLogStore: LogStore, @unchecked Sendable {
    // @unchecked: `inner` is used only by the node's loop; everything the test touches is under
    // `state` or is the semaphore.
    private let inner = MemoryLogStore()
    private let state = Mutex<(isClosed: Bool, isHolding: Bool, writes: [[String]])>((false, false, []))
    private let release = DispatchSemaphore(value: 0)

    /// The commands of each write that carried entries, in order.
    var writes: [[String]] { state.withLock { $0.writes } }
    /// Whether the loop is held inside a write.
    var isHolding: Bool { state.withLock { $0.isHolding } }

    /// The next write holds the loop until `open()`.
    func close() { state.withLock { $0.isClosed = true } }
    func open() {
        let wasHolding = state.withLock { state in
            state.isClosed = false
            return state.isHolding
        }
        if wasHolding { release.signal() }
    }

    func load() throws(StorageError) -> PersistedLog { try inner.load() }
    func persist(hardState: HardState?, entries: [Entry], commitIndex: LogIndex?) throws(StorageError) {
        let holds = state.withLock { state in
            if !entries.isEmpty {
                state.writes.append(entries.map { String(decoding: $0.data, as: UTF8.self) })
            }
            state.isHolding = state.isClosed
            return state.isClosed
        }
        if holds {
            // Blocks one of the pool's threads for as long as the test queues its burst.
            release.wait()
            state.withLock { $0.isHolding = false }
        }
        try inner.persist(hardState: hardState, entries: entries, commitIndex: commitIndex)
    }
    func compact(through index: LogIndex) throws(StorageError) { try inner.compact(through: index) }
    func reclaimSpace(maxBytes: Int) throws(StorageError) -> Bool {
        try inner.reclaimSpace(maxBytes: maxBytes)
    }
    func installSnapshot(index: LogIndex, term: Term) throws(StorageError) {
        try inner.installSnapshot(index: index, term: term)
    }
}

/// Group commit, and its bound. A pass of the node's loop takes every input queued since the last
/// pass and writes the entries they appended in one sync; so the leader writes entries at most once
/// per pass that took proposals (plus writes that only record the commit index). A burst of k
/// proposals queued while the loop is busy is therefore written in exactly one sync.
@Suite("RaftNode: group commit")
struct GroupCommitTests {
    static let burst = 400

    /// A one-voter node on a `GatedLogStore` that has committed an entry of its term; then `burst`
    /// proposals queued while its loop is held in a write, released together. Returns the writes
    /// that carried the burst's commands.
    static func burstWrites(options: RaftNodeOptions) async throws -> [[String]] {
        let store = GatedLogStore()
        let node = try RaftNode(
            config: config("n1", seed: 1), configuration: ClusterConfiguration(voters: ["n1"]),
            logStore: store, snapshotStore: MemorySnapshotStore(), stateMachine: ListMachine(),
            transport: ScriptedNetwork().transport(), options: options)
        let task = Task { try await node.run() }
        defer {
            store.open()
            node.shutdown()
        }
        let elected = await eventually { (try? await node.propose(Array("warm".utf8))) != nil }
        try #require(elected, "n1 did not elect itself")

        store.close()
        let held = Task { try await node.propose(Array("held".utf8)) }
        let holding = await eventually { store.isHolding }
        try #require(holding, "the loop never wrote the held proposal")
        let proposals = (0..<burst).map { k in Task { try await node.propose(Array("p\(k)".utf8)) } }
        let queued = await eventually { node.inbox.queuedProposals == burst }
        try #require(queued, "only \(node.inbox.queuedProposals) of \(burst) proposals were queued")
        store.open()

        let applied = await within(.seconds(30)) { () async -> Set<Int>? in
            var outputs: Set<Int> = []
            for proposal in proposals {
                guard let output = try? await proposal.value else { return nil }
                outputs.insert(output)
            }
            return (try? await held.value) == nil ? nil : outputs
        }
        let outputs = try #require(applied, "the burst did not apply within 30 s")
        #expect(outputs.count == burst, "every proposal applied once, with its own output")
        node.shutdown()
        _ = await task.result
        return store.writes.filter { $0.contains { $0.hasPrefix("p") } }
    }

    @Test("a burst of 400 proposals queued while the loop is busy is written in one sync")
    func burstSharesOneSync() async throws {
        let writes = try await Self.burstWrites(options: fastTicks)
        #expect(writes.count == 1, "the burst took \(writes.count) syncs")
        #expect(Set(writes.flatMap { $0 }) == Set((0..<Self.burst).map { "p\($0)" }))
    }

    @Test("negative control: a loop that handles one input at a time syncs once per proposal")
    func oneInputAtATimeSyncsPerProposal() async throws {
        var options = fastTicks
        options.processesInputsOneAtATime = true
        let writes = try await Self.burstWrites(options: options)
        #expect(writes.count == Self.burst, "the burst took \(writes.count) syncs")
        #expect(writes.allSatisfy { $0.count == 1 })
    }
}
