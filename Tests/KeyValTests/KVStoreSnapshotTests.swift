import KeyVal
import Raft
import Testing

@Suite("KVStore: snapshots")
struct KVStoreSnapshotTests {
    /// A store with keys of several versions, a deleted key, and sessions holding each kind of
    /// remembered result.
    static func populatedStore() -> KVStore {
        var store = KVStore(sessionCapacity: 8)
        _ = store.apply(.set(["a": "1", "b": "", "é": "ü"], client: request(1, 1)), at: i(3))
        _ = store.apply(.set(["b": "2", "c": "3"], client: request(2, 1)), at: i(4))
        _ = store.apply(.delete("c", client: request(3, 1)), at: i(5))
        _ = store.apply(.delete("zz", client: request(4, 1)), at: i(6))
        _ = store.apply(.compareAndSet("d", if: .absent, value: "4", client: request(5, 1)), at: i(7))
        _ = store.apply(.compareAndSet("d", if: .absent, value: "5", client: request(.max, 1)), at: i(8))
        _ = store.apply(.compareAndSet("x", if: .exists, value: "5", client: request(6, 1)), at: i(9))
        // A retry makes client 1 the most recently used session.
        _ = store.apply(.set(["a": "1"], client: request(1, 1)), at: i(10))
        _ = store.apply(Entry(term: Term(2), index: i(12), kind: .noop))
        return store
    }

