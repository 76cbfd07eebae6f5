/// The leader's view of one follower's log (Raft §5.3 nextIndex/matchIndex), plus flow control.
public struct Progress: Sendable, Equatable {
    public enum State: Sendable, Equatable {
        /// Unknown match: one AppendEntries at a time until one is accepted.
        case probe(awaitingResponse: Bool)
        /// Known match: appends are pipelined; `inflight` holds the last index of each unacknowledged one.
        case replicate(inflight: [LogIndex])
        /// The follower needs entries that are compacted away: the snapshot at `index` is being sent,
        /// the follower holds its first `offset` bytes, and a chunk is outstanding if `awaitingResponse`.
        case snapshot(index: LogIndex, offset: UInt64, awaitingResponse: Bool)
    }

    /// Highest index known to be replicated on the follower.
    public var match: LogIndex
    /// Next index to send.
    public var next: LogIndex
    public var state: State
    /// Heard from since the leader's last check-quorum pass (§6.2 of the thesis).
    public var recentlyActive: Bool
    /// Leader ticks since this follower last answered (since the leader took over, if never):
    /// tells an operator, and the removal guard, which followers are up.
    public var ticksSinceHeard: Int = 0
    /// Heartbeat rounds answered without any append being acknowledged while appends were in flight:
    /// how the leader notices an append lost on the way.
    public var heartbeatsWithoutAppendProgress: Int

    /// The follower answered.
    mutating func markHeard() {
        recentlyActive = true
        ticksSinceHeard = 0
    }

    public init(next: LogIndex) {
        self.match = .zero
        self.next = next
        self.state = .probe(awaitingResponse: false)
        self.recentlyActive = false
        self.heartbeatsWithoutAppendProgress = 0
    }

    public var isPipelining: Bool {
        if case .replicate = state { return true }
        return false
    }

    public var inflightCount: Int {
        if case .replicate(let inflight) = state { return inflight.count }
        return 0
    }

    /// Something sent to the follower is still unacknowledged.
    public var isAwaitingAcknowledgement: Bool {
        switch state {
        case .probe: false
        case .replicate(let inflight): !inflight.isEmpty
        case .snapshot(_, _, let awaiting): awaiting
        }
    }

    /// Starts probing again from just after the known match.
    public mutating func becomeProbe() {
        state = .probe(awaitingResponse: false)
        next = match.next
        heartbeatsWithoutAppendProgress = 0
    }

    /// The follower accepted an append and now matches through `index`. Returns whether the
    /// match index moved. Stale acknowledgements (below the known match) change nothing.
    public mutating func acknowledge(through index: LogIndex) -> Bool {
        guard index >= match else { return false }
        heartbeatsWithoutAppendProgress = 0
        let moved = index > match
        match = index
        switch state {
        case .probe, .snapshot:
            // The follower's log matches through `index`: from here on, pipeline.
            next = index.next
            state = .replicate(inflight: [])
        case .replicate(var inflight):
            if next <= index { next = index.next }
            inflight.removeAll { $0 <= index }
            state = .replicate(inflight: inflight)
        }
        return moved
    }
}
