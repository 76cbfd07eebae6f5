/// Identifies one linearizable read; chosen by the caller, unique among its pending reads.
public struct ReadRequestID: Hashable, Sendable, CustomStringConvertible {
    public var value: UInt64
    public init(_ value: UInt64) { self.value = value }
    public var description: String { "r\(value)" }
}

/// A read waiting at the leader: one of its own, or a follower's `ReadIndexRequest` (thesis §6.4).
enum LeaderRead: Sendable, Hashable {
    case local(ReadRequestID)
    case remote(from: NodeID, context: UInt64)
}

/// The leader's pending linearizable reads (ReadIndex, thesis §6.4). Reads pass three gates:
/// 1. the leader has committed an entry of its own term, so its commit index is current;
/// 2. a heartbeat round sent after the read arrived is answered by a quorum, so it was still
///    leader when the read arrived (many reads share one round: one round per batch of work,
///    followers' requests included);
/// 3. the applied index reaches the commit index recorded for the read. For a follower's request
///    that gate is the follower's: the leader answers with the index once gate 2 passed, and the
///    follower serves once it has applied that far.
///
/// A follower's own reads that the leader confirmed wait here for gate 3 too (`confirm(_:at:)`).
public struct ReadIndexQueue: Sendable, Equatable {
    struct Round: Sendable, Equatable {
        var context: UInt64
        var readIndex: LogIndex
        var reads: [LeaderRead]
        var acknowledged: Set<NodeID>
    }

    /// Gate 1: waiting for the leader's first commit in its term.
    var awaitingTermCommit: [LeaderRead] = []
    /// Gate 2, in order of `context`; the last one is still open to new reads while `isLastRoundOpen`.
    var rounds: [Round] = []
    var isLastRoundOpen = false
    /// Gate 3, in order of `index` (`confirm(_:at:)` keeps it sorted).
    var confirmed: [(index: LogIndex, id: ReadRequestID)] = []
    /// Followers' requests that passed gate 2, to be answered with their read index.
    var confirmedRemote: [(to: NodeID, context: UInt64, index: LogIndex)] = []
    var lastContext: UInt64 = 0

    public init() {}

    public var pendingCount: Int {
        awaitingTermCommit.count + rounds.reduce(0) { $0 + $1.reads.count } + confirmed.count
    }

    /// Every read not yet confirmed; called when leadership is lost. Confirmed reads stay valid.
    mutating func drainUnconfirmed() -> [LeaderRead] {
        let failed = awaitingTermCommit + rounds.flatMap(\.reads)
        awaitingTermCommit = []
        rounds = []
        isLastRoundOpen = false
        return failed
    }

    /// Adds reads to the open round, or opens one. Returns the context of a newly opened round, whose
    /// heartbeats the caller must send.
    mutating func enqueue(_ reads: [LeaderRead], commitIndex: LogIndex, leader: NodeID) -> UInt64? {
        if isLastRoundOpen {
            rounds[rounds.count - 1].reads += reads
            // The round's heartbeats have not left yet, so a later commit index is still safe to use.
            rounds[rounds.count - 1].readIndex = commitIndex
            return nil
        }
        lastContext += 1
        rounds.append(
            Round(context: lastContext, readIndex: commitIndex, reads: reads, acknowledged: [leader]))
        isLastRoundOpen = true
        return lastContext
    }

    /// A voter echoed `context`: it has heard from this leader after every round up to `context` began.
    /// Moves rounds that now have a quorum of acknowledgements to the confirmed lists.
    mutating func acknowledge(context: UInt64, from voter: NodeID, quorum: Int) {
        guard context > 0 else { return }
        var k = 0
        while k < rounds.count && rounds[k].context <= context {
            rounds[k].acknowledged.insert(voter)
            k += 1
        }
        confirmQuorumRounds(quorum: quorum)
    }

    mutating func confirmQuorumRounds(quorum: Int) {
        // A round confirms every earlier one too: its acknowledgements came after they began.
        guard let last = rounds.lastIndex(where: { $0.acknowledged.count >= quorum }) else { return }
        for round in rounds[...last] {
            for read in round.reads {
                switch read {
                case .local(let id): confirm([id], at: round.readIndex)
                case .remote(let from, let context):
                    confirmedRemote.append((from, context, round.readIndex))
                }
            }
        }
        rounds.removeSubrange(...last)
        if rounds.isEmpty { isLastRoundOpen = false }
    }

    /// Reads confirmed at `index`, to serve once the state machine has applied it (gate 3). A
    /// follower's answers may come back out of order, so this keeps `confirmed` sorted.
    mutating func confirm(_ ids: [ReadRequestID], at index: LogIndex) {
        let position = confirmed.lastIndex(where: { $0.index <= index }).map { $0 + 1 } ?? 0
        confirmed.insert(contentsOf: ids.map { (index, $0) }, at: position)
    }

    /// Followers' confirmed requests, to answer now.
    mutating func takeConfirmedRemote() -> [(to: NodeID, context: UInt64, index: LogIndex)] {
        defer { confirmedRemote = [] }
        return confirmedRemote
    }

    /// Confirmed reads whose index is covered by `applied`.
    mutating func takeServable(applied: LogIndex) -> [ReadRequestID] {
        guard let end = confirmed.firstIndex(where: { $0.index > applied }) else {
            defer { confirmed = [] }
            return confirmed.map(\.id)
        }
        defer { confirmed.removeSubrange(..<end) }
        return confirmed[..<end].map(\.id)
    }

    public static func == (lhs: ReadIndexQueue, rhs: ReadIndexQueue) -> Bool {
        lhs.awaitingTermCommit == rhs.awaitingTermCommit && lhs.rounds == rhs.rounds
            && lhs.isLastRoundOpen == rhs.isLastRoundOpen && lhs.lastContext == rhs.lastContext
            && lhs.confirmed.map(\.index) == rhs.confirmed.map(\.index)
            && lhs.confirmed.map(\.id) == rhs.confirmed.map(\.id)
            && lhs.confirmedRemote.map(\.to) == rhs.confirmedRemote.map(\.to)
            && lhs.confirmedRemote.map(\.context) == rhs.confirmedRemote.map(\.context)
            && lhs.confirmedRemote.map(\.index) == rhs.confirmedRemote.map(\.index)
    }
}
