import Foundation
import Raft
import Synchronization
import TestSupport
import Testing

/// A list machine whose snapshot encoding waits at a gate the test opens, so a test can hold a
/// snapshot mid-encode and watch what the node does meanwhile.
final class GatedSnapshotMachine: StateMachine {
    /// What a snapshot is encoded from: the items, and the gate its encoding waits at.
    struct SnapshotState: Sendable {
        var items: [String]
        var gate: SnapshotGate
    }

    let gate: SnapshotGate
    private(set) var items: [String] = []

    init(gate: SnapshotGate) { self.gate = gate }

    func apply(_ entry: Entry) -> Int {
        if entry.kind == .command { items.append(String(decoding: entry.data, as: UTF8.self)) }
        return items.count
    }

    func snapshot() -> [UInt8] { Array(items.joined(separator: "\n").utf8) }
    func snapshotState() -> SnapshotState { SnapshotState(items: items, gate: gate) }

    static func encodeSnapshot(_ state: SnapshotState) -> [UInt8] {
        state.gate.wait()
        return Array(state.items.joined(separator: "\n").utf8)
    }

    func restore(from snapshot: [UInt8]) throws {
        items =
            snapshot.isEmpty
            ? [] : String(decoding: snapshot, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}

/// A gate that blocking code waits at until the test opens it (bounded: a test that forgets to
/// open it fails instead of hanging).
final class SnapshotGate: Sendable {
    private let state = Mutex((isOpen: false, waiting: 0))

    func open() { state.withLock { $0.isOpen = true } }
    var waiting: Int { state.withLock { $0.waiting } }

    func wait() {
        state.withLock { $0.waiting += 1 }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(30)
        while !state.withLock({ $0.isOpen }) && clock.now < deadline {
            usleep(1_000)
        }
    }
}

@Suite("RaftNode snapshots off the loop", .timeLimit(.minutes(1)))
struct BackgroundSnapshotTests {
    @Test("while a snapshot is being encoded, the node goes on committing and answering; then it compacts")
    func loopRunsDuringSnapshot() async throws {
        let gate = SnapshotGate()
        let taken = Mutex<[LogIndex]>([])
        let node = try RaftNode(
            config: config("n1", seed: 1), configuration: ClusterConfiguration(voters: ["n1"]),
            logStore: MemoryLogStore(), snapshotStore: MemorySnapshotStore(),
            stateMachine: GatedSnapshotMachine(gate: gate), transport: LocalNetwork().transport(),
            options: RaftNodeOptions(
                tickInterval: .milliseconds(5), snapshotThreshold: 20, snapshotThresholdBytes: 0,
                snapshotKeepEntries: 2),
            onEvent: { event in
                if case .snapshotTaken(let index, _) = event { taken.withLock { $0.append(index) } }
            })
        let task = Task { try await node.run() }
        defer {
            gate.open()
            node.shutdown()
        }
        #expect(await eventually { await node.status.role == .leader })

        for n in 1...25 { _ = try await node.propose(Array("a\(n)".utf8)) }
        // The snapshot (due at about 20 entries) is now stuck in its encoding...
        #expect(await eventually { gate.waiting == 1 }, "no snapshot started")
        // ...and the loop is not: proposals commit, reads are answered, ticks go on.
        for n in 1...50 {
            let count = await within(.seconds(5)) { try? await node.propose(Array("b\(n)".utf8)) }
            #expect(count == 25 + n, "proposal b\(n) did not commit while the snapshot was encoded")
        }
        #expect(await within(.seconds(5)) { try? await node.linearizableRead { $0.items.count } } == 75)
        #expect(await node.status.snapshotIndex == .zero, "compacted before the snapshot was saved")

        #expect(taken.withLock { $0.isEmpty })

        gate.open()
        #expect(await eventually { await node.status.snapshotIndex > .zero }, "never compacted")
        // The snapshot is of the state when it was started (about 20 entries in), not when it was
        // saved (75 in); the log was compacted behind it, keeping 2 entries.
        let first = try #require(taken.withLock { $0.first })
        #expect(first.value >= 20 && first.value <= 26, "\(first)")
        node.shutdown()
        _ = await task.result
    }
}
