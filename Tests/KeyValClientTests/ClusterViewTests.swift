import Testing

@testable import KeyValClient

/// Reports as three nodes of one cluster would give them.
private func member(
    _ id: String, port: Int, voter: Bool = true, reachable: Bool? = nil, lag: UInt64? = nil
) -> StatusReport.Member {
    StatusReport.Member(
        id: id, haddr: "localhost:\(port)", raddr: "localhost:\(port + 1000)", voter: voter,
        matchIndex: lag.map { 10_000 - $0 }, lag: lag, reachable: reachable)
}

private func report(
    _ id: String, role: String, leader: String?, members: [StatusReport.Member]
) -> StatusReport {
    StatusReport(
        id: id, role: role, term: 3,
        leader: leader.map { StatusReport.Leader(id: $0, haddr: "", raddr: "") }, commitIndex: 100,
        appliedIndex: 100, lastIndex: 100, snapshotIndex: 0, clusterID: "3f2c", members: members)
}

@Suite("What a client knows of the cluster")
struct ClusterViewTests {
    @Test("a status answer names the members; the answering node keeps the address used to reach it")
    func update() {
        let seed = ServerAddress(host: "127.0.0.1", port: 11000)
        let unknownSeed = ServerAddress(host: "127.0.0.1", port: 11009)
        var view = ClusterView(seeds: [seed, unknownSeed])
        view.update(
            from: report(
                "node0", role: "follower", leader: "node1",
                members: [
                    member("node0", port: 11000), member("node1", port: 11001), member("node2", port: 11002),
                ]),
            answeredAt: seed)
        #expect(
            view.nodes.map(\.description) == [
                "node0 127.0.0.1:11000 follower", "node1 localhost:11001 leader",
                "node2 localhost:11002 follower",
                "? 127.0.0.1:11009 unknown",
            ])
        #expect(view.leader?.id == "node1")
        #expect(view.id(at: seed) == "node0")
        // Failover goes to the leader first, then to the rest in order.
        #expect(view.nextCandidate(excluding: [seed]) == ServerAddress(host: "localhost", port: 11001))
        #expect(
            view.nextCandidate(excluding: [seed, ServerAddress(host: "localhost", port: 11001)])
                == ServerAddress(host: "localhost", port: 11002))
        #expect(
            view.nextCandidate(excluding: view.nodes.map(\.address)) == nil)
    }

    @Test("a leader named by a write's answer takes the member's address; forgetting it leaves none")
    func leaderFromAnAnswer() {
        let seed = ServerAddress(host: "127.0.0.1", port: 11000)
        var view = ClusterView(seeds: [seed])
        view.noteLeader("node1")
        #expect(view.leaderID == "node1" && view.leader == nil, "no status answer listed node1 yet")
        view.update(
            from: report(
                "node0", role: "follower", leader: "node1",
                members: [
                    member("node0", port: 11000), member("node1", port: 11001),
                    member("node2", port: 11002, voter: false),
                ]),
            answeredAt: seed)
        view.noteLeader("node0")
        #expect(
            view.nodes.map(\.description) == [
                "node0 127.0.0.1:11000 leader", "node1 localhost:11001 follower",
                "node2 localhost:11002 learner",
            ])
        #expect(view.leader?.address == seed)
        // Only the leader at that address is forgotten.
        view.forgetLeader(at: ServerAddress(host: "localhost", port: 11001))
        #expect(view.leaderID == "node0")
        view.forgetLeader(at: seed)
        #expect(view.leaderID == nil && view.leader == nil)
        #expect(view.nodes.map(\.role) == [.follower, .follower, .learner])
    }

    @Test("a leader's answer carries reachability, which a follower's answer keeps")
    func reachability() {
        let address = ServerAddress(host: "localhost", port: 11001)
        var view = ClusterView(seeds: [address])
        view.update(
            from: report(
                "node1", role: "leader", leader: "node1",
                members: [
                    member("node0", port: 11000, reachable: false, lag: 90),
                    member("node1", port: 11001, reachable: true, lag: 0),
                ]),
            answeredAt: address)
        #expect(view.nodes.first?.reachable == false)
        view.update(
            from: report(
                "node1", role: "follower", leader: "node1",
                members: [member("node0", port: 11000), member("node1", port: 11001)]),
            answeredAt: address)
        #expect(view.nodes.first?.reachable == false && view.nodes.first?.lag == 90)
    }

    @Test("server addresses parse as the daemon's flags do")
    func addresses() {
        #expect(ServerAddress("127.0.0.1:11000") == ServerAddress(host: "127.0.0.1", port: 11000))
        #expect(ServerAddress(":11000") == ServerAddress(host: "localhost", port: 11000))
        #expect(ServerAddress("[::1]:11000") == ServerAddress(host: "::1", port: 11000))
        for bad in ["11000", "host:", "host:0", "host:65536", "::1:11000", "[::1]11000", "h:1x"] {
            #expect(ServerAddress(bad) == nil, "\(bad)")
        }
    }
}

