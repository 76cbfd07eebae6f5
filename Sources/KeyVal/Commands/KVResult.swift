import RaftCore

/// What applying one command did, as the HTTP layer and the CLI report it.
///
/// A result is a pure function of the store's state and the command, so every replica computes the
/// same one; the leader hands it back to the waiting client. For a client request it is also what
/// the store remembers and repeats when the request is retried.
public enum KVResult: Sendable, Equatable, CustomStringConvertible {
    /// A `set` wrote every key at `version` (the entry's index): `created` keys did not exist
    /// before, `updated` ones did. Counts rather than key lists, because sessions remember results
    /// and must stay small whatever the size of the write. HTTP: `200`; CLI: "Created" / "Updated".
    case set(created: Int, updated: Int, version: LogIndex)
    /// The key existed at `previousVersion` and is gone. HTTP: `200`/`204`; CLI: "Deleted".
    case deleted(previousVersion: LogIndex)
    /// A delete of a key that did not exist; nothing changed. HTTP: `404`; CLI: "Not found".
    case notFound
    /// A compare-and-set succeeded and the key is now at `version`; `created` when it did not exist
    /// before. HTTP: `201`/`200` with `ETag: "<version>"`.
    case written(version: LogIndex, created: Bool)
    /// A compare-and-set's condition did not hold; nothing changed. `currentVersion` is nil when the
    /// key is absent. HTTP: `412`; CLI: "Version conflict (now 42)".
    case conditionFailed(currentVersion: LogIndex?)
    /// The command broke a limit or its entry did not decode; nothing changed. Every replica
    /// rejects it alike, so the log stays usable. HTTP: `400`/`413`.
    case rejected(KVError)
    /// A client request older than the latest one applied for its session: a delayed copy of a
    /// request the client has already had an answer to. Nothing changed and nothing is remembered.
    case staleRequest(lastSequence: UInt64)
    /// The client's session is unknown and the request is not its first (sequence > 1): the
    /// session was evicted, so the store can no longer tell whether this request was applied
    /// (Raft thesis §6.3). Nothing changed. The client should start a new session; if this was a
    /// retry, it must report the outcome of the original request as unknown. HTTP: `409`.
    case sessionExpired

    /// The version a successful write produced, for the `ETag` header; nil for anything else.
    public var writtenVersion: LogIndex? {
        switch self {
        case .set(_, _, let version), .written(let version, _): version
        default: nil
        }
    }

    /// Whether the store changed. Retries of a remembered result report the original outcome.
    public var isWrite: Bool {
        switch self {
        case .set, .deleted, .written: true
        case .notFound, .conditionFailed, .rejected, .staleRequest, .sessionExpired: false
        }
    }

    /// The CLI's wording.
    public var description: String {
        switch self {
        case .set(let created, let updated, _):
            switch (created, updated) {
            case (_, 0): created == 1 ? "Created" : "Created \(created) keys"
            case (0, _): updated == 1 ? "Updated" : "Updated \(updated) keys"
            default: "Created \(created), updated \(updated) keys"
            }
        case .deleted: "Deleted"
        case .notFound: "Not found"
        case .written(_, let created): created ? "Created" : "Updated"
        case .conditionFailed(let current):
            "Version conflict (\(current.map { "now \($0.value)" } ?? "key absent"))"
        case .rejected(let error): "Rejected: \(error)"
        case .staleRequest(let last): "Stale request (session is at sequence \(last))"
        case .sessionExpired: "Session expired"
        }
    }
}
