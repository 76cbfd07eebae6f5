import RaftCore
import Testing

@Suite("RaftLog")
struct RaftLogTests {
    struct AppendCase: Sendable, CustomTestStringConvertible {
        var name: String
        /// The follower's (durable) log, as the term of each entry from index 1.
        var log: [UInt64]
        var prev: UInt64
        /// Terms of the incoming entries, which start at `prev + 1`.
        var incoming: [UInt64]
        var expectedLog: [UInt64]
        var expectedCovered: UInt64
        var testDescription: String { name }
    }

    @Test(
        "appendFromLeader deletes entries only from the first conflict (Figure 2, AppendEntries rule 3)",
        arguments: [
            AppendCase(
                name: "a duplicate of what is held changes nothing", log: [1, 1, 1], prev: 0,
                incoming: [1, 1, 1],
                expectedLog: [1, 1, 1], expectedCovered: 3),
            AppendCase(
                name: "a stale shorter append after a longer one keeps the longer log", log: [1, 1, 1],
                prev: 0,
                incoming: [1], expectedLog: [1, 1, 1], expectedCovered: 1),
            AppendCase(
                name: "a stale append in the middle keeps the entries after it", log: [1, 1, 2, 2], prev: 1,
                incoming: [1], expectedLog: [1, 1, 2, 2], expectedCovered: 2),
            AppendCase(
                name: "an empty append keeps everything", log: [1, 1, 1], prev: 1, incoming: [],
                expectedLog: [1, 1, 1], expectedCovered: 1),
            AppendCase(
                name: "new entries extend the log", log: [1, 1], prev: 2, incoming: [2, 2],
                expectedLog: [1, 1, 2, 2], expectedCovered: 4),
            AppendCase(
                name: "an overlapping append adds only what is new", log: [1, 1], prev: 1,
                incoming: [1, 2, 2],
                expectedLog: [1, 1, 2, 2], expectedCovered: 4),
            AppendCase(
                name: "a conflicting entry replaces it and everything after", log: [1, 1, 1, 1], prev: 1,
                incoming: [2], expectedLog: [1, 2], expectedCovered: 2),
            AppendCase(
                name: "a conflict after matching entries truncates from the conflict", log: [1, 1, 1, 1],
                prev: 0,
                incoming: [1, 1, 3], expectedLog: [1, 1, 3], expectedCovered: 3),
        ])
    func appendFromLeader(_ c: AppendCase) {
        var log = makeLog(terms: c.log)
        let covered = log.appendFromLeader(
            after: LogIndex(c.prev), makeEntries(from: c.prev + 1, terms: c.incoming))
        #expect(covered == LogIndex(c.expectedCovered))
        #expect(log.entries == makeEntries(from: 1, terms: c.expectedLog))
    }

    @Test("a duplicated older append after a newer one leaves the newer entries in place")
    func reorderedAppendsKeepEntries() {
        var log = RaftLog()
        _ = log.appendFromLeader(after: .zero, makeEntries(from: 1, terms: [1]))
        _ = log.appendFromLeader(after: LogIndex(1), makeEntries(from: 2, terms: [1, 1, 1]))
        // The first message, delivered again late.
        let covered = log.appendFromLeader(after: .zero, makeEntries(from: 1, terms: [1]))
        #expect(covered == LogIndex(1))
        #expect(log.lastIndex == LogIndex(4))
        #expect(log.unstableEntries.map(\.index) == [1, 2, 3, 4].map(LogIndex.init))
    }

    @Test("conflict truncation lowers the stable index below the replaced entries")
    func truncationLowersStableIndex() {
        var log = makeLog(terms: [1, 1, 1, 1])
        #expect(log.stableIndex == LogIndex(4))
        #expect(log.unstableEntries.isEmpty)
        _ = log.appendFromLeader(after: LogIndex(1), makeEntries(from: 2, terms: [2]))
        #expect(log.stableIndex == LogIndex(1))
        #expect(Array(log.unstableEntries) == [Entry(term: Term(2), index: LogIndex(2))])
    }

    @Test("markStable ignores an entry that was replaced by another term since it was handed out")
    func markStableIgnoresReplacedEntry() {
        var log = RaftLog()
        _ = log.appendFromLeader(after: .zero, makeEntries(from: 1, terms: [1, 1]))
        // A Ready handed out i1..i2 of t1; before it is acknowledged a new leader replaces i2.
        _ = log.appendFromLeader(after: LogIndex(1), makeEntries(from: 2, terms: [2]))
        log.markStable(through: LogIndex(2), term: Term(1))
        #expect(log.stableIndex == .zero)
        #expect(log.unstableEntries.map(\.term) == [Term(1), Term(2)])
        log.markStable(through: LogIndex(2), term: Term(2))
        #expect(log.stableIndex == LogIndex(2))
        #expect(log.unstableEntries.isEmpty)
    }

    @Test("markStable never moves the stable index back")
    func markStableMonotonic() {
        var log = RaftLog()
        _ = log.appendFromLeader(after: .zero, makeEntries(from: 1, terms: [1, 1, 1]))
        log.markStable(through: LogIndex(3), term: Term(1))
        log.markStable(through: LogIndex(1), term: Term(1))
        #expect(log.stableIndex == LogIndex(3))
    }

