/// Appends the primitives of our binary formats: bytes, LEB128 varints and length-prefixed UTF-8.
struct ByteWriter {
    private(set) var bytes: [UInt8] = []

    /// `capacity` is the expected final size, so large snapshots grow their buffer once.
    init(capacity: Int) { bytes.reserveCapacity(capacity) }

    mutating func write(_ byte: UInt8) { bytes.append(byte) }

    /// Unsigned LEB128: 7 bits per byte, low groups first, high bit set on all but the last byte.
    mutating func writeVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    /// A varint byte count followed by the string's UTF-8 bytes.
    mutating func writeString(_ string: String) {
        writeVarint(UInt64(string.utf8.count))
        bytes.append(contentsOf: string.utf8)
    }

    /// Fixed width, big-endian, so identifiers sort the same as bytes and as numbers.
    mutating func writeUInt128(_ value: UInt128) {
        for shift in stride(from: 120, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt128(shift)))
        }
    }

    /// Fixed width, little-endian; used for the trailing checksum.
    mutating func writeUInt32(_ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift)))
        }
    }

    /// Encoded size of `value` as a varint, for sizing buffers and checking limits up front.
    static func varintSize(_ value: UInt64) -> Int {
        // One byte per started group of 7 significant bits; zero still takes one byte.
        max(1, (64 - value.leadingZeroBitCount + 6) / 7)
    }

    /// Encoded size of `writeString(string)`.
    static func stringSize(_ string: String) -> Int {
        let count = string.utf8.count
        return varintSize(UInt64(count)) + count
    }
}
