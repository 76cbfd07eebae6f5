/// Stamps a write with its client session so a retry is applied at most once (Raft thesis §6.3).
///
/// A client numbers its requests 1, 2, 3, … and has at most one outstanding at a time; it retries a
/// request with the same sequence number until it gets an answer. The state machine remembers, per
/// client, the highest sequence it applied and that request's result.
public struct ClientRequest: Hashable, Sendable, CustomStringConvertible {
    public var clientID: ClientID
    /// Starts at 1 for a new session and increases with every new request (gaps are allowed).
    public var sequence: UInt64

    public init(clientID: ClientID, sequence: UInt64) {
        self.clientID = clientID
        self.sequence = sequence
    }

    public var description: String { "\(clientID)#\(sequence)" }
}
