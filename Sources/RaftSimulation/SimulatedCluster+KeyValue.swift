import KeyVal
import Linearizability
import RaftCore

/// One key-value client: its session, the request in flight, and what it has seen.
struct KeyValueClientState {
    var clientID: ClientID
    var session = 0
    var lastSequence: UInt64 = 0
    /// What this client last saw of each key (from reads and its own writes), for compare-and-set.
    var known: [String: KVItem] = [:]
    var pending: KeyValuePending?
    /// Numbers attempts, so a timeout meant for an earlier attempt is ignored.
    var attemptID: UInt64 = 0
}

enum KeyValuePending {
    case read(key: String, historyIndex: Int, node: Int, attemptID: UInt64)
    case write(KeyValueWrite)
}

/// One client request and its attempts.
struct KeyValueWrite {
    var command: KVCommand
    var bytes: [UInt8]
    /// One model operation per key the command writes.
    var inputs: [KeyValueStoreModel.Input]
    /// Where `inputs` went in the history, once the first attempt entered a log.
    var historyIndices: [Int] = []
    var attempts = 0
    /// Some attempt may have applied (it timed out, its node crashed, its answer was lost).
    var mayHaveApplied = false
    /// The node the current attempt waits on; nil between attempts.
    var node: Int?

    var request: ClientRequest { command.client! }
}

/// The reference: the entries in the order they were first applied, applied to a `KVStore` of
/// their own, with checkpoints to rebuild the state at any index cheaply.
struct KeyValueReference {
    static let checkpointEvery = 16

    var store: KVStore
    /// The state after index `k * checkpointEvery`.
    var checkpoints: [KVStore]
    /// The result at each index (index - 1).
    var results: [KVResult?] = []
    /// The first index at which each client request executed, and what it returned.
    var firstApplications: [ClientRequest: (index: LogIndex, result: KVResult)] = [:]

    init(sessionCapacity: Int) {
        store = KVStore(sessionCapacity: sessionCapacity)
        checkpoints = [store]
    }
}

/// The real key-value state machine in the simulation (`SimulationOptions.machine == .keyValue`):
/// every node applies `KVCommand`s through `KVStore.apply(_:)`, snapshots with
/// `KVStore.snapshot()` and restores with `KVStore(snapshot:)`; clients stamp their writes with a
/// session (client id and sequence) and retry them, with the same stamp, after timeouts, crashes,
/// lost leaderships and lost answers, as `KeyValSession` does.
///
/// On top of the Raft checks, this checks:
/// - every node's result at an index equals the first one's (the store is deterministic);
/// - at most once: a request applied at one index and proposed again (a retry) is answered from
///   its session with the first result, or `staleRequest`/`sessionExpired`, never applied anew;
/// - a client's answer is the result of its request's first application;
/// - a snapshot is byte for byte the store built from the entries applied through its index;
/// - the whole history (sets, multi-key sets, deletes, compare-and-sets, reads) is linearizable
///   against `KeyValueStoreModel`.
extension SimulatedCluster {
    /// Applies a committed entry to a node's store; with `ignoreClientSessions`, without its
    /// stamp, so retries apply again (the negative control).
    static func apply(_ entry: Entry, to store: inout KVStore, fault: KeyValueFault?) -> KVResult? {
        guard fault == .ignoreClientSessions, entry.kind == .command,
            var command = try? KVCommand.decode(entry.data)
        else { return store.apply(entry) }
        command.client = nil
        return store.apply(command, at: entry.index)
    }

    /// A fresh store, or the one a snapshot holds.
    mutating func restoredStore(from snapshot: Snapshot?, at n: Int) -> KVStore {
        guard let snapshot else { return KVStore(sessionCapacity: options.sessionCapacity) }
        do {
            return try KVStore(snapshot: snapshot.data)
        } catch {
            fail("\(nodes[n].id): its snapshot at \(snapshot.metadata.index) does not restore: \(error)")
            return KVStore(sessionCapacity: options.sessionCapacity)
        }
    }

