import Linearizability
import RaftCore

/// A client of the simulated store: one operation at a time, a write or a linearizable read on a
/// small set of keys, sent to the node it believes leads.
struct SimulatedClient {
    struct Pending {
        var historyIndex: Int
        var isRead: Bool
        var key: String
        var node: Int
        var sequence: UInt64
    }

    let id: Int
    var leaderHint: Int?
    var pending: Pending?
    var sequence: UInt64 = 0
    /// After healing, each client must get one write committed: the liveness check.
    var hasFinalWriteSucceeded = false
    var isFinalWrite = false
    /// With the real store: the session, the request in flight and what the client has seen.
    var keyValue: KeyValueClientState?

    init(id: Int) { self.id = id }
}

extension SimulatedCluster {
    mutating func scheduleClientWake(_ c: Int) {
        let delay = Int64.random(in: 1...(options.tickInterval * 3), using: &random)
        queue.schedule(.clientWake(c), at: now + delay)
    }

    mutating func clientWake(_ c: Int) {
        if options.machine == .keyValue { return keyValueClientWake(c) }
        guard clients[c].pending == nil else { return }
        if isHealed && clients[c].hasFinalWriteSucceeded { return }
        let isRead = !isHealed && Double.random(in: 0..<1, using: &random) < options.readRatio
        let n =
            isRead ? readTarget(c) : clients[c].leaderHint ?? Int.random(in: 0..<nodes.count, using: &random)
        guard nodes[n].isUp else {
            clients[c].leaderHint = nil
            return scheduleClientWake(c)
        }
        let key = options.keys.randomElement(using: &random)!
        clients[c].sequence += 1
        let sequence = clients[c].sequence
        let historyIndex = history.count
        let id = nodes[n].id

        if isRead {
            let readID = ReadRequestID(nextReadID)
            nextReadID += 1
            do throws(ProposalError) {
                try nodes[n].core!.requestRead(readID)
            } catch {
                switch error {
                case .notLeader(let hint): return redirect(c, hint: hint)
                case .leadershipTransferInProgress: return redirect(c, hint: nil)
                }
            }
            history.append(.unknownOutcome(clientID: c, .get(key: key), invokedAt: nextHistoryTime()))
            nodes[n].pendingReads[readID] = c
        } else {
            let value = "c\(c)-\(sequence)"
            let index: LogIndex
            do throws(ProposalError) {
                index = try nodes[n].core!.propose(SimulatedCommand.put(key: key, value: value))
            } catch {
                switch error {
                case .notLeader(let hint): return redirect(c, hint: hint)
                case .leadershipTransferInProgress: return redirect(c, hint: nil)
                }
            }
            history.append(
                .unknownOutcome(clientID: c, .put(key: key, value: value), invokedAt: nextHistoryTime()))
            nodes[n].pendingWrites[index] = (c, nodes[n].core!.term)
            clients[c].isFinalWrite = isHealed
        }
        trace.record(now, .client(c, isRead ? "read \(key) at \(id)" : "write \(key) at \(id)"))
        // A follower serving a read is no hint for the writes that follow.
        if !isRead || nodes[n].core!.isLeader { clients[c].leaderHint = n }
        clients[c].pending = .init(
            historyIndex: historyIndex, isRead: isRead, key: key, node: n, sequence: sequence)
        queue.schedule(
            .clientTimeout(c, sequence: sequence),
            at: now + Int64(options.clientTimeoutTicks) * options.tickInterval)
        drain(n)
    }

    /// Where a linearizable read goes: often a node picked at random, which serves it itself if it
    /// follows a leader (thesis §6.4), else the node the client believes leads.
    mutating func readTarget(_ c: Int) -> Int {
        if Double.random(in: 0..<1, using: &random) < options.followerReadRatio {
            return Int.random(in: 0..<nodes.count, using: &random)
        }
        return clients[c].leaderHint ?? Int.random(in: 0..<nodes.count, using: &random)
    }

