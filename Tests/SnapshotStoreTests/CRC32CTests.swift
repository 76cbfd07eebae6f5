import Raft
import Testing

@Suite("CRC-32C")
struct CRC32CTests {
    /// Bit-at-a-time CRC-32C straight from the definition, to check the table-driven one against.
    static func reference(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        }
        return ~crc
    }

    /// Bytes that look random, so every table entry gets exercised.
    static func noise(_ count: Int) -> [UInt8] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    struct KnownAnswer: Sendable, CustomTestStringConvertible {
        var name: String
        var bytes: [UInt8]
        var checksum: UInt32
        var testDescription: String { name }
    }

    @Test(
        "known answers: the standard check value and the iSCSI vectors of RFC 3720 B.4",
        arguments: [
            KnownAnswer(name: "\"123456789\"", bytes: Array("123456789".utf8), checksum: 0xE306_9283),
            KnownAnswer(name: "no bytes", bytes: [], checksum: 0),
            KnownAnswer(
                name: "32 zero bytes", bytes: [UInt8](repeating: 0, count: 32), checksum: 0x8A91_36AA),
            KnownAnswer(
                name: "32 0xFF bytes", bytes: [UInt8](repeating: 0xFF, count: 32), checksum: 0x62A8_AB43),
            KnownAnswer(name: "bytes 0 through 31", bytes: Array(0...31), checksum: 0x46DD_794E),
            KnownAnswer(name: "bytes 31 down to 0", bytes: Array((0...31).reversed()), checksum: 0x113F_DB5C),
        ])
    func knownAnswers(_ answer: KnownAnswer) {
        #expect(CRC32C.checksum(answer.bytes) == answer.checksum)
        #expect(answer.bytes.withUnsafeBytes { CRC32C.checksum($0) } == answer.checksum)
        #expect(CRC32C.checksum(answer.bytes.lazy.map { $0 }) == answer.checksum, "non-contiguous path")
        #expect(Self.reference(answer.bytes) == answer.checksum, "the reference itself")
    }

    @Test("agrees with the bit-at-a-time definition at every length and alignment up to 80 bytes")
    func matchesReference() {
        let bytes = Self.noise(96)
        for start in 0..<16 {
            for end in start...(start + 80) {
                let slice = bytes[start..<end]
                #expect(CRC32C.checksum(slice) == Self.reference(Array(slice)), "bytes \(start)..<\(end)")
            }
        }
        let large = Self.noise(100_003)
        #expect(CRC32C.checksum(large) == Self.reference(large))
    }

    @Test("update over consecutive pieces equals one checksum over the whole")
    func incrementalEqualsOneShot() {
        let bytes = Self.noise(200)
        let whole = CRC32C.checksum(bytes)
        for split in 0...bytes.count {
            let first = CRC32C.checksum(bytes[..<split])
            #expect(CRC32C.update(first, bytes[split...]) == whole, "split at \(split)")
            let raw = bytes.withUnsafeBytes {
                CRC32C.update(first, UnsafeRawBufferPointer(rebasing: $0[split...]))
            }
            #expect(raw == whole, "raw buffer, split at \(split)")
        }
        // Many small uneven pieces, the way a file is streamed.
        let sizes = [1, 7, 8, 9, 0, 15, 16, 17, 33, 64]
        var crc: UInt32 = 0
        var start = 0
        var pieces = 0
        while start < bytes.count {
            let end = min(start + sizes[pieces % sizes.count], bytes.count)
            crc = CRC32C.update(crc, bytes[start..<end])
            start = end
            pieces += 1
        }
        #expect(crc == whole, "after \(pieces) pieces")
        #expect(CRC32C.update(whole, [UInt8]()) == whole, "no bytes leave the checksum alone")
    }
}