    @Test("entriesToApply are the committed entries after the applied index")
    func entriesToApply() {
        var log = makeLog(terms: [1, 1, 2, 2, 2])
        #expect(log.entriesToApply.isEmpty)
        log.commit(to: LogIndex(3))
        #expect(log.entriesToApply.map(\.index) == [1, 2, 3].map(LogIndex.init))
        log.markApplied(through: LogIndex(2))
        #expect(log.entriesToApply.map(\.index) == [LogIndex(3)])
        log.commit(to: LogIndex(5))
        #expect(log.entriesToApply.map(\.index) == [3, 4, 5].map(LogIndex.init))
        log.markApplied(through: LogIndex(5))
        #expect(log.entriesToApply.isEmpty)
    }

    @Test("commit never goes back")
    func commitMonotonic() {
        var log = makeLog(terms: [1, 1, 1])
        log.commit(to: LogIndex(3))
        log.commit(to: LogIndex(1))
        #expect(log.committed == LogIndex(3))
    }

    /// Terms [1, 1, 2, 2, 2, 4, 4] at i1..i7.
    static let searchLog: [UInt64] = [1, 1, 2, 2, 2, 4, 4]

    @Test(
        "lastIndex(ofTerm:atOrBelow:) finds a term's last entry at or before an index",
        arguments: [
            (term: 2, atOrBelow: 7, expected: 5),
            (term: 2, atOrBelow: 5, expected: 5),
            (term: 2, atOrBelow: 4, expected: 4),
            (term: 2, atOrBelow: 2, expected: nil),
            (term: 1, atOrBelow: 7, expected: 2),
            (term: 4, atOrBelow: 100, expected: 7),
            (term: 3, atOrBelow: 7, expected: nil),
            (term: 5, atOrBelow: 7, expected: nil),
            (term: 1, atOrBelow: 0, expected: nil),
        ] as [(term: UInt64, atOrBelow: UInt64, expected: UInt64?)])
    func lastIndexOfTerm(term: UInt64, atOrBelow: UInt64, expected: UInt64?) {
        let log = makeLog(terms: Self.searchLog)
        #expect(
            log.lastIndex(ofTerm: Term(term), atOrBelow: LogIndex(atOrBelow)) == expected.map(LogIndex.init))
    }

    @Test(
        "firstIndex(ofTermAt:) finds where the term at an index begins",
        arguments: [(7, 6), (6, 6), (5, 3), (4, 3), (3, 3), (2, 1), (1, 1), (10, 10)] as [(UInt64, UInt64)])
    func firstIndexOfTermAt(index: UInt64, expected: UInt64) {
        let log = makeLog(terms: Self.searchLog)
        #expect(log.firstIndex(ofTermAt: LogIndex(index)) == LogIndex(expected))
    }

    @Test(
        "§5.4.1: a log is up to date with a higher last term, or the same one and an index at least ours",
        arguments: [
            // Ours ends at i3@t2.
            (lastIndex: 3, lastTerm: 2, expected: true),
            (lastIndex: 9, lastTerm: 2, expected: true),
            (lastIndex: 2, lastTerm: 2, expected: false),
            (lastIndex: 1, lastTerm: 3, expected: true),
            (lastIndex: 9, lastTerm: 1, expected: false),
            (lastIndex: 0, lastTerm: 0, expected: false),
        ] as [(lastIndex: UInt64, lastTerm: UInt64, expected: Bool)])
    func isUpToDate(lastIndex: UInt64, lastTerm: UInt64, expected: Bool) {
        let log = makeLog(terms: [1, 2, 2])
        #expect(log.isUpToDate(lastIndex: LogIndex(lastIndex), lastTerm: Term(lastTerm)) == expected)
    }

    @Test("an empty log is as up to date as another empty log")
    func emptyLogsUpToDate() {
        #expect(RaftLog().isUpToDate(lastIndex: .zero, lastTerm: .zero))
    }

    @Test("term(at:) knows the empty position zero and nothing past the end")
    func termAt() {
        let log = makeLog(terms: [1, 2])
        #expect(log.term(at: .zero) == .zero)
        #expect(log.term(at: LogIndex(2)) == Term(2))
        #expect(log.term(at: LogIndex(3)) == nil)
        #expect(log.contains(index: LogIndex(1), term: Term(1)))
        #expect(!log.contains(index: LogIndex(1), term: Term(2)))
    }

    @Test("entries(from:maxBytes:) stays under the byte budget but always carries one entry")
    func entriesByteBudget() {
        let log = makeLog(terms: [1, 1, 1, 1])
        #expect(log.entries(from: LogIndex(2), maxBytes: 1).map(\.index) == [LogIndex(2)])
        #expect(log.entries(from: LogIndex(2), maxBytes: 48).map(\.index) == [LogIndex(2), LogIndex(3)])
        #expect(log.entries(from: LogIndex(1), maxBytes: 1 << 20).count == 4)
        #expect(log.entries(from: LogIndex(5), maxBytes: 1 << 20).isEmpty)
    }
}
