import TestSupport
import Testing

@testable import Raft

/// Three `RaftNode`s on a `ScriptedNetwork`, with in-memory stores.
struct ScriptedCluster {
    let network = ScriptedNetwork()
    let ids: [NodeID] = ["n1", "n2", "n3"]
    let nodes: [NodeID: RaftNode<ListMachine>]
    let tasks: [Task<Void, any Error>]

    init() throws {
        let configuration = ClusterConfiguration(voters: ids)
        var nodes: [NodeID: RaftNode<ListMachine>] = [:]
        for (k, id) in ids.enumerated() {
            let node = try RaftNode(
                config: config(id, seed: UInt64(k + 1)), configuration: configuration,
                logStore: MemoryLogStore(), snapshotStore: MemorySnapshotStore(), stateMachine: ListMachine(),
                transport: network.transport(), options: fastTicks)
            network.attach(id) { node.receive($0) }
            nodes[id] = node
        }
        self.nodes = nodes
        tasks = nodes.values.map { node in Task { try await node.run() } }
    }

    /// The leader, once one is elected and has committed an entry of its term, with a follower
    /// whose log matches the leader's (so a transfer to it sends `timeoutNow` at once).
    func settledLeader() async throws -> (leader: NodeID, follower: NodeID) {
        var found: (NodeID, NodeID)?
        let settled = await eventually {
            for id in ids {
                guard let node = nodes[id],
                    await within(.seconds(2), { try? await node.propose(Array("x".utf8)) }) != nil
                else { continue }
                let status = await node.status
                guard status.role == .leader,
                    let follower = ids.first(where: { status.followers[$0]?.match == status.lastIndex })
                else { continue }
                found = (id, follower)
                return true
            }
            return false
        }
        try #require(settled, "no leader with a caught-up follower")
        return found!
    }

    func stop() async {
        for node in nodes.values { node.shutdown() }
        for task in tasks { _ = await task.result }
    }
}

@Suite("RaftNode: a leadership transfer succeeds only when its target leads")
struct LeadershipTransferNodeTests {
    @Test("a transfer returns its target once this node knows the target leads")
    func transferSucceeds() async throws {
        let cluster = try ScriptedCluster()
        let (leader, target) = try await cluster.settledLeader()
        let result = try await cluster.nodes[leader]!.transferLeadership(to: target)
        #expect(result == target)
        #expect(await cluster.nodes[leader]!.status.leader == target)
        #expect(await cluster.nodes[target]!.status.role == .leader)
        await cluster.stop()
    }

    @Test(
        "the target campaigns and steps the leader down, but cannot win: the transfer fails, naming what happened"
    )
    func steppedDownButTargetLost() async throws {
        let cluster = try ScriptedCluster()
        let (leader, target) = try await cluster.settledLeader()
        // The target hears `timeoutNow` and its vote request reaches the leader, which steps down
        // for the new term; nothing else to or from the target arrives, so it never wins.
        cluster.network.drop { envelope in
            guard envelope.from == target || envelope.to == target else { return false }
            if case .timeoutNow = envelope.message, envelope.from == leader { return false }
            if case .requestVote(let request) = envelope.message, request.isLeadershipTransfer,
                envelope.to == leader
            {
                return false
            }
            return true
        }
        do {
            let result = try await cluster.nodes[leader]!.transferLeadership(to: target)
            let targetRole = await cluster.nodes[target]!.status.role
            Issue.record("the transfer reported \(result) as leader; the target is \(targetRole)")
        } catch {
            guard case .leadershipTransferFailed(.notTakenOver(let named, let reason)) = error else {
                throw error
            }
            #expect(named == target)
            #expect(await cluster.nodes[target]!.status.role != .leader)
            // Whoever was elected instead (or nobody) is what the reason names.
            let others = cluster.ids.filter { $0 != target }.map(\.description)
            #expect(
                others.contains {
                    reason.contains("\($0) became leader instead")
                        || reason.contains("\($0) was elected again")
                }
                    || reason.contains("no leader known"),
                "\(reason)")
        }
        await cluster.stop()
    }

    @Test(
        "a target that never hears of the transfer: it fails after an election timeout, and this node still leads"
    )
    func targetUnreachable() async throws {
        let cluster = try ScriptedCluster()
        let (leader, target) = try await cluster.settledLeader()
        cluster.network.drop { $0.from == target || $0.to == target }
        await #expect(
            throws: NodeError.leadershipTransferFailed(
                .notTakenOver(target: target, reason: "\(leader) still leads after an election timeout"))
        ) {
            try await cluster.nodes[leader]!.transferLeadership(to: target)
        }
        #expect(await cluster.nodes[leader]!.status.role == .leader)
        await cluster.stop()
    }

    @Test("a transfer to this node itself or to a non-voter starts nothing")
    func invalidTargets() async throws {
        let cluster = try ScriptedCluster()
        let (leader, _) = try await cluster.settledLeader()
        await #expect(throws: NodeError.leadershipTransferFailed(.invalidTarget("\(leader) already leads"))) {
            try await cluster.nodes[leader]!.transferLeadership(to: leader)
        }
        await #expect(throws: NodeError.leadershipTransferFailed(.invalidTarget("n9 is not a voter"))) {
            try await cluster.nodes[leader]!.transferLeadership(to: "n9")
        }
        #expect(await cluster.nodes[leader]!.status.role == .leader)
        await cluster.stop()
    }
}

