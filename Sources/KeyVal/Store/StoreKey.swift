/// A key compared, hashed and ordered by its UTF-8 bytes rather than by Swift's `String` rules.
///
/// `String` equality is Unicode canonical equivalence ("é" as one scalar equals "e" + U+0301), and
/// which strings are equivalent depends on the Unicode tables of the standard library a replica was
/// built with. A replicated state machine must not depend on that, so keys are byte strings, as
/// in hraftd (Go strings are bytes). Byte order also gives snapshots and `set` encodings one
/// canonical key order that is cheap to check.
struct StoreKey: Hashable, Comparable, Sendable {
    let string: String

    init(_ string: String) {
        var string = string
        // Bridged or lazily-built strings are copied once into native UTF-8 storage, so hashing and
        // comparison below always take the contiguous fast path.
        string.makeContiguousUTF8()
        self.string = string
    }

    static func == (lhs: StoreKey, rhs: StoreKey) -> Bool {
        lhs.withUTF8 { a in rhs.withUTF8 { b in a.count == b.count && a.elementsEqual(b) } }
    }

    static func < (lhs: StoreKey, rhs: StoreKey) -> Bool {
        lhs.withUTF8 { a in rhs.withUTF8 { b in a.lexicographicallyPrecedes(b) } }
    }

    func hash(into hasher: inout Hasher) {
        withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// Calls `body` with the key's UTF-8 bytes without copying them.
    func withUTF8<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let result = string.utf8.withContiguousStorageIfAvailable(body) { return result }
        // Unreachable after `makeContiguousUTF8()`; kept so a change there cannot crash.
        return Array(string.utf8).withUnsafeBufferPointer(body)
    }
}
