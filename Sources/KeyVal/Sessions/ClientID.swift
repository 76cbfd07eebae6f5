/// Identifies one client session (Raft thesis §6.3). 128 random bits, so clients can pick their own
/// without a registration round trip through the log: with 10⁹ clients the chance of any two
/// colliding is about 10⁻²¹.
public struct ClientID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: UInt128
    public init(_ value: UInt128) { self.value = value }

    /// Parses the 32-digit hexadecimal form that `description` produces (e.g. from an HTTP header).
    public init?(hex: String) {
        // Digits only: `UInt128(_:radix:)` would also accept a leading sign.
        let isHexDigit = { (c: UInt8) in (0x30...0x39).contains(c) || (0x61...0x66).contains(c | 0x20) }
        guard hex.utf8.count == 32, hex.utf8.allSatisfy(isHexDigit), let value = UInt128(hex, radix: 16)
        else { return nil }
        self.value = value
    }

    /// A fresh identifier from the system's cryptographic generator. Clients only: the state
    /// machine must never draw randomness, or replicas would diverge.
    public static func random() -> ClientID { ClientID(.random(in: .min ... .max)) }

    public static func < (lhs: ClientID, rhs: ClientID) -> Bool { lhs.value < rhs.value }

    /// 32 lowercase hexadecimal digits.
    public var description: String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 32 - digits.utf8.count) + digits
    }
}