@Suite("LeadershipTransferWatch: what ends a transfer")
struct LeadershipTransferWatchTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var events: [RaftEvent]
        /// Ticks after the events.
        var ticks = 0
        /// nil: still waiting; "" : the target took over; otherwise the failure's reason.
        var outcome: String?
        var testDescription: String { name }
    }

    static let t2 = Term(2)
    static let t3 = Term(3)

    @Test(
        "n1 handing over to n2",
        arguments: [
            Case(
                name: "the target's election steps n1 down, then n2's heartbeat names it",
                events: [.becameFollower(term: t3, leader: nil), .leaderChanged(term: t3, leader: "n2")],
                outcome: ""),
            Case(
                name: "n2's first append steps n1 down", events: [.becameFollower(term: t3, leader: "n2")],
                outcome: ""),
            Case(
                name: "stepping down is not success", events: [.becameFollower(term: t3, leader: nil)],
                ticks: 29, outcome: nil),
            Case(
                name: "no leader known after three election timeouts",
                events: [.becameFollower(term: t3, leader: nil)], ticks: 30,
                outcome: "no leader known 30 ticks after n1 stepped down"),
            Case(
                name: "lost quorum",
                events: [.lostQuorum(term: t2), .becameFollower(term: t2, leader: nil)],
                outcome: "n1 stepped down after losing quorum"),
            Case(
                name: "removed",
                events: [.becameFollower(term: t2, leader: nil), .removedFromVoters(index: LogIndex(9))],
                outcome: "n1 was removed from the voters"),
            Case(
                name: "another node won",
                events: [.becameFollower(term: t3, leader: nil), .leaderChanged(term: t3, leader: "n3")],
                outcome: "n3 became leader instead"),
            Case(
                name: "this node won again",
                events: [
                    .becameFollower(term: t3, leader: nil), .becamePreCandidate(term: t3),
                    .becameCandidate(term: Term(4)), .becameLeader(term: Term(4)),
                ],
                outcome: "n1 was elected again in t4"),
            Case(
                name: "abandoned", events: [.leadershipTransferAbandoned(to: "n2")],
                outcome: "n1 still leads after an election timeout"),
            Case(name: "ticks while leading do not count", events: [], ticks: 100, outcome: nil),
        ])
    func outcomes(_ c: Case) {
        var watch = LeadershipTransferWatch(target: "n2", id: "n1", electionTicks: 10)
        var outcome: LeadershipTransferWatch.Outcome?
        for event in c.events where outcome == nil { outcome = watch.observe(event) }
        for _ in 0..<c.ticks where outcome == nil { outcome = watch.tick() }
        let expected: LeadershipTransferWatch.Outcome? = c.outcome.map {
            $0.isEmpty ? .tookOver : .failed(.notTakenOver(target: "n2", reason: $0))
        }
        #expect(outcome == expected)
    }
}