    @Test("a snapshot round-trips keys, versions, sessions, their recency and the applied index")
    func roundTrip() throws {
        let store = Self.populatedStore()
        var restored = try KVStore(snapshot: store.snapshot())
        #expect(restored == store)
        #expect(restored.appliedIndex == i(12))
        #expect(restored.sessionCapacity == 8)
        #expect(restored.sessionCount == 7)
        #expect(restored.get("b") == KVItem(value: "2", version: i(4)))
        #expect(restored.get("é") == KVItem(value: "ü", version: i(3)))
        #expect(restored.get("c") == nil)
        // Retries after a restore are still answered from memory.
        #expect(
            restored.apply(.compareAndSet("d", if: .absent, value: "5", client: request(.max, 1)), at: i(13))
                == .conditionFailed(currentVersion: i(7)))
        #expect(
            restored.apply(.delete("c", client: request(3, 1)), at: i(14)) == .deleted(previousVersion: i(4)))
        #expect(restored.get("d") == KVItem(value: "4", version: i(7)))
    }

    @Test("an empty store round-trips")
    func emptyRoundTrip() throws {
        let store = KVStore(sessionCapacity: 3)
        #expect(try KVStore(snapshot: store.snapshot()) == store)
    }

    @Test("equal states give identical bytes: a restored store snapshots to the bytes it came from")
    func deterministicBytes() throws {
        var store = KVStore()
        _ = store.apply(
            .set(Dictionary(uniqueKeysWithValues: (0..<500).map { ("k\($0)", "v\($0)") })), at: i(1))
        _ = store.apply(.set(Dictionary(uniqueKeysWithValues: (0..<400).map { ("k\($0)", "w") })), at: i(2))
        let bytes = store.snapshot()
        let restored = try KVStore(snapshot: bytes)
        #expect(restored.snapshot() == bytes)
        #expect(try KVStore(snapshot: restored.snapshot()) == store)
    }

    @Test("keys are written in byte order: shared prefixes, short keys, NUL bytes and non-ASCII")
    func keyOrder() throws {
        // "e" + U+0301 sorts before "f" by bytes but after it as a `String`; restoring checks the
        // order, so a snapshot written in any other order would be rejected.
        let keys = [
            "a", "a\u{0}", "ab", "abcdefgh", "abcdefgh\u{0}", "abcdefghi", "abcdefghijklmnopq",
            "abcdefghijklmnopr", "e\u{301}", "f", "\u{E9}", "z", "\u{7F}", "🔑", "abcdefgh\u{E9}",
        ]
        var store = KVStore()
        for (offset, key) in keys.enumerated() {
            _ = store.apply(.set([key: "v"]), at: i(UInt64(offset + 1)))
        }
        let restored = try KVStore(snapshot: store.snapshot())
        #expect(restored == store)
        #expect(restored.count == keys.count)
    }

    @Test("random keys with long shared prefixes round-trip in byte order")
    func randomKeyOrder() throws {
        var random = SplitMix64(seed: 7)
        let alphabet: [String] = ["a", "b", "\u{0}", "é", "e\u{301}", "€", "🔑", "/registry/pods/"]
        // The model is keyed by bytes, like the store: a `String`-keyed one would merge "é" and
        // "e" + U+0301.
        var model: [[UInt8]: (key: String, value: String)] = [:]
        var store = KVStore()
        for index in 1...2_000 {
            let length = Int.random(in: 1...12, using: &random)
            let key = (0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &random)] }
                .joined()
            model[Array(key.utf8)] = (key, "\(index)")
            _ = store.apply(.set([key: "\(index)"]), at: i(UInt64(index)))
        }
        let restored = try KVStore(snapshot: store.snapshot())
        #expect(restored == store)
        #expect(restored.count == model.count)
        for (key, value) in model.values { #expect(restored.get(key)?.value == value) }
    }

    @Test("the snapshot ends with the standard CRC-32C of its contents")
    func checksumIsStandard() {
        #expect(
            Wire.crc32c(Array("123456789".utf8)) == 0xE306_9283,
            "test oracle matches the published check value")
        let bytes = Self.populatedStore().snapshot()
        #expect(Array(bytes.suffix(4)) == Wire.uint32LittleEndian(Wire.crc32c(bytes.dropLast(4))))
    }

    @Test("every single flipped byte is rejected")
    func flippedBytes() {
        let bytes = Self.populatedStore().snapshot()
        for position in bytes.indices {
            for flip: UInt8 in [0x01, 0x80, 0xFF] {
                var corrupted = bytes
                corrupted[position] ^= flip
                #expect(throws: KVError.self, "byte \(position) ^ \(flip)") {
                    try KVStore(snapshot: corrupted)
                }
            }
        }
    }

    @Test("every truncation is rejected, and so are extra bytes")
    func truncation() {
        let bytes = Self.populatedStore().snapshot()
        for length in 0..<bytes.count {
            #expect(throws: KVError.self, "\(length) bytes") {
                try KVStore(snapshot: Array(bytes[..<length]))
            }
        }
        #expect(throws: KVError.self) { try KVStore(snapshot: bytes + [0]) }
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        var name: String
        var body: [UInt8]
        var error: KVError
        /// Whether to append a correct checksum, so the structural check is what must catch it.
        var isSealed = true
        var testDescription: String { name }

        var bytes: [UInt8] { isSealed ? body + Wire.uint32LittleEndian(Wire.crc32c(body)) : body }
    }

    static let header: [UInt8] = Array("KVSS".utf8) + [1]

    /// applied index, capacity, then items (key, value, version).
    static func body(applied: UInt64 = 9, capacity: UInt64 = 4, items: [(String, UInt64)]) -> [UInt8] {
        header + Wire.varint(applied) + Wire.varint(capacity) + Wire.varint(UInt64(items.count))
            + items.flatMap { Wire.string($0.0) + Wire.string("v") + Wire.varint($0.1) }
    }

    static let bad: [Bad] = [
        Bad(name: "empty input", body: [], error: .truncated, isSealed: false),
        Bad(name: "foreign magic", body: Array("JSON{}{}{}".utf8), error: .notASnapshot, isSealed: false),
        Bad(
            name: "newer format version", body: Array("KVSS".utf8) + [2, 0, 1, 0, 0, 0, 0, 0, 0],
            error: .unsupportedFormatVersion(2), isSealed: false),
        Bad(
            name: "wrong checksum", body: body(items: []) + [0] + [0, 0, 0, 0], error: .checksumMismatch,
            isSealed: false),
        Bad(name: "valid minimal", body: body(items: []) + [0], error: .truncated),  // replaced below
        Bad(
            name: "zero session capacity", body: body(capacity: 0, items: []) + [0],
            error: .inconsistentSnapshot(reason: "session capacity 0")),
        Bad(
            name: "version above the applied index", body: body(items: [("a", 10)]) + [0],
            error: .inconsistentSnapshot(reason: "a at i10, applied i9")),
        Bad(
            name: "version zero", body: body(items: [("a", 0)]) + [0],
            error: .inconsistentSnapshot(reason: "a at i0, applied i9")),
        Bad(name: "keys out of order", body: body(items: [("b", 1), ("a", 1)]) + [0], error: .unsortedKeys),
        Bad(name: "repeated key", body: body(items: [("a", 1), ("a", 2)]) + [0], error: .unsortedKeys),
        Bad(name: "empty key", body: body(items: [("", 1)]) + [0], error: .emptyKey),
        Bad(
            name: "more sessions than the capacity",
            body: body(capacity: 1, items: []) + [2]
                + [UInt8](repeating: 0, count: 15) + [1, 1, 1, 3] + [UInt8](repeating: 0, count: 15) + [
                    2, 1, 2, 3,
                ],
            error: .inconsistentSnapshot(reason: "2 sessions, capacity 1")),
        Bad(
            name: "sessions not in recency order",
            body: body(items: []) + [2]
                + [UInt8](repeating: 0, count: 15) + [1, 1, 5, 3] + [UInt8](repeating: 0, count: 15) + [
                    2, 1, 4, 3,
                ],
            error: .inconsistentSnapshot(reason: "session 00000000000000000000000000000002#1 at i4")),
        Bad(
            name: "unknown remembered result",
            body: body(items: []) + [1] + [UInt8](repeating: 0, count: 15) + [1, 1, 5, 9],
            error: .unknownTag(9)),
        Bad(
            name: "trailing bytes before the checksum", body: body(items: []) + [0, 0],
            error: .trailingBytes(count: 1)),
    ].filter { $0.name != "valid minimal" }

    @Test("malformed snapshots are rejected with the error that names the problem", arguments: bad)
    func rejectsMalformed(_ bad: Bad) {
        #expect(throws: bad.error) { try KVStore(snapshot: bad.bytes) }
    }

    @Test("the hand-built snapshot format matches the library's")
    func handBuiltMatches() throws {
        let built = Self.body(applied: 9, capacity: 4, items: [("a", 1), ("b", 9)]) + [0]
        let sealed = built + Wire.uint32LittleEndian(Wire.crc32c(built))
        let store = try KVStore(snapshot: sealed)
        #expect(store.get("b") == KVItem(value: "v", version: i(9)))
        #expect(store.snapshot() == sealed)
    }
}