    /// Applies one entry at a node and holds its result to the reference's.
    mutating func applyKeyValue(_ entry: Entry, at n: Int) -> KVResult? {
        let result = Self.apply(entry, to: &nodes[n].store, fault: options.keyValueFault)
        let k = Int(entry.index.value) - 1
        if k < reference.results.count, reference.results[k] != result {
            fail(
                "state machine safety: \(nodes[n].id)'s store answered \(result.map { "\($0)" } ?? "nothing") at \(entry.index), the first node's \(reference.results[k].map { "\($0)" } ?? "nothing")"
            )
        }
        return result
    }

    /// The first application of an index anywhere: advances the reference and checks at most once.
    mutating func recordKeyValueReference(_ entry: Entry) {
        let result = Self.apply(entry, to: &reference.store, fault: options.keyValueFault)
        reference.results.append(result)
        if entry.index.value % UInt64(KeyValueReference.checkpointEvery) == 0 {
            reference.checkpoints.append(reference.store)
        }
        guard options.checksAtMostOnce, let result, entry.kind == .command,
            let request = try? KVCommand.decode(entry.data).client
        else { return }
        if let first = reference.firstApplications[request] {
            switch result {
            case first.result:
                stats.retriesDeduplicated += 1
            case .staleRequest, .sessionExpired:
                break
            default:
                fail(
                    "at-most-once: \(request) applied again at \(entry.index) (\(detail(result))); it first applied at \(first.index) (\(detail(first.result)))"
                )
            }
        } else if result.hasExecuted {
            reference.firstApplications[request] = (entry.index, result)
        } else if case .rejected = result {
            fail("\(request) was rejected at \(entry.index): \(result)")
        }
    }

    /// The state through `index` of the entries as first applied, from the nearest checkpoint.
    func referenceStore(at index: LogIndex) -> KVStore {
        let every = KeyValueReference.checkpointEvery
        let checkpoint = Int(index.value) / every
        var store = reference.checkpoints[checkpoint]
        for entry in appliedEntries[(checkpoint * every)..<Int(index.value)] {
            _ = Self.apply(entry, to: &store, fault: options.keyValueFault)
        }
        return store
    }

    // MARK: Clients

    mutating func keyValueClientWake(_ c: Int) {
        if clients[c].keyValue == nil {
            clients[c].keyValue = KeyValueClientState(clientID: freshClientID())
            stats.sessionsStarted += 1
        }
        switch clients[c].keyValue!.pending {
        case .read: return
        case .write(let write) where write.node != nil: return
        case .write: return sendAttempt(c)
        case nil: break
        }
        if isHealed && clients[c].hasFinalWriteSucceeded { return }
        let key = options.keys.randomElement(using: &random)!
        if !isHealed && Double.random(in: 0..<1, using: &random) < options.readRatio {
            return sendRead(c, key: key)
        }
        if Double.random(in: 0..<1, using: &random) < options.newSessionRate { startSession(c) }
        clients[c].keyValue!.lastSequence += 1
        let state = clients[c].keyValue!
        let stamp = ClientRequest(clientID: state.clientID, sequence: state.lastSequence)
        let value = "c\(c).\(state.session).\(state.lastSequence)"
        let command: KVCommand
        var inputs: [KeyValueStoreModel.Input]
        let choice = isHealed ? 0 : Double.random(in: 0..<1, using: &random)
        switch choice {
        case ..<0.4:
            command = .set([key: value], client: stamp)
            inputs = [.set(key: key, value: value)]
        case ..<0.5:
            let other = options.keys.filter { $0 != key }.randomElement(using: &random) ?? key
            let keys = Set([key, other]).sorted()
            command = .set(Dictionary(uniqueKeysWithValues: keys.map { ($0, value) }), client: stamp)
            inputs = keys.map { .set(key: $0, value: value) }
        case ..<0.65:
            command = .delete(key, client: stamp)
            inputs = [.delete(key: key)]
        default:
            let (condition, expected) = compareAndSetCondition(c, key: key)
            command = .compareAndSet(key, if: condition, value: value, client: stamp)
            inputs = [.compareAndSet(key: key, condition: expected, value: value)]
        }
        clients[c].keyValue!.pending = .write(
            KeyValueWrite(command: command, bytes: command.encode(), inputs: inputs))
        clients[c].isFinalWrite = isHealed
        sendAttempt(c)
    }

