/// Why bytes are not a frame of the Raft wire format (`WireCodec`). Any of these from a peer ends
/// that connection: a stream that failed once cannot be trusted to be in step again.
public enum WireError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The bytes end before the frame, or a field inside it, does.
    case truncated
    /// The frame's format version byte is not one this build reads.
    case unsupportedVersion(UInt8)
    case unknownFrameKind(UInt8)
    case unknownMessageTag(UInt8)
    /// A tag inside a message (a response's result, an optional's presence byte) is not known.
    case unknownResultTag(UInt8)
    case unknownEntryKind(UInt8)
    /// A boolean field holds something other than 0 or 1.
    case invalidBoolean(UInt8)
    /// The CRC-32C at the end of the frame does not match its contents.
    case badChecksum(stored: UInt32, computed: UInt32)
    /// A cluster id or node id is not valid UTF-8.
    case invalidUTF8
    /// Bytes are left over after the frame or after its payload.
    case trailingBytes(Int)
    /// The length prefix announces more bytes than the receiver accepts (`length` counts
    /// everything after the prefix).
    case frameTooLarge(length: UInt64, limit: Int)
    /// A snapshot's configuration did not decode, or is not in its one canonical form.
    case badConfiguration(String)

    public var description: String {
        switch self {
        case .truncated: "truncated"
        case .unsupportedVersion(let version):
            "frame format version \(version), expected \(WireCodec.formatVersion)"
        case .unknownFrameKind(let kind): "unknown frame kind \(kind)"
        case .unknownMessageTag(let tag): "unknown message tag \(tag)"
        case .unknownResultTag(let tag): "unknown result tag \(tag)"
        case .unknownEntryKind(let kind): "unknown entry kind \(kind)"
        case .invalidBoolean(let byte): "boolean field holds \(byte)"
        case .badChecksum(let stored, let computed):
            "bad checksum: frame says \(hex(stored)), contents hash to \(hex(computed))"
        case .invalidUTF8: "a string is not valid UTF-8"
        case .trailingBytes(let count): "\(count) bytes after the end"
        case .frameTooLarge(let length, let limit): "frame of \(length) bytes, limit \(limit)"
        case .badConfiguration(let reason): "bad configuration: \(reason)"
        }
    }
}

private func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}
