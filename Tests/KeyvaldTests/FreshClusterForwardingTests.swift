import Foundation
import KeyValClient
import TestSupport
import Testing

/// A node that has just joined forwards writes to the leader from the moment it knows the leader,
/// even before its log holds the configuration that names the leader's HTTP address (it may be
/// receiving a snapshot). What it does not forward is refused as not applied.
@Suite("forwarding on a fresh cluster", .serialized, .timeLimit(.minutes(3)))
struct FreshClusterForwardingTests {
    @Test(
        "a joining node under writes never answers 'no known HTTP address', and every refusal says not applied"
    )
    func joinerForwardsAtOnce() async throws {
        let cluster = try KeyvaldCluster(size: 3)
        let api = cluster.api
        let leader = cluster.nodes[0]
        // A small threshold: the joiners get a snapshot, so their configuration comes late.
        let extra = ["-snapshot-threshold", "32"]
        try leader.start(extra: extra)
        let led = await eventually { await api.status(leader)?.role == "leader" }
        try #require(led, "\(cluster.logs)")
        let value = String(repeating: "v", count: 4000)
        for k in 0..<150 {
            let stored = await api.set("seed\(k)", value, via: leader)
            try #require(stored, "seed write \(k)\n\(cluster.logs)")
        }

        var unknownAddress: [String] = []
        var refusedWithoutMark: [String] = []
        var accepted = 0
        for joiner in cluster.nodes.dropFirst() {
            try joiner.start(join: leader, extra: extra)
            let deadline = ContinuousClock.now + .seconds(20)
            var joinedAt: ContinuousClock.Instant?
            var k = 0
            while ContinuousClock.now < deadline {
                k += 1
                let body = #"{"\#(joiner.id)-\#(k)":"x"}"#
                guard let answer = await api.request(joiner, "POST", "/key", body: body, timeout: .seconds(5))
                else {
                    try await Task.sleep(for: .milliseconds(1))  // not listening yet
                    continue
                }
                let text = answer.bodyText
                if answer.status == 200 { accepted += 1 }
                if text.contains("no known HTTP address") { unknownAddress.append("\(joiner.id): \(text)") }
                // Not forwarded and not proposed: the answer must say it was not applied.
                if answer.status == 503, !text.contains("outcome is unknown"),
                    !text.contains(#""applied":false"#)
                {
                    refusedWithoutMark.append("\(joiner.id): \(text)")
                }
                if joinedAt == nil,
                    await api.status(leader)?.members.contains(where: { $0.id == joiner.id }) == true
                {
                    joinedAt = .now
                }
                if let joinedAt, ContinuousClock.now - joinedAt > .milliseconds(500) { break }
            }
            #expect(joinedAt != nil, "\(joiner.id) did not join\n\(cluster.logs)")
        }
        #expect(unknownAddress.isEmpty, "\(unknownAddress.count) answers: \(unknownAddress.prefix(3))")
        #expect(
            refusedWithoutMark.isEmpty, "\(refusedWithoutMark.count) answers: \(refusedWithoutMark.prefix(3))"
        )
        #expect(accepted > 0)
        await cluster.stop()
    }
}