    /// Mostly "still at the version I saw" when the client saw the key; otherwise create-only or
    /// update-only.
    mutating func compareAndSetCondition(_ c: Int, key: String) -> (KVCondition, KeyValueStoreModel.Condition)
    {
        if let item = clients[c].keyValue!.known[key], Double.random(in: 0..<1, using: &random) < 0.7 {
            return (.versionEquals(item.version), .equals(item.value))
        }
        return Bool.random(using: &random) ? (.absent, .absent) : (.exists, .present)
    }

    mutating func freshClientID() -> ClientID {
        ClientID(UInt128(random.next()) << 64 | UInt128(random.next()))
    }

    /// A new client id from sequence 1, as a restarted client process (or `KeyValSession` after
    /// its session expired) starts.
    mutating func startSession(_ c: Int) {
        clients[c].keyValue!.clientID = freshClientID()
        clients[c].keyValue!.session += 1
        clients[c].keyValue!.lastSequence = 0
        stats.sessionsStarted += 1
    }

    mutating func sendRead(_ c: Int, key: String) {
        let n = readTarget(c)
        guard nodes[n].isUp else {
            clients[c].leaderHint = nil
            return scheduleClientWake(c)
        }
        let readID = ReadRequestID(nextReadID)
        nextReadID += 1
        do throws(ProposalError) {
            try nodes[n].core!.requestRead(readID)
        } catch {
            return redirect(c, error)
        }
        let historyIndex = keyValueHistory.count
        keyValueHistory.append(.unknownOutcome(clientID: c, .get(key: key), invokedAt: nextHistoryTime()))
        nodes[n].pendingReads[readID] = c
        // A follower serving a read is no hint for the writes that follow.
        if nodes[n].core!.isLeader { clients[c].leaderHint = n }
        let attemptID = nextAttemptID(c)
        clients[c].keyValue!.pending = .read(
            key: key, historyIndex: historyIndex, node: n, attemptID: attemptID)
        trace.record(now, .client(c, "read \(key) at \(nodes[n].id)"))
        scheduleTimeout(c, attemptID)
        drain(n)
    }

    /// Proposes the pending write, same stamp as every earlier attempt, at the node the client
    /// believes leads.
    mutating func sendAttempt(_ c: Int) {
        guard case .write(var write) = clients[c].keyValue!.pending else { return }
        let n = clients[c].leaderHint ?? Int.random(in: 0..<nodes.count, using: &random)
        guard nodes[n].isUp else {
            clients[c].leaderHint = nil
            return scheduleClientWake(c)
        }
        let index: LogIndex
        do throws(ProposalError) {
            index = try nodes[n].core!.propose(write.bytes)
        } catch {
            return redirect(c, error)
        }
        write.attempts += 1
        if write.attempts > 1 { stats.writeRetries += 1 }
        if write.historyIndices.isEmpty {
            let invokedAt = nextHistoryTime()
            for input in write.inputs {
                write.historyIndices.append(keyValueHistory.count)
                keyValueHistory.append(.unknownOutcome(clientID: c, input, invokedAt: invokedAt))
            }
        }
        write.node = n
        nodes[n].pendingWrites[index] = (c, nodes[n].core!.term)
        clients[c].leaderHint = n
        clients[c].keyValue!.pending = .write(write)
        let attemptID = nextAttemptID(c)
        trace.record(
            now, .client(c, "\(write.command) at \(nodes[n].id) \(index) (attempt \(write.attempts))"))
        scheduleTimeout(c, attemptID)
        drain(n)
    }

    mutating func redirect(_ c: Int, _ error: ProposalError) {
        switch error {
        case .notLeader(let hint): redirect(c, hint: hint)
        case .leadershipTransferInProgress: redirect(c, hint: nil)
        }
    }

    mutating func nextAttemptID(_ c: Int) -> UInt64 {
        clients[c].keyValue!.attemptID += 1
        return clients[c].keyValue!.attemptID
    }

    mutating func scheduleTimeout(_ c: Int, _ attemptID: UInt64) {
        queue.schedule(
            .clientTimeout(c, sequence: attemptID),
            at: now + Int64(options.clientTimeoutTicks) * options.tickInterval)
    }

