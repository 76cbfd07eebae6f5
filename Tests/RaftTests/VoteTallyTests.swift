import RaftCore
import Testing

@Suite("VoteTally")
struct VoteTallyTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var voters: Int
        /// Answers in arrival order: voter number and whether it granted.
        var answers: [(voter: Int, granted: Bool)]
        var expected: VoteTally.Outcome
        var testDescription: String {
            "\(voters) voters, "
                + answers.map { "n\($0.voter)\($0.granted ? "+" : "-")" }.joined(separator: " ")
        }
    }

    @Test(
        "a round is won by a majority of grants, lost once a majority is out of reach, else pending",
        arguments: [
            Case(voters: 1, answers: [(1, true)], expected: .won),
            Case(voters: 3, answers: [(1, true)], expected: .pending),
            Case(voters: 3, answers: [(1, true), (2, true)], expected: .won),
            Case(voters: 3, answers: [(1, true), (2, false)], expected: .pending),
            Case(voters: 3, answers: [(1, true), (2, false), (3, false)], expected: .lost),
            Case(voters: 3, answers: [(1, true), (2, false), (3, true)], expected: .won),
            // Even voter counts: 2 of 4 is not a majority, and 2 refusals of 4 already lose.
            Case(voters: 4, answers: [(1, true), (2, true)], expected: .pending),
            Case(voters: 4, answers: [(1, true), (2, true), (3, true)], expected: .won),
            Case(voters: 4, answers: [(1, true), (2, false), (3, false)], expected: .lost),
            Case(voters: 2, answers: [(1, true), (2, false)], expected: .lost),
            Case(voters: 5, answers: [(1, true), (2, false), (3, false)], expected: .pending),
            Case(voters: 5, answers: [(1, true), (2, false), (3, false), (4, false)], expected: .lost),
            // Duplicates count once: the same grant three times is still one vote.
            Case(voters: 3, answers: [(1, true), (1, true), (1, true)], expected: .pending),
            Case(voters: 5, answers: [(1, true), (2, true), (2, true), (2, true)], expected: .pending),
            Case(voters: 3, answers: [(1, true), (2, false), (2, false)], expected: .pending),
            // The first answer from a voter counts; a later change of mind is ignored.
            Case(voters: 3, answers: [(1, true), (2, false), (2, true)], expected: .pending),
            Case(voters: 3, answers: [(1, true), (2, true), (2, false), (3, false)], expected: .won),
        ])
    func outcome(_ c: Case) {
        let ids = (1...c.voters).map { NodeID("n\($0)") }
        var tally = VoteTally(configuration: ClusterConfiguration(voters: ids))
        var last = tally.outcome
        for answer in c.answers {
            last = tally.record(NodeID("n\(answer.voter)"), granted: answer.granted)
        }
        #expect(last == c.expected)
        #expect(tally.outcome == c.expected)
    }

    @Test("duplicate answers are recorded once")
    func duplicatesRecordedOnce() {
        var tally = VoteTally(configuration: ClusterConfiguration(voters: ["n1", "n2", "n3"]))
        _ = tally.record("n2", granted: true)
        _ = tally.record("n2", granted: true)
        _ = tally.record("n3", granted: false)
        _ = tally.record("n3", granted: true)
        #expect(tally.granted == ["n2"])
        #expect(tally.rejected == ["n3"])
    }
}
