/// Why a `KeyValSession` operation has no answer. Every case says whether a write may have been
/// applied, so the caller never has to guess.
public enum KeyValClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No known node could be reached (connection refused, reset, or no answer in time). When
    /// `mayHaveApplied`, an earlier attempt of this write reached a node before it went away.
    case noNodeReachable(tried: [ServerAddress], mayHaveApplied: Bool)
    /// Nodes answered, but none could serve the request before the operation's deadline (no
    /// leader, or the cluster could not commit). `message` is the last node's explanation.
    case unavailable(message: String, mayHaveApplied: Bool)
    /// The write's outcome cannot be learned: its session expired on the servers while it was
    /// being retried (Raft thesis §6.3). It may or may not have been applied.
    case outcomeUnknown(String)
    /// The node refused the request as invalid (HTTP 4xx): too large, a bad key, …; nothing was
    /// applied.
    case rejected(status: Int, message: String)
    /// The node answered something this client does not understand (HTTP 5xx other than 503, or a
    /// malformed body). For a write, `mayHaveApplied` unless the answer shows it was not.
    case unexpectedAnswer(status: Int, message: String, mayHaveApplied: Bool)

    /// Whether the request may have changed the store even though it failed.
    public var mayHaveApplied: Bool {
        switch self {
        case .noNodeReachable(_, let applied), .unavailable(_, let applied),
            .unexpectedAnswer(_, _, let applied):
            applied
        case .outcomeUnknown: true
        case .rejected: false
        }
    }

    public var description: String {
        let suffix = mayHaveApplied ? "; the write may or may not have been applied" : ""
        switch self {
        case .noNodeReachable(let tried, _):
            return "no node reachable (tried \(tried.map(\.description).joined(separator: ", ")))" + suffix
        case .unavailable(let message, _):
            return "the cluster is unavailable: \(message)" + suffix
        case .outcomeUnknown(let reason):
            return "outcome unknown: \(reason)"
        case .rejected(_, let message):
            return message
        case .unexpectedAnswer(let status, let message, _):
            return "unexpected answer (HTTP \(status)): \(message)" + suffix
        }
    }
}
