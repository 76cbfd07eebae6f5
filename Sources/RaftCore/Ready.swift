/// A batch of work the core hands to its driver. Do it in this order:
/// 1. durably write `snapshotToInstall` if present (then drop stored entries it covers, and all of
///    them unless the stored entry at its index has its term: Figure 13, rule 6), then `hardState`
///    and `entriesToAppend` (one sync for all, when `mustSync`); an appended entry replaces any
///    stored entry at its index and every entry after it;
/// 2. only then send `messages` (a node must never speak of state it could forget in a crash),
///    except when `canSendBeforePersisting`: then the messages may go out first, or while step 1
///    is still under way;
/// 3. restore the state machine from `snapshotToInstall` if present, apply `entriesToApply` in
///    order, then answer `readsToServe` from it and fail `readsFailed`;
/// 4. call `RaftCore.advance(_:)` with this value before asking for the next `Ready`.
public struct Ready: Sendable, Equatable {
    public var hardState: HardState?
    public var entriesToAppend: [Entry] = []
    /// A snapshot received from the leader, to store and restore the state machine from.
    public var snapshotToInstall: Snapshot?
    public var messages: [Envelope] = []
    public var entriesToApply: [Entry] = []
    /// Linearizable reads that may now be answered from the state machine, once `entriesToApply`
    /// have been applied (ReadIndex, thesis §6.4).
    public var readsToServe: [ReadRequestID] = []
    /// Reads that can no longer be confirmed here (leadership lost; on a follower: its leader or
    /// term changed, the leader refused, or no answer came within an election timeout). Nothing
    /// was read for them; the client may retry.
    public var readsFailed: [ReadRequestID] = []
    /// Role and leader changes, for logs and metrics.
    public var events: [RaftEvent] = []
    /// The messages may be sent before, or while, `entriesToAppend` are written: this is a
    /// leader's `Ready` that appends entries, changes no term or vote and installs no snapshot. A leader's appends
    /// may overtake its own write (thesis §10.2.1) because it counts itself toward a commit only
    /// once `advance` marks its entries durable; its term and vote were durable before it could
    /// campaign. Votes and a follower's acknowledgements never go before their write.
    public var canSendBeforePersisting = false

    public init() {}

    public var mustSync: Bool { hardState != nil || !entriesToAppend.isEmpty || snapshotToInstall != nil }

    var isEmpty: Bool {
        hardState == nil && entriesToAppend.isEmpty && snapshotToInstall == nil && messages.isEmpty
            && entriesToApply.isEmpty
            && readsToServe.isEmpty && readsFailed.isEmpty && events.isEmpty
    }
}
