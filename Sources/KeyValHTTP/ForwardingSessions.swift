import KeyVal
import Synchronization

/// Client sessions (thesis §6.3) of a forwarding node's own, for writes it forwards that carry
/// none. Stamped, a forwarded write is safe to deliver twice: if the connection to the leader
/// closes after the write went out, it is sent again and the state machine answers the second
/// copy from its session table instead of applying it again.
///
/// A session has one request at a time (the state machine remembers only each session's latest
/// sequence, and refuses older ones), so concurrent forwards lease distinct sessions, each reused
/// with its next sequence once its request is done. The number of sessions is the peak number of
/// unstamped writes forwarded at once; each holds one entry of the state machine's session table.
final class ForwardingSessions: Sendable {
    /// A session and the sequence its next request uses.
    struct Lease: Sendable {
        var clientID: ClientID
        var sequence: UInt64
    }

    private let idle = Mutex<[Lease]>([])

    /// A session no other request is using, new (sequence 1) if none is idle.
    func lease() -> Lease {
        idle.withLock { $0.popLast() } ?? Lease(clientID: .random(), sequence: 1)
    }

    /// A new session, for a write whose leased session had expired on the servers.
    func fresh() -> Lease { Lease(clientID: .random(), sequence: 1) }

    /// The lease's request is done, answered or not: the session is reused with the next sequence.
    func release(_ lease: Lease) {
        var next = lease
        next.sequence += 1
        idle.withLock { $0.append(next) }
    }
}
