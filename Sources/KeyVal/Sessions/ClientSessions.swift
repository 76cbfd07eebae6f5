import RaftCore

/// Per-client deduplication state (Raft thesis §6.3): for each client, the highest sequence number
/// applied and its result, so a retried write is answered without being applied twice.
///
/// Bounded by `capacity`: when a new session would exceed it, the least recently used session is
/// evicted. "Recent" is measured in log indexes, never wall-clock time, so every replica evicts the
/// same session from the log alone (thesis §6.3.2 makes the same point about session expiry).
struct ClientSessions: Sendable, Equatable {
    struct Session: Sendable, Equatable {
        var lastSequence: UInt64
        /// Repeated verbatim to a retry of `lastSequence`.
        var lastResult: KVResult
        /// Index of the latest command from this client. Unique across sessions, because each log
        /// entry carries at most one client request.
        var lastUsed: LogIndex
    }

    /// How a client request relates to its session.
    enum Lookup: Equatable {
        /// Not seen before: apply it and record the result.
        case apply
        /// The latest request again: answer with its remembered result.
        case duplicate(KVResult)
        /// Older than the latest request.
        case stale(lastSequence: UInt64)
        /// Unknown client whose first request we did not see: its session was evicted.
        case expired
    }

    /// A session's `lastUsed` at the time it was recorded; outdated marks are skipped lazily.
    private struct RecencyMark: Sendable {
        var index: LogIndex
        var client: ClientID
    }

    /// Maximum number of sessions kept; at least 1.
    let capacity: Int
    private(set) var sessions: [ClientID: Session] = [:]
    /// Marks in ascending index order from `recencyStart`; the first live one names the least
    /// recently used session. Appending on every use and skipping outdated marks keeps both use and
    /// eviction amortised O(1) without a linked list.
    // Invariant: every session has exactly one live mark (index == its lastUsed) at or after
    // recencyStart.
    private var recency: [RecencyMark] = []
    private var recencyStart = 0

    init(capacity: Int) {
        precondition(capacity >= 1, "session capacity must be at least 1, got \(capacity)")
        self.capacity = capacity
    }

    static func == (lhs: ClientSessions, rhs: ClientSessions) -> Bool {
        lhs.capacity == rhs.capacity && lhs.sessions == rhs.sessions
    }

    var count: Int { sessions.count }

    func lookup(_ request: ClientRequest) -> Lookup {
        guard let session = sessions[request.clientID] else {
            // Sessions start at sequence 1; a later request from an unknown client means we have
            // forgotten it, and with it whether its retries were applied.
            return request.sequence == 1 ? .apply : .expired
        }
        if request.sequence == session.lastSequence { return .duplicate(session.lastResult) }
        if request.sequence < session.lastSequence { return .stale(lastSequence: session.lastSequence) }
        return .apply
    }

    /// Marks an existing session as used at `index`, e.g. by a retry.
    mutating func touch(_ client: ClientID, at index: LogIndex) {
        guard sessions[client] != nil else { return }
        sessions[client]!.lastUsed = index
        appendMark(index, client)
    }

    /// Remembers `result` as the answer to `request`, applied at `index`, creating the session if
    /// needed and evicting the least recently used one if that exceeds the capacity.
    mutating func record(_ request: ClientRequest, result: KVResult, at index: LogIndex) {
        precondition(result.isRememberable, "\(request) at \(index): \(result) must not be remembered")
        sessions[request.clientID] = Session(
            lastSequence: request.sequence, lastResult: result, lastUsed: index)
        appendMark(index, request.clientID)
        while sessions.count > capacity { evictLeastRecentlyUsed() }
    }

    /// Re-adds a session read from a snapshot; they must come in ascending `lastUsed` order.
    mutating func restore(_ client: ClientID, _ session: Session) {
        precondition(
            recency.last.map { $0.index < session.lastUsed } ?? true, "sessions restored out of order")
        sessions[client] = session
        recency.append(RecencyMark(index: session.lastUsed, client: client))
    }

    /// All sessions, least recently used first: the order `restore` needs.
    func inRecencyOrder() -> [(client: ClientID, session: Session)] {
        var result: [(client: ClientID, session: Session)] = []
        result.reserveCapacity(sessions.count)
        for mark in recency[recencyStart...] {
            if let session = sessions[mark.client], session.lastUsed.value == mark.index.value {
                result.append((mark.client, session))
            }
        }
        return result
    }

    private mutating func appendMark(_ index: LogIndex, _ client: ClientID) {
        precondition(
            recency.last.map { $0.index < index } ?? true, "session use at \(index) went back in time")
        recency.append(RecencyMark(index: index, client: client))
        // Outdated marks pile up when the same clients write repeatedly, and evicted ones before
        // `recencyStart`; drop both once they outnumber the live marks, which keeps the array
        // within about twice the session count at amortised O(1) per use.
        if recency.count > 2 * sessions.count + 16 {
            recency = recency[recencyStart...].filter(isLive)
            recencyStart = 0
        }
    }

    private mutating func evictLeastRecentlyUsed() {
        while recencyStart < recency.count {
            let mark = recency[recencyStart]
            recencyStart += 1
            if isLive(mark) {
                sessions[mark.client] = nil
                return
            }
        }
        preconditionFailure("\(sessions.count) sessions but no live recency mark")
    }

    /// Whether `mark` records its session's latest use. Compares raw values: `LogIndex ==` goes
    /// through `Strideable.distance(to:)`, which traps above `Int.max`.
    private func isLive(_ mark: RecencyMark) -> Bool {
        sessions[mark.client]?.lastUsed.value == mark.index.value
    }
}

extension KVResult {
    /// Results of commands that were applied, which a retry must see again. The others changed
    /// nothing and would come out the same (or be meaningless) on a retry.
    var isRememberable: Bool {
        switch self {
        case .set, .deleted, .notFound, .written, .conditionFailed: true
        case .rejected, .staleRequest, .sessionExpired: false
        }
    }
}
