import RaftCore
import Testing

@Suite("Quorum")
struct QuorumTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var matches: [UInt64]
        var quorum: Int
        var expected: UInt64
        var testDescription: String { "matches \(matches), quorum \(quorum) → i\(expected)" }
    }

    @Test(
        "committed index is the highest index a majority has stored",
        arguments: [
            // One voter.
            Case(matches: [3], quorum: 1, expected: 3),
            // Odd voter counts.
            Case(matches: [5, 5, 0], quorum: 2, expected: 5),
            Case(matches: [7, 2, 4], quorum: 2, expected: 4),
            Case(matches: [0, 0, 9], quorum: 2, expected: 0),
            Case(matches: [7, 6, 2, 1, 0], quorum: 3, expected: 2),
            Case(matches: [1, 0, 7, 2, 6], quorum: 3, expected: 2),
            Case(matches: [9, 9, 9, 9, 9], quorum: 3, expected: 9),
            // Even voter counts: a majority of 4 is 3, of 2 is 2, of 6 is 4.
            Case(matches: [4, 2], quorum: 2, expected: 2),
            Case(matches: [5, 5, 3, 1], quorum: 3, expected: 3),
            Case(matches: [5, 5, 0, 0], quorum: 3, expected: 0),
            Case(matches: [1, 2, 3, 4, 5, 6], quorum: 4, expected: 3),
        ])
    func committedIndex(_ c: Case) {
        let matches = c.matches.map(LogIndex.init)
        #expect(Quorum.committedIndex(matches: matches, quorumSize: c.quorum) == LogIndex(c.expected))
    }

    @Test(
        "a configuration's quorum is a strict majority of its voters",
        arguments: [
            (1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (6, 4), (7, 4),
        ])
    func quorumSize(voters: Int, quorum: Int) {
        let configuration = ClusterConfiguration(voters: (0..<voters).map { NodeID("n\($0)") })
        #expect(configuration.quorum == quorum)
    }
}

@Suite("Identifiers")
struct IdentifierTests {
    @Test("log indexes compare without trapping across the whole UInt64 range")
    func logIndexExtremes() {
        let top = LogIndex(.max)
        #expect(top == LogIndex(.max))
        #expect(top != LogIndex(0))
        #expect(LogIndex(0) < top)
        #expect(!(top < LogIndex(1)))
        #expect(LogIndex(5).advanced(by: -2) == LogIndex(3))
        #expect(LogIndex(3).distance(to: LogIndex(7)) == 4)
    }
}
