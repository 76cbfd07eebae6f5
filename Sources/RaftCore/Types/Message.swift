/// A message between two Raft nodes. The term travels on the `Envelope`, so every message is
/// checked against the receiver's term in one place (Raft §5.1).
public enum Message: Sendable, Equatable {
    case requestVote(RequestVote)
    case requestVoteResponse(RequestVoteResponse)
    case appendEntries(AppendEntries)
    case appendEntriesResponse(AppendEntriesResponse)
    case heartbeat(Heartbeat)
    case heartbeatResponse(HeartbeatResponse)
    case installSnapshot(InstallSnapshot)
    case installSnapshotResponse(InstallSnapshotResponse)
    /// From a leader handing over leadership to a follower it has brought up to date: start an
    /// election now, without waiting for a timeout or asking for pre-votes (thesis §3.10).
    case timeoutNow
    /// From a follower (or learner) with linearizable reads to serve: "what is your commit index,
    /// confirmed as leader?" (thesis §6.4, reads served by followers).
    case readIndex(ReadIndexRequest)
    case readIndexResponse(ReadIndexResponse)
}

/// RequestVote RPC (§5.2), or its pre-vote form (thesis §9.6): a pre-vote asks "would you vote for
/// me in the envelope's term?" and changes no state on either side.
public struct RequestVote: Sendable, Equatable {
    public var isPreVote: Bool
    public var lastLogIndex: LogIndex
    public var lastLogTerm: Term
    /// The election was asked for by the leader (`timeoutNow`): voters that still hear from that
    /// leader must not refuse it by the leader lease (thesis §3.10, §9.6).
    public var isLeadershipTransfer: Bool
    public init(
        isPreVote: Bool, lastLogIndex: LogIndex, lastLogTerm: Term, isLeadershipTransfer: Bool = false
    ) {
        self.isPreVote = isPreVote
        self.lastLogIndex = lastLogIndex
        self.lastLogTerm = lastLogTerm
        self.isLeadershipTransfer = isLeadershipTransfer
    }
}

public struct RequestVoteResponse: Sendable, Equatable {
    public var isPreVote: Bool
    public var granted: Bool
    public init(isPreVote: Bool, granted: Bool) {
        self.isPreVote = isPreVote
        self.granted = granted
    }
}

/// AppendEntries RPC (§5.3). With no entries it still probes the follower's log and carries the
/// commit index; plain liveness is the job of `Heartbeat`, which never carries entries.
public struct AppendEntries: Sendable, Equatable {
    public var prevLogIndex: LogIndex
    public var prevLogTerm: Term
    public var entries: [Entry]
    public var leaderCommit: LogIndex
    public init(prevLogIndex: LogIndex, prevLogTerm: Term, entries: [Entry], leaderCommit: LogIndex) {
        self.prevLogIndex = prevLogIndex
        self.prevLogTerm = prevLogTerm
        self.entries = entries
        self.leaderCommit = leaderCommit
    }
}

public struct AppendEntriesResponse: Sendable, Equatable {
    public enum Result: Sendable, Equatable {
        /// The follower's log matches the leader's through `matchIndex`.
        case accepted(matchIndex: LogIndex)
        /// The consistency check failed at `rejectedIndex` (the request's `prevLogIndex`).
        /// `conflictTerm` is the follower's term at that index (nil when its log is shorter) and
        /// `firstIndexOfConflict` the first index it holds with that term (or its last index + 1),
        /// so the leader skips a whole term per round trip (§5.3, "fast backtracking").
        case rejected(rejectedIndex: LogIndex, conflictTerm: Term?, firstIndexOfConflict: LogIndex)
    }
    public var result: Result
    public init(_ result: Result) { self.result = result }
}

/// The leader's periodic "I am alive" (§5.2), also used to confirm leadership for reads: the
/// follower echoes `readContext` (thesis §6.4). `commit` is at most what this follower matches.
public struct Heartbeat: Sendable, Equatable {
    public var commit: LogIndex
    public var readContext: UInt64
    public init(commit: LogIndex, readContext: UInt64) {
        self.commit = commit
        self.readContext = readContext
    }
}

public struct HeartbeatResponse: Sendable, Equatable {
    /// The heartbeat's read context echoed back; 0 means no read round (contexts start at 1), as
    /// in the answer to a stale leader's message.
    public var readContext: UInt64
    public init(readContext: UInt64) { self.readContext = readContext }
}

