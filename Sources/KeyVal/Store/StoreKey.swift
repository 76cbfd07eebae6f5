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

extension StoreKey {
    /// The positions of `keys` in ascending byte order: `ascendingOrder(keys).map { keys[$0] }`
    /// is sorted.
    ///
    /// Sorting `StoreKey`s directly is slow at snapshot sizes: every comparison chases two string
    /// pointers into cold memory. Instead the bytes are copied once into one buffer, and compact
    /// records (first 8 bytes as a big-endian integer, then where the rest is) are sorted; most
    /// comparisons are a single integer compare. NOTE: measured on 1M keys on the 2-core VM, about
    /// 0.4 s instead of 4 s.
    static func ascendingOrder(_ keys: some Collection<StoreKey>) -> [Int] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(keys.reduce(0) { $0 + $1.string.utf8.count })
        var records: [KeyRecord] = []
        records.reserveCapacity(keys.count)
        for (position, key) in keys.enumerated() {
            let start = bytes.count
            bytes.append(contentsOf: key.string.utf8)
            var prefix: UInt64 = 0
            for offset in start..<start + 8 {
                prefix = prefix << 8 | UInt64(offset < bytes.count ? bytes[offset] : 0)
            }
            records.append(
                KeyRecord(prefix: prefix, start: start, count: bytes.count - start, position: position))
        }
        bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }  // no bytes: all keys empty, or none
            records.sort { a, b in
                if a.prefix != b.prefix { return a.prefix < b.prefix }
                // Equal prefixes: the first min(8, shorter length) bytes are equal (zero padding
                // only ever stands beyond the shorter key's end).
                let common = min(a.count, b.count)
                var offset = min(8, common)
                let x = base + a.start
                let y = base + b.start
                while offset + 8 <= common {
                    let p = UInt64(bigEndian: x.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                    let q = UInt64(bigEndian: y.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                    if p != q { return p < q }
                    offset += 8
                }
                while offset < common {
                    let p = x.load(fromByteOffset: offset, as: UInt8.self)
                    let q = y.load(fromByteOffset: offset, as: UInt8.self)
                    if p != q { return p < q }
                    offset += 1
                }
                return a.count < b.count
            }
        }
        return records.map(\.position)
    }
}

/// One key in `StoreKey.ascendingOrder`: its first 8 bytes (zero-padded) and where all of them are.
private struct KeyRecord {
    var prefix: UInt64
    var start: Int
    var count: Int
    /// Index of the key in the caller's collection.
    var position: Int
}
