import RaftCore
import Testing

@Suite("Progress")
struct ProgressTests {
    @Test("a new follower's progress probes from the leader's next index")
    func startsProbing() {
        let progress = Progress(next: LogIndex(8))
        #expect(progress.match == .zero)
        #expect(progress.next == LogIndex(8))
        #expect(progress.state == .probe(awaitingResponse: false))
        #expect(!progress.isPipelining)
    }

    @Test("an accepted probe switches to pipelined replication just after the match")
    func probeToReplicateOnAccept() {
        var progress = Progress(next: LogIndex(8))
        progress.state = .probe(awaitingResponse: true)
        let moved = progress.acknowledge(through: LogIndex(5))
        #expect(moved)
        #expect(progress.match == LogIndex(5))
        #expect(progress.next == LogIndex(6))
        #expect(progress.state == .replicate(inflight: []))
        #expect(progress.isPipelining)
    }

    @Test("an accepted probe at the current match still switches to replication but reports no move")
    func probeAcceptedAtSameMatch() {
        var progress = Progress(next: LogIndex(1))
        let moved = progress.acknowledge(through: .zero)
        #expect(!moved)
        #expect(progress.state == .replicate(inflight: []))
        #expect(progress.next == LogIndex(1))
    }

    struct StaleCase: Sendable, CustomTestStringConvertible {
        var match: UInt64
        var ack: UInt64
        var testDescription: String { "match i\(match), ack i\(ack)" }
    }

    @Test(
        "an acknowledgement below the known match changes nothing",
        arguments: [StaleCase(match: 5, ack: 4), StaleCase(match: 5, ack: 0), StaleCase(match: 9, ack: 1)])
    func staleAcknowledgementIgnored(_ c: StaleCase) {
        var progress = Progress(next: LogIndex(c.match + 1))
        _ = progress.acknowledge(through: LogIndex(c.match))
        progress.next = LogIndex(c.match + 4)
        progress.state = .replicate(inflight: [LogIndex(c.match + 3)])
        let before = progress
        let moved = progress.acknowledge(through: LogIndex(c.ack))
        #expect(!moved)
        #expect(progress == before)
    }

    struct InflightCase: Sendable, CustomTestStringConvertible {
        var inflight: [UInt64]
        var ack: UInt64
        var remaining: [UInt64]
        var testDescription: String { "inflight \(inflight), ack i\(ack)" }
    }

    @Test(
        "an acknowledgement frees every in-flight append it covers",
        arguments: [
            InflightCase(inflight: [5, 7, 9], ack: 7, remaining: [9]),
            InflightCase(inflight: [5, 7, 9], ack: 6, remaining: [7, 9]),
            InflightCase(inflight: [5, 7, 9], ack: 9, remaining: []),
            InflightCase(inflight: [5], ack: 5, remaining: []),
        ])
    func inflightFreed(_ c: InflightCase) {
        var progress = Progress(next: LogIndex(3))
        _ = progress.acknowledge(through: LogIndex(2))
        progress.next = LogIndex(10)
        progress.state = .replicate(inflight: c.inflight.map(LogIndex.init))
        let moved = progress.acknowledge(through: LogIndex(c.ack))
        #expect(moved)
        #expect(progress.match == LogIndex(c.ack))
        #expect(progress.inflightCount == c.remaining.count)
        #expect(progress.state == .replicate(inflight: c.remaining.map(LogIndex.init)))
        #expect(progress.next == LogIndex(10), "pipelining continues where it was, not at the match")
    }

    @Test("an acknowledgement beyond next moves next past it")
    func acknowledgementBeyondNext() {
        var progress = Progress(next: LogIndex(3))
        _ = progress.acknowledge(through: LogIndex(2))
        let moved = progress.acknowledge(through: LogIndex(6))
        #expect(moved)
        #expect(progress.next == LogIndex(7))
    }

    @Test("becoming a probe restarts just after the match and forgets appends in flight")
    func becomeProbe() {
        var progress = Progress(next: LogIndex(3))
        _ = progress.acknowledge(through: LogIndex(4))
        progress.next = LogIndex(12)
        progress.state = .replicate(inflight: [LogIndex(8), LogIndex(11)])
        progress.heartbeatsWithoutAppendProgress = 3
        progress.becomeProbe()
        #expect(progress.state == .probe(awaitingResponse: false))
        #expect(progress.next == LogIndex(5))
        #expect(progress.match == LogIndex(4))
        #expect(progress.heartbeatsWithoutAppendProgress == 0)
        #expect(progress.inflightCount == 0)
    }
}
