import KeyValClient

/// A `KeyValClientError` case under a short name, for the summary's "errors by kind" and the JSON.
package enum ErrorKind: String, CaseIterable, Sendable {
    /// `noNodeReachable`: no known node could be reached (refused, reset, or no answer in time).
    case unreachable
    /// `unavailable`: nodes answered 503 (no leader, or a write's outcome not known) until the
    /// operation's `--timeout`.
    case unavailable
    /// `outcomeUnknown`: the servers expired the client's session while a write was retried.
    case expired
    /// `rejected`: a 4xx answer other than a conflict, e.g. a value over the server's limit.
    case rejected
    /// `unexpectedAnswer`: a 5xx other than 503, or a body the client does not understand.
    case unexpected

    package init(_ error: KeyValClientError) {
        switch error {
        case .noNodeReachable: self = .unreachable
        case .unavailable: self = .unavailable
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
        case .expired: 2
        case .rejected: 3
        case .unexpected: 4
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
