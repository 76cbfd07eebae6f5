import KeyVal
import Raft

/// Shorthand for log indexes in expectations: `i(3)` reads like the traces' "i3".
func i(_ value: UInt64) -> LogIndex { LogIndex(value) }

func request(_ client: UInt128, _ sequence: UInt64) -> ClientRequest {
    ClientRequest(clientID: ClientID(client), sequence: sequence)
}

/// Hand-assembly of encoded bytes, so malformed inputs can be spelled out field by field.
enum Wire {
    static func varint(_ value: UInt64) -> [UInt8] {
        var value = value
        var bytes: [UInt8] = []
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        return bytes + [UInt8(value)]
    }

    /// A length-prefixed byte string.
    static func string(_ bytes: [UInt8]) -> [UInt8] { varint(UInt64(bytes.count)) + bytes }
    static func string(_ text: String) -> [UInt8] { string(Array(text.utf8)) }

    /// Format version 1 header without a client request.
    static let header: [UInt8] = [1, 0]

    static func header(client: UInt128, sequence: UInt64) -> [UInt8] {
        [1, 1] + (0..<16).reversed().map { UInt8(truncatingIfNeeded: client >> UInt128($0 * 8)) }
            + varint(sequence)
    }

    static func uint32LittleEndian(_ value: UInt32) -> [UInt8] {
        (0..<4).map { UInt8(truncatingIfNeeded: value >> UInt32($0 * 8)) }
    }

    /// Bit-at-a-time CRC-32C, independent of the library's table-driven one.
    static func crc32c(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        }
        return ~crc
    }
}
