/// CRC-32C (Castagnoli, the polynomial of iSCSI and ext4), guarding snapshots against corruption
/// on disk or in transit. It detects every burst error of up to 32 bits, and a flipped byte in a
/// value would otherwise decode as a perfectly valid, silently different state.
enum CRC32C {
    /// Reflected polynomial 0x1EDC6F41.
    private static let polynomial: UInt32 = 0x82F6_3B78

    /// Byte-at-a-time lookup table; computed once, on first use.
    private static let table: [UInt32] = (0..<256).map { byte in
        var crc = UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ polynomial : crc >> 1 }
        return crc
    }

    static func checksum(_ bytes: [UInt8], count: Int) -> UInt32 {
        precondition(count >= 0 && count <= bytes.count, "CRC range \(count) outside \(bytes.count) bytes")
        return table.withUnsafeBufferPointer { table in
            bytes.withUnsafeBufferPointer { bytes in
                var crc: UInt32 = 0xFFFF_FFFF
                for byte in bytes[..<count] {
                    crc = table[Int(UInt8(truncatingIfNeeded: crc) ^ byte)] ^ (crc >> 8)
                }
                return ~crc
            }
        }
    }
}
