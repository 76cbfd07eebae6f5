import Foundation
import KeyValClient
import TestSupport
import Testing

/// `POST /join` sent directly to a cluster (not by `keyvald -join`): the leader asks the new
/// member's Raft address who it is before it proposes the change.
@Suite("POST /join checks the new member", .serialized, .timeLimit(.minutes(3)))
struct JoinCheckTests {
    @Test(
        "a join whose address answers as another cluster, another node, or not at all is refused and changes nothing"
    )
    func refusals() async throws {
        let ours = try KeyvaldCluster(size: 2)
        let theirs = try KeyvaldCluster(size: 1)
        try await ours.startAll()
        let (leader, follower) = (ours.nodes[0], ours.nodes[1])
        let stranger = theirs.nodes[0]
        try stranger.start()
        let up = await eventually { await theirs.api.status(stranger)?.role == "leader" }
        try #require(up, "\(theirs.logs)")
        let ourID = try #require(await ours.api.status(leader)?.clusterID)
        let theirID = try #require(await theirs.api.status(stranger)?.clusterID)
        let silent = try SilentListener()
        let nothing = "127.0.0.1:\(try freeLoopbackPort())"

        func join(_ id: String, _ addr: String, via node: KeyvaldNode) async -> HTTPClientResponse? {
            await ours.api.request(
                node, "POST", "/join", body: #"{"id":"\#(id)","addr":"\#(addr)","haddr":"127.0.0.1:1"}"#,
                timeout: .seconds(15))
        }
        let cases: [(id: String, addr: String, status: Int, words: [String])] = [
            // Another cluster's node: the message names both clusters.
            ("x", stranger.raftAddress, 409, [theirID, ourID]),
            // Our own follower's address under another id.
            ("wrong-id", follower.raftAddress, 409, ["node1", "wrong-id"]),
            // A member moving to an address where another cluster's node answers.
            ("node1", stranger.raftAddress, 409, [theirID, ourID]),
            // Nothing listens there.
            ("z", nothing, 502, [nothing]),
            // Something that is not a Raft node (our own HTTP API).
            ("w", leader.httpAddress, 502, [leader.httpAddress]),
            // Something that accepts and never answers.
            ("v", silent.address, 504, [silent.address]),
        ]
        for node in [leader, follower] {
            for c in cases {
                let answer = await join(c.id, c.addr, via: node)
                let text = answer?.bodyText ?? "no answer"
                #expect(answer?.status == c.status, "join \(c.id) at \(c.addr) via \(node.id): \(text)")
                for word in c.words {
                    #expect(text.contains(word), "join \(c.id) at \(c.addr): \(text) should name \(word)")
                }
                let members = await ours.api.status(leader)?.members ?? []
                #expect(members.map(\.id).sorted() == ["node0", "node1"], "after \(c.id): \(members)")
                #expect(members.first { $0.id == "node1" }?.raddr == follower.raftAddress)
            }
        }
        // The check is only a check: a real joiner still gets in, and a member may repeat its join.
        let again = #"{"id":"node1","addr":"\#(follower.raftAddress)","haddr":"\#(follower.httpAddress)"}"#
        #expect(await ours.api.request(leader, "POST", "/join", body: again)?.status == 200)
        await theirs.stop()
        await ours.stop()
    }
}
