/// Why a key-value command or snapshot was refused.
///
/// Validation cases are what the HTTP layer turns into `400`/`413` before proposing; decode cases
/// mean the bytes did not come from our encoder (or from a different format version). None of them
/// ever crash the decoder: bytes from the log or the network are untrusted input.
public enum KVError: Error, Sendable, Equatable, CustomStringConvertible {
    // MARK: Validation

    /// Keys must have at least one byte: an empty key cannot be addressed as `/key/<k>`.
    case emptyKey
    /// The key's UTF-8 form exceeds `KVCommand.maxKeyBytes`.
    case keyTooLong(bytes: Int)
    /// The value's UTF-8 form exceeds `KVCommand.maxValueBytes`.
    case valueTooLong(bytes: Int)
    /// A `set` with no keys: it would spend a log entry on nothing.
    case emptySet
    /// The encoded command would exceed `KVCommand.maxCommandBytes`.
    case commandTooLarge(bytes: Int)
    /// Client sequence numbers start at 1; 0 is reserved so "no request yet" needs no optional.
    case invalidSequence

    // MARK: Decoding

    /// The input ended before the structure it describes.
    case truncated
    /// The leading format byte is not one this build understands.
    case unsupportedFormatVersion(UInt8)
    /// An operation, condition or result tag that this format version does not define.
    case unknownTag(UInt8)
    /// Flag bits this format version does not define are set.
    case invalidFlags(UInt8)
    /// A length or number is not a minimal LEB128 varint that fits in 64 bits.
    case invalidVarint
    /// A string is not valid UTF-8.
    case invalidUTF8
    /// Keys must be in strictly ascending UTF-8 byte order, which rules out duplicates and makes the
    /// encoding canonical (one byte sequence per command).
    case unsortedKeys
    /// Bytes are left over after a complete command.
    case trailingBytes(count: Int)
    /// The snapshot does not start with the expected magic bytes.
    case notASnapshot
    /// The snapshot's CRC-32C does not match its contents: it was corrupted on disk or in transit.
    case checksumMismatch
    /// The snapshot is well-formed but describes a state `KVStore` can never reach.
    case inconsistentSnapshot(reason: String)

    public var description: String {
        switch self {
        case .emptyKey: "key is empty"
        case .keyTooLong(let bytes): "key is \(bytes) bytes, limit \(KVCommand.maxKeyBytes)"
        case .valueTooLong(let bytes): "value is \(bytes) bytes, limit \(KVCommand.maxValueBytes)"
        case .emptySet: "set has no keys"
        case .commandTooLarge(let bytes): "command is \(bytes) bytes, limit \(KVCommand.maxCommandBytes)"
        case .invalidSequence: "client sequence numbers start at 1"
        case .truncated: "input is truncated"
        case .unsupportedFormatVersion(let version): "unsupported format version \(version)"
        case .unknownTag(let tag): "unknown tag \(tag)"
        case .invalidFlags(let flags): "invalid flags 0x\(String(flags, radix: 16))"
        case .invalidVarint: "malformed varint"
        case .invalidUTF8: "string is not valid UTF-8"
        case .unsortedKeys: "keys are not in strictly ascending byte order"
        case .trailingBytes(let count): "\(count) trailing bytes"
        case .notASnapshot: "not a key-value snapshot"
        case .checksumMismatch: "snapshot checksum mismatch"
        case .inconsistentSnapshot(let reason): "inconsistent snapshot: \(reason)"
        }
    }
}