/// One chunk of the leader's snapshot, for a follower that needs entries the leader has compacted
/// away (Raft §7, Figure 13). Chunks go one at a time, in order; `offset` lets a lost chunk be
/// sent again and a transfer resume where the follower's copy ends.
public struct InstallSnapshot: Sendable, Equatable {
    public var metadata: SnapshotMetadata
    public var totalBytes: UInt64
    public var offset: UInt64
    public var chunk: [UInt8]

    public init(metadata: SnapshotMetadata, totalBytes: UInt64, offset: UInt64, chunk: [UInt8]) {
        self.metadata = metadata
        self.totalBytes = totalBytes
        self.offset = offset
        self.chunk = chunk
    }

    public var isLast: Bool { offset + UInt64(chunk.count) == totalBytes }
}

public struct InstallSnapshotResponse: Sendable, Equatable {
    public enum Result: Sendable, Equatable {
        /// The follower holds the snapshot's first `nextOffset` bytes and wants the rest.
        case receiving(nextOffset: UInt64)
        /// The follower's log now matches the leader's through `matchIndex` (the snapshot was
        /// installed, or it already had everything the snapshot covers).
        case installed(matchIndex: LogIndex)
    }

    /// The snapshot this answers about.
    public var snapshotIndex: LogIndex
    public var result: Result

    public init(snapshotIndex: LogIndex, result: Result) {
        self.snapshotIndex = snapshotIndex
        self.result = result
    }
}

/// A follower's request for a read index on behalf of every read it accepted within one `Ready`
/// (thesis §6.4). `context` is unique per request among every request this node has sent, across
/// restarts too (it starts at a random value), so a stale or duplicated answer matches nothing.
public struct ReadIndexRequest: Sendable, Equatable {
    public var context: UInt64
    public init(context: UInt64) { self.context = context }
}

/// The leader's answer to `ReadIndexRequest`, sent once its three gates passed for the request:
/// `readIndex` is its commit index when the request arrived. nil refuses: the receiver is not (or no
/// longer) a leader that can confirm reads, and the follower fails the reads (the client may retry).
public struct ReadIndexResponse: Sendable, Equatable {
    public var context: UInt64
    public var readIndex: LogIndex?
    public init(context: UInt64, readIndex: LogIndex?) {
        self.context = context
        self.readIndex = readIndex
    }
}

/// A message addressed from one node to another, stamped with the sender's term.
public struct Envelope: Sendable, Equatable, CustomStringConvertible {
    public var from: NodeID
    public var to: NodeID
    public var term: Term
    public var message: Message

    public init(from: NodeID, to: NodeID, term: Term, message: Message) {
        self.from = from
        self.to = to
        self.term = term
        self.message = message
    }

    public var description: String {
        let body: String
        switch message {
        case .requestVote(let m):
            body =
                "\(m.isPreVote ? "prevote" : "vote") last=\(m.lastLogIndex)@\(m.lastLogTerm)\(m.isLeadershipTransfer ? " transfer" : "")"
        case .requestVoteResponse(let m):
            body = "\(m.isPreVote ? "prevote" : "vote") \(m.granted ? "granted" : "rejected")"
        case .appendEntries(let m):
            let range = m.entries.isEmpty ? "probe" : "\(m.entries.first!.index)..\(m.entries.last!.index)"
            body = "append \(range) prev=\(m.prevLogIndex)@\(m.prevLogTerm) commit=\(m.leaderCommit)"
        case .appendEntriesResponse(let m):
            switch m.result {
            case .accepted(let match): body = "append ok match=\(match)"
            case .rejected(let index, let term, let first):
                body = "append reject at \(index) conflict=\(term?.description ?? "-")/\(first)"
            }
        case .heartbeat(let m): body = "heartbeat commit=\(m.commit) ctx=\(m.readContext)"
        case .heartbeatResponse(let m): body = "heartbeat ok ctx=\(m.readContext)"
        case .installSnapshot(let m):
            body =
                "snapshot \(m.metadata.index)@\(m.metadata.term) bytes \(m.offset)+\(m.chunk.count)/\(m.totalBytes)"
        case .installSnapshotResponse(let m):
            switch m.result {
            case .receiving(let next): body = "snapshot \(m.snapshotIndex) next=\(next)"
            case .installed(let match): body = "snapshot \(m.snapshotIndex) installed match=\(match)"
            }
        case .timeoutNow: body = "timeout now"
        case .readIndex(let m): body = "read index? ctx=\(m.context)"
        case .readIndexResponse(let m):
            body = "read index ctx=\(m.context) \(m.readIndex.map { "at \($0)" } ?? "refused")"
        }
        return "\(from) \(term) \(body) → \(to)"
    }
}
