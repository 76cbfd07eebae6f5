import RaftCore
import Testing

// §5.3 "fast backtracking": a rejection carries the follower's conflicting term and where it starts,
// so the leader skips a whole term per round trip instead of one entry.

@Suite("Fast backtracking")
struct FastBacktrackingTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var leaderLog: [UInt64]
        var followerLog: [UInt64]
        var testDescription: String { name }
    }

    @Test(
        "§5.3: a follower diverged by 50 entries in older terms is repaired in a handful of round trips",
        arguments: [
            Case(
                name: "follower holds two older terms the leader never saw",
                leaderLog: runs([(1, 10), (4, 50)]), followerLog: runs([(1, 10), (2, 25), (3, 25)])),
            Case(
                name: "follower holds three older terms the leader never saw",
                leaderLog: runs([(1, 5), (5, 55)]), followerLog: runs([(1, 5), (2, 20), (3, 20), (4, 15)])),
            Case(
                name: "follower is 50 entries longer in a stale term",
                leaderLog: runs([(1, 10), (2, 10), (4, 40)]), followerLog: runs([(1, 10), (2, 10), (3, 50)])),
            Case(
                name: "follower diverges inside a term the leader shares",
                leaderLog: runs([(1, 10), (2, 20), (4, 30)]), followerLog: runs([(1, 10), (2, 30), (3, 20)])),
            Case(
                name: "follower is missing 50 entries of two terms",
                leaderLog: runs([(1, 10), (2, 25), (3, 25)]), followerLog: runs([(1, 10)])),
        ])
    func divergedFollowerRepaired(_ c: Case) throws {
        let term = HardState(term: Term(c.leaderLog.max()!))
        let voters: [NodeID] = ["n1", "n2", "n3"]
        var cluster = TestCluster([
            makeCore("n1", voters: voters, hardState: term, log: makeLog(terms: c.leaderLog)),
            makeCore("n2", voters: voters, hardState: term, log: makeLog(terms: c.followerLog)),
            makeCore("n3", voters: voters, hardState: term, log: makeLog(terms: c.leaderLog)),
        ])
        cluster["n1"].campaign()
        cluster.settle()
        #expect(cluster["n1"].isLeader)

        let toN2 = cluster.delivered.filter { $0.to == "n2" && $0.isAppendEntries }
        let rejections = cluster.delivered.filter { $0.from == "n2" && $0.isRejection }
        #expect(!rejections.isEmpty, "the divergence was noticed")
        #expect(rejections.count <= 5, "\(rejections.map(\.description))")
        #expect(toN2.count == rejections.count + 1, "each rejection costs one more AppendEntries")
        #expect(cluster["n2"].log.entries == cluster["n1"].log.entries)
        #expect(cluster["n1"].log.committed == cluster["n1"].log.lastIndex)
    }
}
