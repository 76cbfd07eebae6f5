import Raft
import TortureChild

/// The child process of the node crash test (`RaftNodeTests`): `node-torture <dir> <seed> [verify]`
/// runs a single-voter `RaftNode` on `SQLiteLogStore` and `FileSnapshotStore` in `<dir>` and writes
/// `w1`, `w2`, … to it until the test kills it with SIGKILL.
///
/// Once the node leads and a linearizable read has returned the recovered list, it checks that the
/// list is exactly `w1 … w<count>` (else it exits with status 1, naming the first wrong item) and
/// prints `recovered <count>`. It then proposes `w<count+1>`, `w<count+2>`, … with `window` in
/// flight at a time (so the node commits them in groups) and prints `ack <n>` when the proposal of
/// `w<n>` returns. Each line is one unbuffered `write(1, …)`. With `verify`, it stops after the
/// `recovered` line, shuts the node down and exits 0.
@main
enum NodeTorture {
    static let child = TortureChild(name: "node-torture")

    /// Proposals in flight at once.
    static let window = 4

    static func main() async {
        child.exitWhenOrphaned()
        let arguments = CommandLine.arguments
        guard arguments.count == 3 || (arguments.count == 4 && arguments[3] == "verify"),
            let seed = UInt64(arguments[2])
        else {
            child.fail("usage: node-torture <data-dir> <seed> [verify]", status: 2)
        }
        do {
            try await run(directory: arguments[1], seed: seed, verifyOnly: arguments.count == 4)
        } catch {
            child.fail("node-torture: \(error)", status: 1)
        }
    }

    static func run(directory: String, seed: UInt64, verifyOnly: Bool) async throws {
        let node = try RaftNode(
            config: RaftConfig(id: "n1", electionTicks: 10, heartbeatTicks: 1, randomSeed: seed),
            configuration: ClusterConfiguration(voters: ["n1"]),
            logStore: SQLiteLogStore(directory: directory),
            snapshotStore: FileSnapshotStore(directory: directory), stateMachine: TortureList(),
            transport: NoTransport(),
            options: RaftNodeOptions(
                tickInterval: .milliseconds(5), snapshotThreshold: 20, snapshotKeepEntries: 3))
        let loop = Task {
            do {
                try await node.run()
            } catch {
                child.fail("node-torture: the node stopped: \(error)", status: 1)
            }
        }
        let items = try await readWhenLeader(node)
        if let wrong = TortureList.firstDeviation(items) {
            child.fail("node-torture: recovered \(items.count) items, but \(wrong)", status: 1)
        }
        child.emit("recovered \(items.count)")
        if verifyOnly {
            node.shutdown()
            await loop.value
            return
        }
        await proposeForever(to: node, from: items.count + 1)
    }

    /// The state machine's items, read once the node leads and has applied everything it recovered.
    static func readWhenLeader(_ node: RaftNode<TortureList>) async throws -> [String] {
        while true {
            do throws(NodeError) {
                return try await node.linearizableRead { $0.items }
            } catch {
                switch error {
                case .notLeader, .readFailed: try await Task.sleep(for: .milliseconds(5))
                case .dropped, .stopped, .membershipChangeInProgress, .invalidMembershipChange,
                    .leadershipTransferInProgress, .leadershipTransferFailed:
                    throw error
                }
            }
        }
    }

    /// Proposes `w<first>`, `w<first+1>`, … forever, `window` at a time, in order.
    ///
    /// Order matters: the test checks the list is exactly `w1 … w<count>`. Each proposal starts as
    /// an immediate task, which runs synchronously here until its first suspension, and `propose`
    /// queues its command before it first suspends; so commands reach the node in this loop's
    /// order. Each answer is then checked against `n` (the list's length after applying `w<n>`),
    /// so a reordering, a lost or a doubly applied entry fails here instead of passing unseen.
    static func proposeForever(to node: RaftNode<TortureList>, from first: Int) async {
        guard #available(macOS 26, *) else {
            // No immediate tasks before macOS 26: one proposal at a time keeps the order.
            for n in first... { await propose(n, to: node) }
            return
        }
        await withTaskGroup(of: Void.self) { group in
            var next = first
            while true {
                group.addImmediateTask { [next] in await propose(next, to: node) }
                next += 1
                if next - first >= window { await group.next() }
            }
        }
    }

    static func propose(_ n: Int, to node: RaftNode<TortureList>) async {
        do throws(NodeError) {
            let count = try await node.propose(Array("w\(n)".utf8))
            guard count == n else {
                child.fail("node-torture: w\(n) was applied as item \(count)", status: 1)
            }
            child.emit("ack \(n)")
        } catch {
            child.fail("node-torture: proposing w\(n) failed: \(error)", status: 1)
        }
    }
}
