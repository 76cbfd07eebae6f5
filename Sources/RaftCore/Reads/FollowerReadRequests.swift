/// A follower's linearizable reads on their way through the leader (thesis §6.4, reads served by
/// followers): the follower asks its leader for a read index, the leader answers once it has
/// confirmed its leadership for the request, and the follower serves each read once it has applied
/// that index (`ReadIndexQueue.confirm(_:at:)`).
///
/// Every read accepted within one `Ready` travels in one request. A request is failed, never left
/// waiting, when the node's term or leader changes or no answer comes within an election timeout.
public struct FollowerReadRequests: Sendable, Equatable {
    struct Request: Sendable, Equatable {
        var context: UInt64
        var leader: NodeID
        var term: Term
        var reads: [ReadRequestID]
        /// Ticks since it was sent; the request fails at `electionTicks`.
        var elapsedTicks = 0
    }

    /// Accepted since the last `Ready`, to go out in one request to `unsentLeader` in `unsentTerm`.
    var unsent: [ReadRequestID] = []
    var unsentLeader: NodeID?
    var unsentTerm = Term(0)
    /// Sent and not yet answered, in order of `context`.
    var inFlight: [Request] = []
    /// The last context used. It starts at a value drawn from the node's seed, so a restarted node
    /// (production seeds each start randomly) cannot take an answer meant for its previous life.
    var lastContext: UInt64

    init(firstContext: UInt64) { lastContext = firstContext }

    var pendingCount: Int { unsent.count + inFlight.reduce(0) { $0 + $1.reads.count } }

    /// Accepts a read for the next request to `leader` in `term`. Reads accepted for another
    /// leader or term that have not left yet are returned, to fail.
    mutating func add(_ id: ReadRequestID, leader: NodeID, term: Term) -> [ReadRequestID] {
        var failed: [ReadRequestID] = []
        if !unsent.isEmpty && (unsentLeader != leader || unsentTerm != term) {
            failed = unsent
            unsent = []
        }
        unsent.append(id)
        unsentLeader = leader
        unsentTerm = term
        return failed
    }

    /// Fails every request (and unsent read) not meant for `leader` in `term`: answers to them, if
    /// any come, would be from a leader this node no longer follows.
    mutating func failUnless(leader: NodeID?, term: Term) -> [ReadRequestID] {
        var failed: [ReadRequestID] = []
        if !unsent.isEmpty && (unsentLeader != leader || unsentTerm != term) {
            failed += unsent
            unsent = []
        }
        let (keep, drop) = (
            inFlight.filter { $0.leader == leader && $0.term == term },
            inFlight.filter { $0.leader != leader || $0.term != term }
        )
        inFlight = keep
        failed += drop.flatMap(\.reads)
        return failed
    }

    /// Turns the unsent reads into one request; returns it for the caller to send.
    mutating func takeRequest() -> Request? {
        guard !unsent.isEmpty, let leader = unsentLeader else { return nil }
        lastContext &+= 1
        let request = Request(context: lastContext, leader: leader, term: unsentTerm, reads: unsent)
        unsent = []
        inFlight.append(request)
        return request
    }

    /// The request an answer from `leader` in `term` refers to, removed; nil for a stale or
    /// duplicated answer.
    mutating func takeAnswered(context: UInt64, from leader: NodeID, term: Term) -> Request? {
        guard
            let k = inFlight.firstIndex(where: {
                $0.context == context && $0.leader == leader && $0.term == term
            })
        else { return nil }
        return inFlight.remove(at: k)
    }

    /// Counts a tick; returns the reads of requests unanswered for `timeout` ticks.
    mutating func tick(timeout: Int) -> [ReadRequestID] {
        for k in inFlight.indices { inFlight[k].elapsedTicks += 1 }
        let expired = inFlight.filter { $0.elapsedTicks >= timeout }
        inFlight.removeAll { $0.elapsedTicks >= timeout }
        return expired.flatMap(\.reads)
    }
}
