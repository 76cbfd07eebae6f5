import KeyVal
import Raft
import Testing

@Suite("KVStore: applying commands")
struct KVStoreTests {
    @Test("a multi-key set writes every key at the entry's index and reports created and updated keys")
    func multiKeySet() {
        var store = KVStore()
        #expect(
            store.apply(.set(["b": "1", "a": "1"]), at: i(1)) == .set(created: 2, updated: 0, version: i(1)))
        #expect(
            store.apply(.set(["c": "3", "b": "2", "a": "2"]), at: i(2))
                == .set(created: 1, updated: 2, version: i(2)))
        #expect(store.get("a") == KVItem(value: "2", version: i(2)))
        #expect(store.get("b") == KVItem(value: "2", version: i(2)))
        #expect(store.get("c") == KVItem(value: "3", version: i(2)))
        #expect(store.get("d") == nil)
        #expect(store.count == 3)
        #expect(store.appliedIndex == i(2))
    }

    @Test("a set with one invalid key is rejected whole: no key is written")
    func setIsAtomic() {
        var store = KVStore()
        _ = store.apply(.set(["a": "old"]), at: i(1))
        let tooLong = String(repeating: "k", count: KVCommand.maxKeyBytes + 1)
        #expect(
            store.apply(.set(["a": "new", "b": "new", tooLong: "x"]), at: i(2))
                == .rejected(.keyTooLong(bytes: KVCommand.maxKeyBytes + 1)))
        #expect(store.get("a") == KVItem(value: "old", version: i(1)))
        #expect(store.get("b") == nil)
        #expect(store.appliedIndex == i(2), "a rejected entry is still applied")
    }

    @Test("delete removes a key and reports its last version; deleting it again reports not found")
    func delete() {
        var store = KVStore()
        _ = store.apply(.set(["a": "1", "b": "1"]), at: i(4))
        #expect(store.apply(.delete("a"), at: i(5)) == .deleted(previousVersion: i(4)))
        #expect(store.get("a") == nil)
        #expect(store.apply(.delete("a"), at: i(6)) == .notFound)
        #expect(store.count == 1)
    }

    @Test("a key recreated after a delete starts from the new entry's version")
    func recreate() {
        var store = KVStore()
        _ = store.apply(.set(["a": "1"]), at: i(1))
        _ = store.apply(.delete("a"), at: i(2))
        #expect(store.apply(.set(["a": "2"]), at: i(3)) == .set(created: 1, updated: 0, version: i(3)))
        #expect(
            store.apply(.compareAndSet("a", if: .versionEquals(i(1)), value: "x"), at: i(4))
                == .conditionFailed(currentVersion: i(3)))
    }

    @Test("compare-and-set writes only when the key is at the expected version")
    func compareAndSetVersion() {
        var store = KVStore()
        _ = store.apply(.set(["k": "v1"]), at: i(10))
        #expect(
            store.apply(.compareAndSet("k", if: .versionEquals(i(9)), value: "lost"), at: i(11))
                == .conditionFailed(currentVersion: i(10)))
        #expect(store.get("k") == KVItem(value: "v1", version: i(10)))
        #expect(
            store.apply(.compareAndSet("k", if: .versionEquals(i(10)), value: "v2"), at: i(12))
                == .written(version: i(12), created: false))
        #expect(store.get("k") == KVItem(value: "v2", version: i(12)))
        #expect(
            store.apply(.compareAndSet("missing", if: .versionEquals(i(12)), value: "x"), at: i(13))
                == .conditionFailed(currentVersion: nil))
        #expect(store.get("missing") == nil)
    }

    @Test("compare-and-set against a version no log can reach fails instead of trapping")
    func compareAndSetHugeVersion() {
        var store = KVStore()
        _ = store.apply(.set(["k": "v"]), at: i(1))
        let result = store.apply(.compareAndSet("k", if: .versionEquals(i(.max)), value: "x"), at: i(2))
        #expect(result == .conditionFailed(currentVersion: i(1)))
    }

    @Test("compare-and-set if absent creates a key but never overwrites one")
    func compareAndSetAbsent() {
        var store = KVStore()
        #expect(
            store.apply(.compareAndSet("k", if: .absent, value: "first"), at: i(1))
                == .written(version: i(1), created: true))
        #expect(
            store.apply(.compareAndSet("k", if: .absent, value: "second"), at: i(2))
                == .conditionFailed(currentVersion: i(1)))
        #expect(store.get("k") == KVItem(value: "first", version: i(1)))
    }

    @Test("compare-and-set if exists updates a key but never creates one")
    func compareAndSetExists() {
        var store = KVStore()
        #expect(
            store.apply(.compareAndSet("k", if: .exists, value: "x"), at: i(1))
                == .conditionFailed(currentVersion: nil))
        #expect(store.get("k") == nil)
        _ = store.apply(.set(["k": "1"]), at: i(2))
        #expect(
            store.apply(.compareAndSet("k", if: .exists, value: "2"), at: i(3))
                == .written(version: i(3), created: false))
        #expect(store.get("k")?.value == "2")
    }

    @Test("keys are matched by their exact UTF-8 bytes, not by Unicode equivalence")
    func byteExactKeys() {
        var store = KVStore()
        let composed = "caf\u{E9}"
        let decomposed = "cafe\u{301}"
        #expect(composed == decomposed, "precondition: Swift considers them equal")
        _ = store.apply(.set([composed: "1"]), at: i(1))
        #expect(store.get(decomposed) == nil)
        #expect(store.apply(.set([decomposed: "2"]), at: i(2)) == .set(created: 1, updated: 0, version: i(2)))
        #expect(store.count == 2)
        #expect(store.get(composed)?.value == "1")
        #expect(store.get(decomposed)?.value == "2")
    }

    @Test("committed entries: commands decode and apply, no-ops only advance, undecodable ones are rejected")
    func applyEntries() {
        var store = KVStore()
        #expect(store.apply(Entry(term: Term(1), index: i(1), kind: .noop)) == nil)
        #expect(store.appliedIndex == i(1))
        let set = Entry(term: Term(1), index: i(2), data: KVCommand.set(["a": "1"]).encode())
        #expect(store.apply(set) == .set(created: 1, updated: 0, version: i(2)))
        #expect(
            store.apply(Entry(term: Term(1), index: i(3), data: [1, 0, 99])) == .rejected(.unknownTag(99)))
        #expect(store.apply(Entry(term: Term(2), index: i(4), data: [])) == .rejected(.truncated))
        #expect(store.appliedIndex == i(4))
        #expect(store.count == 1)
    }

    @Test("applying an index that is not above the applied index is a bug and traps")
    func indexesMustIncrease() async {
        await #expect(processExitsWith: .failure) {
            var store = KVStore()
            _ = store.apply(.delete("a"), at: LogIndex(2))
            _ = store.apply(.delete("a"), at: LogIndex(2))
        }
    }

    struct Wording: Sendable, CustomTestStringConvertible {
        var result: KVResult
        var text: String
        var testDescription: String { text }
    }

    @Test(
        "results describe themselves in the CLI's words",
        arguments: [
            Wording(result: .set(created: 1, updated: 0, version: i(1)), text: "Created"),
            Wording(result: .set(created: 0, updated: 1, version: i(1)), text: "Updated"),
            Wording(result: .set(created: 2, updated: 0, version: i(1)), text: "Created 2 keys"),
            Wording(result: .set(created: 0, updated: 2, version: i(1)), text: "Updated 2 keys"),
            Wording(result: .set(created: 1, updated: 2, version: i(1)), text: "Created 1, updated 2 keys"),
            Wording(result: .deleted(previousVersion: i(3)), text: "Deleted"),
            Wording(result: .notFound, text: "Not found"),
            Wording(result: .written(version: i(7), created: true), text: "Created"),
            Wording(result: .written(version: i(7), created: false), text: "Updated"),
            Wording(result: .conditionFailed(currentVersion: i(42)), text: "Version conflict (now 42)"),
            Wording(result: .conditionFailed(currentVersion: nil), text: "Version conflict (key absent)"),
            Wording(result: .rejected(.emptyKey), text: "Rejected: key is empty"),
            Wording(result: .staleRequest(lastSequence: 5), text: "Stale request (session is at sequence 5)"),
            Wording(result: .sessionExpired, text: "Session expired"),
        ])
    func wording(_ wording: Wording) {
        #expect(wording.result.description == wording.text)
    }

    @Test("written version and isWrite tell the HTTP layer what to report")
    func resultAccessors() {
        #expect(KVResult.set(created: 1, updated: 0, version: i(3)).writtenVersion == i(3))
        #expect(KVResult.written(version: i(4), created: true).writtenVersion == i(4))
        #expect(KVResult.deleted(previousVersion: i(4)).writtenVersion == nil)
        #expect(KVResult.deleted(previousVersion: i(4)).isWrite)
        #expect(!KVResult.conditionFailed(currentVersion: i(4)).isWrite)
        #expect(!KVResult.notFound.isWrite)
    }
}