    mutating func redirect(_ c: Int, hint: NodeID?) {
        clients[c].leaderHint = hint.flatMap { indexOf[$0] }
        scheduleClientWake(c)
    }

    mutating func completeWrite(client c: Int, succeeded: Bool) {
        guard let pending = clients[c].pending else { return }
        guard succeeded else { return failOperation(client: c) }
        history[pending.historyIndex]!.output = .put
        history[pending.historyIndex]!.returnedAt = nextHistoryTime()
        stats.operationsOK += 1
        if clients[c].isFinalWrite { clients[c].hasFinalWriteSucceeded = true }
        finish(c)
    }

    mutating func completeRead(client c: Int, value: String?) {
        guard let pending = clients[c].pending else { return }
        history[pending.historyIndex]!.output = .get(value)
        history[pending.historyIndex]!.returnedAt = nextHistoryTime()
        stats.operationsOK += 1
        finish(c)
    }

    /// The operation certainly had no effect (refused, overwritten in the log, or a read that was
    /// not confirmed): it leaves the history.
    mutating func failOperation(client c: Int) {
        if options.machine == .keyValue { return keyValueAttemptLost(client: c, isCertainlyNotApplied: true) }
        guard let pending = clients[c].pending else { return }
        history[pending.historyIndex] = nil
        stats.operationsFailed += 1
        clients[c].leaderHint = nil
        finish(c)
    }

    /// The client stops waiting: a write's outcome is unknown (it stays in the history as such,
    /// thesis §6.3); a read had no effect and leaves the history.
    mutating func abandon(client c: Int) {
        if options.machine == .keyValue {
            return keyValueAttemptLost(client: c, isCertainlyNotApplied: false)
        }
        guard let pending = clients[c].pending else { return }
        if pending.isRead {
            history[pending.historyIndex] = nil
        } else {
            stats.operationsUnknown += 1
        }
        clients[c].leaderHint = nil
        finish(c)
    }

    mutating func clientTimeout(_ c: Int, sequence: UInt64) {
        if options.machine == .keyValue { return keyValueClientTimeout(c, attemptID: sequence) }
        guard let pending = clients[c].pending, pending.sequence == sequence else { return }
        let n = pending.node
        nodes[n].pendingWrites = nodes[n].pendingWrites.filter { $0.value.client != c }
        nodes[n].pendingReads = nodes[n].pendingReads.filter { $0.value != c }
        trace.record(now, .client(c, "timed out"))
        abandon(client: c)
    }

    mutating func finish(_ c: Int) {
        clients[c].pending = nil
        scheduleClientWake(c)
    }

    mutating func nextHistoryTime() -> Int64 {
        historyClock += 1
        return historyClock
    }

    /// A leader that is a voter in its own configuration (not one on its way out after removing
    /// itself), and every client's final write done.
    var hasRecovered: Bool {
        guard let leader, let leaderCore = core(leader), leaderCore.configuration.isVoter(leader) else {
            return false
        }
        return clients.allSatisfy(\.hasFinalWriteSucceeded)
    }

    var livenessSummary: String {
        let waiting = clients.filter { !$0.hasFinalWriteSucceeded }.map { "c\($0.id)" }
        let configuration = leader.flatMap { core($0) }.map { "\($0.configuration)" } ?? "-"
        return
            "leader \(leader?.description ?? "none") with \(configuration), clients still waiting: \(waiting.joined(separator: ","))"
    }

    /// Linearizability of everything the clients saw (Wing & Gong search, per key).
    mutating func checkHistory() {
        let operations = history.compactMap { $0 }
        switch checkLinearizability(KeyValueModel(), history: operations, maxSteps: 2_000_000) {
        case .linearizable:
            break
        case .notLinearizable(let partition, let prefix):
            fail(
                "linearizability: the client history (\(operations.count) operations) is not linearizable (key partition \(partition), stuck after \(prefix) operations)"
            )
        case .unknown:
            fail("linearizability: the checker ran out of budget on \(operations.count) operations")
        }
    }
}
