import KeyVal
import Raft
import Testing

/// Client sessions (Raft thesis §6.3): a retried write is answered from memory, never re-applied.
@Suite("KVStore: client sessions")
struct KVStoreSessionTests {
    @Test("a retried request returns the remembered result and leaves the state unchanged")
    func duplicateIsNotReapplied() {
        var store = KVStore()
        let first = store.apply(.set(["a": "1"], client: request(1, 1)), at: i(1))
        #expect(first == .set(created: 1, updated: 0, version: i(1)))
        _ = store.apply(.set(["a": "2"]), at: i(2))  // someone else overwrites
        #expect(store.apply(.set(["a": "1"], client: request(1, 1)), at: i(3)) == first)
        #expect(store.get("a") == KVItem(value: "2", version: i(2)))
        #expect(store.count == 1)
        #expect(store.lastSequence(of: ClientID(1)) == 1)
    }

    @Test("a retried compare-and-set repeats its original answer even if the condition now holds")
    func duplicateConditionIsNotReevaluated() {
        var store = KVStore()
        let failed = store.apply(
            .compareAndSet("k", if: .exists, value: "x", client: request(1, 1)), at: i(1))
        #expect(failed == .conditionFailed(currentVersion: nil))
        _ = store.apply(.set(["k": "0"]), at: i(2))
        #expect(
            store.apply(.compareAndSet("k", if: .exists, value: "x", client: request(1, 1)), at: i(3))
                == failed)
        #expect(store.get("k") == KVItem(value: "0", version: i(2)))
    }

    @Test("a request older than the session's latest is reported stale and not applied")
    func staleRequest() {
        var store = KVStore()
        _ = store.apply(.set(["a": "1"], client: request(1, 1)), at: i(1))
        _ = store.apply(.set(["a": "2"], client: request(1, 2)), at: i(2))
        #expect(
            store.apply(.set(["a": "1"], client: request(1, 1)), at: i(3)) == .staleRequest(lastSequence: 2))
        #expect(store.get("a") == KVItem(value: "2", version: i(2)))
        #expect(store.lastSequence(of: ClientID(1)) == 2)
    }

    @Test("newer requests of a session are applied, gaps in sequence numbers allowed")
    func newerRequestsApply() {
        var store = KVStore()
        _ = store.apply(.set(["a": "1"], client: request(1, 1)), at: i(1))
        #expect(store.apply(.delete("a", client: request(1, 5)), at: i(2)) == .deleted(previousVersion: i(1)))
        #expect(store.lastSequence(of: ClientID(1)) == 5)
        #expect(store.apply(.delete("a", client: request(1, 5)), at: i(3)) == .deleted(previousVersion: i(1)))
        #expect(store.apply(.delete("a", client: request(1, 6)), at: i(4)) == .notFound)
    }

    @Test("an unknown client's request after its first is reported as an expired session")
    func unknownSessionExpired() {
        var store = KVStore()
        #expect(store.apply(.set(["a": "1"], client: request(9, 2)), at: i(1)) == .sessionExpired)
        #expect(store.get("a") == nil)
        #expect(store.sessionCount == 0)
    }

    @Test("requests without a client stamp are never deduplicated")
    func unstampedRequests() {
        var store = KVStore()
        #expect(store.apply(.set(["a": "1"]), at: i(1)) == .set(created: 1, updated: 0, version: i(1)))
        #expect(store.apply(.set(["a": "1"]), at: i(2)) == .set(created: 0, updated: 1, version: i(2)))
        #expect(store.sessionCount == 0)
    }

    @Test("rejected commands are not remembered, so the session can move on")
    func rejectedNotRemembered() {
        var store = KVStore()
        #expect(store.apply(.delete("", client: request(1, 1)), at: i(1)) == .rejected(.emptyKey))
        #expect(store.lastSequence(of: ClientID(1)) == nil)
        #expect(store.apply(.delete("a", client: request(1, 1)), at: i(2)) == .notFound)
        #expect(store.lastSequence(of: ClientID(1)) == 1)
    }

    @Test("beyond the capacity, the least recently used session is evicted")
    func leastRecentlyUsedEviction() {
        var store = KVStore(sessionCapacity: 2)
        _ = store.apply(.set(["a": "1"], client: request(1, 1)), at: i(1))
        _ = store.apply(.set(["b": "1"], client: request(2, 1)), at: i(2))
        _ = store.apply(.set(["a": "1"], client: request(1, 1)), at: i(3))  // a retry counts as use
        _ = store.apply(.set(["c": "1"], client: request(3, 1)), at: i(4))
        #expect(store.sessionCount == 2)
        #expect(store.lastSequence(of: ClientID(1)) == 1)
        #expect(store.lastSequence(of: ClientID(2)) == nil)
        #expect(store.lastSequence(of: ClientID(3)) == 1)
        #expect(store.apply(.set(["b": "2"], client: request(2, 2)), at: i(5)) == .sessionExpired)
        #expect(store.get("b") == KVItem(value: "1", version: i(2)))
    }

    @Test(
        "eviction depends only on the log: replicas agree, including one restored from a snapshot midway",
        arguments: [1, 3, 64] as [Int])
    func deterministicEviction(capacity: Int) throws {
        var random = SplitMix64(seed: UInt64(capacity))
        var nextSequence: [UInt128: UInt64] = [:]
        var log: [KVCommand] = []
        for _ in 0..<3_000 {
            let client = UInt128.random(in: 1...100, using: &random)
            let key = "k\(Int.random(in: 0..<20, using: &random))"
            let sequence: UInt64
            switch Int.random(in: 0..<10, using: &random) {
            case 0: sequence = max(1, (nextSequence[client] ?? 1) - 1)  // retry
            case 1: sequence = 1 + UInt64.random(in: 0..<5, using: &random)  // maybe stale, maybe expired
            default:
                sequence = nextSequence[client] ?? 1
                nextSequence[client] = sequence + 1
            }
            let command: KVCommand
            switch Int.random(in: 0..<3, using: &random) {
            case 0: command = .set([key: "\(sequence)"], client: request(client, sequence))
            case 1: command = .delete(key, client: request(client, sequence))
            default:
                let condition = KVCondition.versionEquals(
                    i(UInt64.random(in: 0..<UInt64(log.count + 1), using: &random)))
                command = .compareAndSet(key, if: condition, value: "cas", client: request(client, sequence))
            }
            log.append(command)
        }

        var first = KVStore(sessionCapacity: capacity)
        var second = KVStore(sessionCapacity: capacity)
        var resultsFirst: [KVResult] = []
        var resultsSecond: [KVResult] = []
        for (offset, command) in log.enumerated() {
            resultsFirst.append(first.apply(command, at: i(UInt64(offset + 1))))
        }
        for (offset, command) in log.enumerated() {
            resultsSecond.append(second.apply(command, at: i(UInt64(offset + 1))))
            if offset == log.count / 2 { second = try KVStore(snapshot: second.snapshot()) }
        }
        #expect(resultsFirst == resultsSecond)
        #expect(first == second)
        #expect(first.snapshot() == second.snapshot())
        #expect(first.sessionCount == min(capacity, 100))
        #expect(resultsFirst.contains(.sessionExpired) == (capacity < 100))
    }
}
