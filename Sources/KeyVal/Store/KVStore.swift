import RaftCore

/// The replicated key-value state machine: a map from key to versioned value, plus the client
/// sessions that make retried writes idempotent.
///
/// Pure and deterministic: the result of `apply` depends only on the current state and the
/// command, so every replica that applies the same log reaches the same state and returns the same
/// results. It never sees terms or votes; the node applies committed entries in index order
/// (`apply(_:)`) and takes `snapshot()`s to compact the log.
public struct KVStore: Sendable, Equatable {
    /// A session costs about 100 bytes of state and snapshot, so this is about 1 MB, yet far more
    /// clients than a small cluster serves at once: a client loses its session only after 10 000
    /// others have written since it last did.
    public static let defaultSessionCapacity = 10_000

    /// The index of the last entry applied (or skipped, for entries without a command).
    // Invariant: every item's version and every session's lastUsed is <= appliedIndex.
    public internal(set) var appliedIndex: LogIndex = .zero
    /// In key-byte order, and shared with copies: a snapshot is a copy taken in O(1), encoded off
    /// the node's loop while this one goes on changing (`OrderedMap`).
    var items = OrderedMap<StoreKey, KVItem>()
    var sessions: ClientSessions

    /// `sessionCapacity` is part of the replicated state: all replicas must start with the same
    /// value, or they would evict different sessions. A restored snapshot carries its own.
    public init(sessionCapacity: Int = defaultSessionCapacity) {
        sessions = ClientSessions(capacity: sessionCapacity)
    }

    /// Number of keys.
    public var count: Int { items.count }

    /// Maximum number of client sessions remembered.
    public var sessionCapacity: Int { sessions.capacity }

    /// Number of client sessions currently remembered.
    public var sessionCount: Int { sessions.count }

    /// The key's value and version, or nil if it does not exist. Keys are matched by their exact
    /// UTF-8 bytes (see `StoreKey`).
    public func get(_ key: String) -> KVItem? { items[StoreKey(key)] }

    /// The highest sequence number applied for `client`, or nil if it has no session (never had
    /// one, or it was evicted).
    public func lastSequence(of client: ClientID) -> UInt64? { sessions.sessions[client]?.lastSequence }

    /// Applies a committed log entry: decodes a command entry and applies it at the entry's index.
    /// Entries without a command (a new leader's no-op) only advance `appliedIndex`, and return nil.
    /// An entry that does not decode is rejected, not fatal: its bytes are the same on every
    /// replica, so they all reject it and stay in step.
    ///
    /// The caller MUST pass every committed entry in index order, each exactly once.
    public mutating func apply(_ entry: Entry) -> KVResult? {
        guard entry.kind == .command else {
            advanceAppliedIndex(to: entry.index)
            return nil
        }
        do {
            return apply(try KVCommand.decode(entry.data), at: entry.index)
        } catch {
            advanceAppliedIndex(to: entry.index)
            return .rejected(error)
        }
    }

    /// Applies `command` as the entry at `index`, which must be above `appliedIndex`.
    ///
    /// Every key a command writes gets `index` as its new version. A client request is applied at
    /// most once: a retry gets the remembered result and changes nothing (Raft thesis §6.3).
    public mutating func apply(_ command: KVCommand, at index: LogIndex) -> KVResult {
        advanceAppliedIndex(to: index)
        do {
            try command.validate()
        } catch {
            return .rejected(error)
        }
        guard let request = command.client else { return execute(command.operation, at: index) }
        switch sessions.lookup(request) {
        case .apply:
            let result = execute(command.operation, at: index)
            sessions.record(request, result: result, at: index)
            return result
        case .duplicate(let result):
            sessions.touch(request.clientID, at: index)
            return result
        case .stale(let lastSequence):
            sessions.touch(request.clientID, at: index)
            return .staleRequest(lastSequence: lastSequence)
        case .expired:
            return .sessionExpired
        }
    }

    private mutating func advanceAppliedIndex(to index: LogIndex) {
        precondition(
            index > appliedIndex, "KVStore applied \(index) after \(appliedIndex); indexes must increase")
        appliedIndex = index
    }

    /// Carries out a validated operation. Everything that can fail was checked before the first
    /// write, so a multi-key `set` is all-or-nothing.
    private mutating func execute(_ operation: KVOperation, at index: LogIndex) -> KVResult {
        switch operation {
        case .set(let pairs):
            // Dictionary order differs between replicas, but the counts and the final state do not.
            var created = 0
            for (key, value) in pairs {
                let previous = items.updateValue(KVItem(value: value, version: index), forKey: StoreKey(key))
                if previous == nil { created += 1 }
            }
            return .set(created: created, updated: pairs.count - created, version: index)
        case .delete(let key):
            guard let removed = items.removeValue(forKey: StoreKey(key)) else { return .notFound }
            return .deleted(previousVersion: removed.version)
        case .compareAndSet(let key, let condition, let value):
            let key = StoreKey(key)
            let current = items[key]?.version
            let holds =
                switch condition {
                // Raw values: `expected` is client input, and `LogIndex ==` traps above Int.max.
                case .versionEquals(let expected): current?.value == expected.value
                case .absent: current == nil
                case .exists: current != nil
                }
            guard holds else { return .conditionFailed(currentVersion: current) }
            items.updateValue(KVItem(value: value, version: index), forKey: key)
            return .written(version: index, created: current == nil)
        }
    }
}
