import KeyValClient

/// A `KeyValClientError` case under a short name, for the summary's "errors by kind" and the JSON.
package enum ErrorKind: String, CaseIterable, Sendable {
    /// `noNodeReachable`: no known node could be reached (refused, reset, or no answer in time).
    case unreachable
    /// `unavailable`: nodes refused with 503 until the operation's `--timeout` and nothing was
    /// applied (no leader, or not forwarded to it): a refusal, safe to retry.
    case unavailable
    /// `unavailable` where a write may have applied: a node proposed it and did not learn its
    /// outcome in time (or a forward to the leader went unanswered). Not a refusal.
    case uncertain
    /// `outcomeUnknown`: the servers expired the client's session while a write was retried.
    case expired
    /// `rejected`: a 4xx answer other than a conflict, e.g. a value over the server's limit.
    case rejected
    /// `unexpectedAnswer`: a 5xx other than 503, or a body the client does not understand.
    case unexpected

    package init(_ error: KeyValClientError) {
        switch error {
        case .noNodeReachable: self = .unreachable
        case .unavailable(_, let mayHaveApplied): self = mayHaveApplied ? .uncertain : .unavailable
        case .outcomeUnknown: self = .expired
        case .rejected: self = .rejected
        case .unexpectedAnswer: self = .unexpected
        }
    }

    /// Its position in `allCases`.
    package var position: Int {
        switch self {
        case .unreachable: 0
        case .unavailable: 1
        case .uncertain: 2
        case .expired: 3
        case .rejected: 4
        case .unexpected: 5
        }
    }
}

/// Errors counted by kind, with the first message of each kind (what a user wants to read when a
/// count is not zero).
package struct ErrorTally: Sendable, Equatable {
    package private(set) var counts = [Int](repeating: 0, count: ErrorKind.allCases.count)
    package private(set) var firstMessages = [String?](repeating: nil, count: ErrorKind.allCases.count)

    package init() {}

    package mutating func record(_ error: KeyValClientError) {
        let position = ErrorKind(error).position
        counts[position] += 1
        if firstMessages[position] == nil { firstMessages[position] = error.description }
    }

    package mutating func add(_ other: ErrorTally) {
        for position in counts.indices {
            counts[position] += other.counts[position]
            if firstMessages[position] == nil { firstMessages[position] = other.firstMessages[position] }
        }
    }

    package subscript(kind: ErrorKind) -> Int { counts[kind.position] }
    package func firstMessage(of kind: ErrorKind) -> String? { firstMessages[kind.position] }
    package var total: Int { counts.reduce(0, +) }
}
