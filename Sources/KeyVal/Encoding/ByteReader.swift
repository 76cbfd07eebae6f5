/// Reads what `ByteWriter` writes, treating the input as hostile: every length is checked against
/// its limit and against the bytes actually left before anything is allocated.
struct ByteReader {
    private let bytes: [UInt8]
    private(set) var position: Int
    /// Exclusive; lets the snapshot reader stop before the trailing checksum.
    private let end: Int

    init(_ bytes: [UInt8], end: Int? = nil) {
        self.bytes = bytes
        self.position = 0
        self.end = end ?? bytes.count
    }

    var remaining: Int { end - position }

    mutating func readByte() throws(KVError) -> UInt8 {
        guard position < end else { throw .truncated }
        defer { position += 1 }
        return bytes[position]
    }

    /// Accepts only the minimal encoding of a value that fits in 64 bits, so each number has
    /// exactly one encoding and decoding then re-encoding gives back the same bytes.
    mutating func readVarint() throws(KVError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try readByte()
            let group = UInt64(byte & 0x7F)
            // The tenth byte carries only bit 63.
            if shift == 63 && group > 1 { throw .invalidVarint }
            result |= group << shift
            if byte & 0x80 == 0 {
                // A final zero group after others means the writer padded the number.
                if byte == 0 && shift > 0 { throw .invalidVarint }
                return result
            }
            shift += 7
            if shift > 63 { throw .invalidVarint }
        }
    }

    /// A varint count of items that each take at least `minimumItemBytes`: a count that cannot fit
    /// in what is left is rejected before the caller reserves memory for it.
    mutating func readCount(minimumItemBytes: Int) throws(KVError) -> Int {
        let count = try readVarint()
        guard count <= UInt64(remaining / minimumItemBytes) else { throw .truncated }
        return Int(count)
    }

    /// A length-prefixed UTF-8 string of at most `maxBytes`; a longer claimed length throws
    /// `tooLong(length)` even when the input is also truncated, so the error names the real problem.
    mutating func readString(maxBytes: Int, tooLong: (Int) -> KVError) throws(KVError) -> String {
        let range = try readStringBytes(maxBytes: maxBytes, tooLong: tooLong)
        return try string(in: range)
    }

    /// Like `readString` but returns where the bytes are, so callers can compare keys as bytes
    /// before paying for a `String`.
    mutating func readStringBytes(maxBytes: Int, tooLong: (Int) -> KVError) throws(KVError) -> Range<Int> {
        let length = try readVarint()
        guard length <= UInt64(maxBytes) else { throw tooLong(Int(clamping: length)) }
        guard length <= UInt64(remaining) else { throw .truncated }
        let start = position
        position += Int(length)
        return start..<position
    }

    /// The bytes in `range` as a `String`, if they are valid UTF-8. The bytes are kept as they are
    /// (no normalisation), so a decoded key is byte-for-byte the key that was written.
    func string(in range: Range<Int>) throws(KVError) -> String {
        guard let string = String(validating: bytes[range], as: UTF8.self) else { throw .invalidUTF8 }
        return string
    }

    /// Whether the bytes at `a` sort strictly before those at `b`.
    func bytes(_ a: Range<Int>, precede b: Range<Int>) -> Bool {
        bytes[a].lexicographicallyPrecedes(bytes[b])
    }

    mutating func readUInt128() throws(KVError) -> UInt128 {
        guard remaining >= 16 else { throw .truncated }
        var value: UInt128 = 0
        for offset in position..<position + 16 { value = value << 8 | UInt128(bytes[offset]) }
        position += 16
        return value
    }

    /// Throws unless every byte up to `end` has been read.
    func expectEnd() throws(KVError) {
        if remaining > 0 { throw .trailingBytes(count: remaining) }
    }
}