@Suite("Cluster warnings")
struct ClusterHealthTests {
    private let three = ["node0", "node1", "node2"]

    @Test("a healthy cluster warns of nothing")
    func healthy() {
        let leader = report(
            "node0", role: "leader", leader: "node0",
            members: [
                member("node0", port: 1, reachable: true, lag: 0),
                member("node1", port: 2, reachable: true, lag: 3),
                member("node2", port: 3, reachable: true, lag: 0),
            ])
        #expect(ClusterHealth.warnings(node: leader, leader: nil, answeringVoters: nil).isEmpty)
    }

    @Test("voters down: named while writes still work, counted against the quorum when they do not")
    func votersDown() {
        let oneDown = report(
            "node0", role: "leader", leader: "node0",
            members: [
                member("node0", port: 1, reachable: true, lag: 0), member("node1", port: 2, reachable: false),
                member("node2", port: 3, reachable: true, lag: 0),
            ])
        #expect(
            ClusterHealth.warnings(node: oneDown, leader: nil, answeringVoters: nil).map(\.text) == [
                "2 of 3 voters reachable (node1 not); writes need 2"
            ])
        let follower = report("node2", role: "follower", leader: nil, members: oneDown.members)
        #expect(
            ClusterHealth.warnings(node: follower, leader: nil, answeringVoters: 1).map(\.text) == [
                "1 of 3 voters reachable; writes need 2"
            ])
        #expect(
            ClusterHealth.warnings(node: follower, leader: nil, answeringVoters: 2).map(\.key) == [
                "no-leader"
            ])
    }

    @Test("a member far behind is named, once per member however its lag moves")
    func lag() {
        func leader(lag: UInt64) -> StatusReport {
            report(
                "node0", role: "leader", leader: "node0",
                members: [
                    member("node0", port: 1, reachable: true, lag: 0),
                    member("node1", port: 2, reachable: true, lag: 0),
                    member("node2", port: 3, reachable: true, lag: lag),
                ])
        }
        let first = ClusterHealth.warnings(node: leader(lag: 5000), leader: nil, answeringVoters: nil)
        #expect(first.map(\.text) == ["node2 is 5000 entries behind"])
        let later = ClusterHealth.warnings(node: leader(lag: 5100), leader: nil, answeringVoters: nil)
        #expect(later.map(\.key) == first.map(\.key))
        #expect(ClusterHealth.warnings(node: leader(lag: 999), leader: nil, answeringVoters: nil).isEmpty)
    }

    @Test("a follower's view is judged by the leader's report when there is one")
    func throughLeader() {
        let follower = report("node1", role: "follower", leader: "node0", members: [])
        let leader = report(
            "node0", role: "leader", leader: "node0",
            members: [
                member("node0", port: 1, reachable: true, lag: 0), member("node1", port: 2, reachable: false),
            ])
        #expect(
            ClusterHealth.warnings(node: follower, leader: leader, answeringVoters: nil).map(\.text) == [
                "1 of 2 voters reachable; writes need 2"
            ])
        #expect(
            ClusterHealth.warnings(node: follower, leader: nil, answeringVoters: nil).map(\.key) == [
                "leader-silent:node0"
            ])
    }
}
