import Foundation
import KeyValClient
import Linearizability
import Synchronization
import TestSupport
import Testing

/// The cluster changes shape while clients keep reading and writing (issue: as Gryadka moves
/// between 3 and 4 acceptors): every operation must succeed and the history be linearizable.
@Suite("keyvald membership under load", .serialized, .timeLimit(.minutes(3)))
struct MembershipUnderLoadTests {
    typealias Operation = HistoryOperation<KeyValueModel.Input, KeyValueModel.Output>

    @Test("3 → 4 → 5 → 3 voters under load: no failed client operation, a linearizable history")
    func growAndShrink() async throws {
        let cluster = try KeyvaldCluster(size: 5)
        let api = cluster.api
        let (stable, extra) = (Array(cluster.nodes[0..<3]), Array(cluster.nodes[3...]))
        try await cluster.startAll(only: 3)

        let history = History()
        let stop = ManagedAtomicFlag()
        let clients = (0..<4).map { c in
            Task { await Self.runClient(c, nodes: stable, api: api, history: history, until: stop) }
        }
        func voters() async -> [String] { await api.status(stable[0])?.voters ?? [] }
        func settled(_ expected: [String]) async -> Bool {
            guard let status = await api.status(stable[0]) else { return false }
            return status.voters == expected && status.learners.isEmpty && status.configurationCommitted
        }

        try await Task.sleep(for: .milliseconds(300))
        try extra[0].start(join: stable[1])  // joins through a follower or the leader alike
        #expect(
            await eventually(timeout: .seconds(20)) { await settled(["node0", "node1", "node2", "node3"]) })
        try extra[1].start(join: stable[2])
        #expect(
            await eventually(timeout: .seconds(20)) {
                await settled(["node0", "node1", "node2", "node3", "node4"])
            })
        try await Task.sleep(for: .milliseconds(300))
        for (gone, through) in [(extra[1], stable[0]), (extra[0], stable[1])] {
            let answer = await api.request(through, "DELETE", "/join/\(gone.id)", timeout: .seconds(15))
            #expect(answer?.status == 200, "removing \(gone.id): \(answer?.bodyText ?? "no answer")")
        }
        #expect(await eventually(timeout: .seconds(10)) { await settled(["node0", "node1", "node2"]) })
        try await Task.sleep(for: .milliseconds(300))
        stop.set()
        for client in clients { await client.value }
        for node in extra { await node.terminate() }

        let operations = history.operations
        let failures = history.failures
        #expect(failures.isEmpty, "failed operations: \(failures.prefix(10))\n\(cluster.logs)")
        #expect(operations.count > 50, "the clients made progress: \(operations.count) operations")
        let verdict = checkLinearizability(KeyValueModel(), history: operations, maxSteps: 5_000_000)
        #expect(verdict == .linearizable, "\(verdict) for \(operations.count) operations")
        #expect(await voters() == ["node0", "node1", "node2"])
        await cluster.stop()
    }

    @Test("a rolling restart of every node under load: no failed client operation, a linearizable history")
    func rollingRestart() async throws {
        let cluster = try KeyvaldCluster(size: 3)
        let api = cluster.api
        try await cluster.startAll()
        let history = History()
        let stop = ManagedAtomicFlag()
        let drained = SharedSet()
        let clients = (0..<4).map { c in
            Task {
                await Self.runClient(
                    c, nodes: cluster.nodes, api: api, history: history, until: stop,
                    avoiding: { drained.members })
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        for node in cluster.nodes {
            // As a load balancer would: stop sending the node new requests, then stop it. A leader
            // hands over first, so nobody waits for an election.
            drained.insert(node.id)
            try await Task.sleep(for: .milliseconds(50))
            #expect(await node.terminate() == .exit(0))
            try node.start()
            let back = await eventually(timeout: .seconds(15)) {
                guard let status = await api.status(node), let leaderID = status.leader?.id,
                    let leader = cluster.nodes.first(where: { $0.id == leaderID }),
                    let leaderStatus = await api.status(leader)
                else { return false }
                return status.appliedIndex >= leaderStatus.commitIndex
            }
            #expect(back, "\(node.id) did not catch up after its restart:\n\(cluster.logs)")
            drained.remove(node.id)
            try await Task.sleep(for: .milliseconds(200))
        }
        stop.set()
        for client in clients { await client.value }

        let operations = history.operations
        #expect(
            history.failures.isEmpty, "failed operations: \(history.failures.prefix(10))\n\(cluster.logs)")
        #expect(operations.count > 50, "the clients made progress: \(operations.count) operations")
        let verdict = checkLinearizability(KeyValueModel(), history: operations, maxSteps: 5_000_000)
        #expect(verdict == .linearizable, "\(verdict) for \(operations.count) operations")
        let handedOver = cluster.nodes.contains { $0.logs.contains("handed leadership to") }
        #expect(handedOver, "the leader of the moment handed over when it was stopped")
        await cluster.stop()
    }

    /// One client: reads and writes three keys, one operation at a time, through a random node
    /// (not one `avoiding` names), recording each in `history`. A write that fails is recorded as
    /// of unknown outcome (it may have been applied) and counted as a failure.
    static func runClient(
        _ c: Int, nodes: [KeyvaldNode], api: KeyvaldAPI, history: History, until stop: ManagedAtomicFlag,
        avoiding: @Sendable () -> Set<String> = { [] }
    ) async {
        var generator = SystemRandomNumberGenerator()
        var sequence = 0
        while !stop.isSet {
            sequence += 1
            let avoided = avoiding()
            let node = nodes.filter { !avoided.contains($0.id) }.randomElement(using: &generator)!
            let key = "k\(Int.random(in: 0..<3, using: &generator))"
            let invokedAt = history.now()
            if Bool.random(using: &generator) {
                let value = "c\(c)-\(sequence)"
                let response = await api.request(
                    node, "POST", "/key", body: #"{"\#(key)":"\#(value)"}"#, timeout: .seconds(10))
                if response?.status == 200 {
                    history.record(
                        .completed(
                            clientID: c, .put(key: key, value: value), invokedAt: invokedAt,
                            returnedAt: history.now(),
                            output: .put))
                } else {
                    history.record(
                        .unknownOutcome(clientID: c, .put(key: key, value: value), invokedAt: invokedAt))
                    history.fail(
                        "\(node.id) POST \(key): \(response.map { "\($0.status) \($0.bodyText)" } ?? "no answer")"
                    )
                }
            } else {
                let response = await api.request(node, "GET", "/key/\(key)", timeout: .seconds(10))
                switch response?.status {
                case 200:
                    let value =
                        (try? JSONDecoder().decode([String: String].self, from: Data(response!.body)))?[key]
                    history.record(
                        .completed(
                            clientID: c, .get(key: key), invokedAt: invokedAt, returnedAt: history.now(),
                            output: .get(value)))
                case 404:
                    history.record(
                        .completed(
                            clientID: c, .get(key: key), invokedAt: invokedAt, returnedAt: history.now(),
                            output: .get(nil)))
                default:
                    // A read that failed changed nothing: it is left out of the history.
                    history.fail(
                        "\(node.id) GET \(key): \(response.map { "\($0.status) \($0.bodyText)" } ?? "no answer")"
                    )
                }
            }
        }
    }
}

/// The operations of all clients, with times on one clock, and what failed.
final class History: Sendable {
    private let state = Mutex<
        (operations: [HistoryOperation<KeyValueModel.Input, KeyValueModel.Output>], failures: [String])
    >(([], []))
    private let start = ContinuousClock.now

    /// Nanoseconds since the history began.
    func now() -> Int64 {
        let elapsed = ContinuousClock.now - start
        return elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
    }

    func record(_ operation: HistoryOperation<KeyValueModel.Input, KeyValueModel.Output>) {
        state.withLock { $0.operations.append(operation) }
    }

    func fail(_ what: String) { state.withLock { $0.failures.append(what) } }

    var operations: [HistoryOperation<KeyValueModel.Input, KeyValueModel.Output>] {
        state.withLock { $0.operations }
    }
    var failures: [String] { state.withLock { $0.failures } }
}

/// Ids the test changes while client tasks read them.
final class SharedSet: Sendable {
    private let ids = Mutex<Set<String>>([])
    var members: Set<String> { ids.withLock { $0 } }
    func insert(_ id: String) { ids.withLock { _ = $0.insert(id) } }
    func remove(_ id: String) { ids.withLock { _ = $0.remove(id) } }
}