    /// The pending write's entry applied at the node the client waits on.
    mutating func keyValueWriteApplied(client c: Int, result: KVResult?, entry: Entry, proposedIn term: Term)
    {
        guard case .write(var write) = clients[c].keyValue?.pending, write.node != nil else { return }
        write.node = nil
        guard term == entry.term else {
            // Another term's entry took its index: this attempt never applied anywhere.
            clients[c].keyValue!.pending = .write(write)
            return retryOrGiveUp(c)
        }
        guard let result else {
            return fail("\(write.request)'s entry \(entry.index) applied with no result")
        }
        if isNetworkFaulty && Double.random(in: 0..<1, using: &random) < options.lostAnswerRate {
            stats.answersLost += 1
            write.mayHaveApplied = true
            clients[c].keyValue!.pending = .write(write)
            trace.record(now, .client(c, "answer to \(write.request) lost (\(result))"))
            return retryOrGiveUp(c)
        }
        trace.record(now, .client(c, "\(write.request) answered \(result) from \(entry.index)"))
        switch result {
        case .sessionExpired:
            stats.sessionsExpired += 1
            // Nothing applied here; if no earlier attempt can have applied either, the request had
            // no effect at all.
            if write.mayHaveApplied {
                stats.operationsUnknown += 1
            } else {
                removeFromHistory(write.historyIndices)
                stats.operationsFailed += 1
            }
            startSession(c)
            return finishKeyValue(c)
        case .staleRequest, .rejected:
            return fail("\(write.request) was answered \(result), which its client cannot get")
        default:
            break
        }
        if options.checksAtMostOnce,
            reference.firstApplications[write.request].map({ $0.result != result }) ?? true
        {
            let first = reference.firstApplications[write.request]
            return fail(
                "at-most-once: \(write.request) answered \(detail(result)) at \(entry.index); it first applied at \(first.map { "\($0.index) with \(detail($0.result))" } ?? "no index")"
            )
        }
        guard let outputs = outputs(of: result, for: write) else {
            return fail(
                "\(write.request) (\(write.command)) answered \(result), an answer to another command")
        }
        let returnedAt = nextHistoryTime()
        for (k, output) in zip(write.historyIndices, outputs) {
            keyValueHistory[k]!.output = output
            keyValueHistory[k]!.returnedAt = returnedAt
        }
        learn(from: write, result: result, client: c)
        stats.operationsOK += 1
        if clients[c].isFinalWrite { clients[c].hasFinalWriteSucceeded = true }
        finishKeyValue(c)
    }

    /// The model's outputs for a command's result, one per key; nil if the result cannot answer it.
    func outputs(of result: KVResult, for write: KeyValueWrite) -> [KeyValueStoreModel.Output]? {
        switch (write.command.operation, result) {
        case (.set(let pairs), .set(let created, let updated, _)):
            guard created + updated == pairs.count else { return nil }
            if pairs.count == 1 { return [.set(created: created == 1)] }
            return Array(repeating: .set(created: nil), count: write.inputs.count)
        case (.delete, .deleted): return [.deleted]
        case (.delete, .notFound): return [.notFound]
        case (.compareAndSet, .written(_, let created)): return [.written(created: created)]
        case (.compareAndSet, .conditionFailed(let current)):
            return [.conditionFailed(isPresent: current != nil)]
        default: return nil
        }
    }

    /// What the client now knows of the keys it wrote.
    mutating func learn(from write: KeyValueWrite, result: KVResult, client c: Int) {
        switch (write.command.operation, result) {
        case (.set(let pairs), .set(_, _, let version)):
            for (key, value) in pairs {
                clients[c].keyValue!.known[key] = KVItem(value: value, version: version)
            }
        case (.delete(let key), _):
            clients[c].keyValue!.known[key] = nil
        case (.compareAndSet(let key, _, let value), .written(let version, _)):
            clients[c].keyValue!.known[key] = KVItem(value: value, version: version)
        case (.compareAndSet(let key, _, _), .conditionFailed(nil)):
            clients[c].keyValue!.known[key] = nil
        default:
            break
        }
    }

    /// The current attempt ended without an answer: retry with the same stamp, or give up.
    mutating func retryOrGiveUp(_ c: Int) {
        guard case .write(let write) = clients[c].keyValue!.pending else { return }
        clients[c].leaderHint = nil
        let isFirstWrite = write.request.sequence == 1 && !options.retriesFirstWrites && write.mayHaveApplied
        if isFirstWrite || (!isHealed && write.attempts >= options.maxWriteAttempts) {
            trace.record(now, .client(c, "gives up on \(write.request)"))
            if write.mayHaveApplied {
                stats.operationsUnknown += 1
            } else {
                removeFromHistory(write.historyIndices)
                stats.operationsFailed += 1
            }
            return finishKeyValue(c)
        }
        scheduleClientWake(c)
    }

    /// The operation certainly had no effect: it leaves the history.
    mutating func removeFromHistory(_ indices: [Int]) {
        for k in indices { keyValueHistory[k] = nil }
    }

    mutating func completeKeyValueRead(client c: Int, at n: Int) {
        guard case .read(let key, let historyIndex, _, _) = clients[c].keyValue?.pending else { return }
        let item = nodes[n].store.get(key)
        keyValueHistory[historyIndex]!.output = .value(item?.value)
        keyValueHistory[historyIndex]!.returnedAt = nextHistoryTime()
        clients[c].keyValue!.known[key] = item
        stats.operationsOK += 1
        finishKeyValue(c)
    }

    /// A read that failed or was abandoned had no effect; an attempt at a write that was
    /// abandoned (crash, timeout, a snapshot replaced its entry) may have applied.
    mutating func keyValueAttemptLost(client c: Int, isCertainlyNotApplied: Bool) {
        switch clients[c].keyValue?.pending {
        case .read(_, let historyIndex, _, _):
            removeFromHistory([historyIndex])
            stats.operationsFailed += 1
            clients[c].leaderHint = nil
            finishKeyValue(c)
        case .write(var write) where write.node != nil:
            write.node = nil
            if !isCertainlyNotApplied { write.mayHaveApplied = true }
            clients[c].keyValue!.pending = .write(write)
            retryOrGiveUp(c)
        default:
            break
        }
    }

    mutating func keyValueClientTimeout(_ c: Int, attemptID: UInt64) {
        guard let state = clients[c].keyValue, state.attemptID == attemptID else { return }
        let node: Int?
        switch state.pending {
        case .read(_, _, let n, _): node = n
        case .write(let write): node = write.node
        case nil: node = nil
        }
        guard let n = node else { return }
        nodes[n].pendingWrites = nodes[n].pendingWrites.filter { $0.value.client != c }
        nodes[n].pendingReads = nodes[n].pendingReads.filter { $0.value != c }
        trace.record(now, .client(c, "timed out"))
        keyValueAttemptLost(client: c, isCertainlyNotApplied: false)
    }

    mutating func finishKeyValue(_ c: Int) {
        clients[c].keyValue!.pending = nil
        scheduleClientWake(c)
    }

    /// Linearizability of every operation the key-value clients saw, against the store's model.
    mutating func checkKeyValueHistory() {
        let operations = keyValueHistory.compactMap { $0 }
        switch checkLinearizability(KeyValueStoreModel(), history: operations, maxSteps: 2_000_000) {
        case .linearizable:
            break
        case .notLinearizable(let partition, let prefix):
            fail(
                "linearizability: the key-value history (\(operations.count) operations) is not linearizable (key partition \(partition), stuck after \(prefix) operations)"
            )
        case .unknown:
            fail("linearizability: the checker ran out of budget on \(operations.count) operations")
        }
    }
}

/// A result with the version it wrote, which the CLI wording leaves out.
func detail(_ result: KVResult) -> String {
    result.writtenVersion.map { "\(result), version \($0.value)" } ?? "\(result)"
}

extension KVResult {
    /// The command ran against the store (whether or not it changed anything), so a session
    /// remembers this result for its retries.
    var hasExecuted: Bool {
        switch self {
        case .set, .deleted, .notFound, .written, .conditionFailed: true
        case .rejected, .staleRequest, .sessionExpired: false
        }
    }
}
