import RaftCore

/// The binary form of a `KVCommand`, as stored in a log entry.
///
/// Format version 1, all integers unsigned LEB128 varints unless noted, strings a varint byte count
/// followed by UTF-8:
/// ```
/// u8 format version (1)
/// u8 flags: bit 0 = client request present; other bits must be zero
/// [client ID: 16 bytes big-endian, sequence]                        if bit 0
/// u8 operation: 1 set | 2 delete | 3 compare-and-set
///   set:             count ≥ 1, then count × (key, value), keys in strictly ascending byte order
///   delete:          key
///   compare-and-set: key, u8 condition (1 version-equals + version | 2 absent | 3 exists), value
/// ```
/// The encoding is canonical (minimal varints, sorted keys): decoding and re-encoding gives back
/// the same bytes, and equal commands encode identically.
extension KVCommand {
    /// Bumped for any change that an older decoder would misread.
    public static let formatVersion: UInt8 = 1

    private enum Flag {
        static let hasClient: UInt8 = 1
        static let all: UInt8 = hasClient
    }

    private enum OperationTag {
        static let set: UInt8 = 1
        static let delete: UInt8 = 2
        static let compareAndSet: UInt8 = 3
    }

    private enum ConditionTag {
        static let versionEquals: UInt8 = 1
        static let absent: UInt8 = 2
        static let exists: UInt8 = 3
    }

    /// Exact size of `encode()`, computed without encoding (used by `validate()` for the size limit).
    public var encodedByteCount: Int {
        var size = 3  // format version, flags, operation tag
        if let client { size += 16 + ByteWriter.varintSize(client.sequence) }
        switch operation {
        case .set(let pairs):
            size += ByteWriter.varintSize(UInt64(pairs.count))
            for (key, value) in pairs { size += ByteWriter.stringSize(key) + ByteWriter.stringSize(value) }
        case .delete(let key):
            size += ByteWriter.stringSize(key)
        case .compareAndSet(let key, let condition, let value):
            size += ByteWriter.stringSize(key) + 1 + ByteWriter.stringSize(value)
            if case .versionEquals(let version) = condition { size += ByteWriter.varintSize(version.value) }
        }
        return size
    }

    /// The command's bytes for a log entry. Encodes whatever it is given: call `validate()` first,
    /// or replicas will reject the entry when they apply it.
    public func encode() -> [UInt8] {
        var writer = ByteWriter(capacity: encodedByteCount)
        writer.write(Self.formatVersion)
        writer.write(client == nil ? 0 : Flag.hasClient)
        if let client {
            writer.writeUInt128(client.clientID.value)
            writer.writeVarint(client.sequence)
        }
        switch operation {
        case .set(let pairs):
            writer.write(OperationTag.set)
            writer.writeVarint(UInt64(pairs.count))
            for (key, value) in pairs.sorted(by: { StoreKey($0.key) < StoreKey($1.key) }) {
                writer.writeString(key)
                writer.writeString(value)
            }
        case .delete(let key):
            writer.write(OperationTag.delete)
            writer.writeString(key)
        case .compareAndSet(let key, let condition, let value):
            writer.write(OperationTag.compareAndSet)
            writer.writeString(key)
            switch condition {
            case .versionEquals(let version):
                writer.write(ConditionTag.versionEquals)
                writer.writeVarint(version.value)
            case .absent: writer.write(ConditionTag.absent)
            case .exists: writer.write(ConditionTag.exists)
            }
            writer.writeString(value)
        }
        return writer.bytes
    }

    /// Parses and validates a command produced by `encode()`. Anything else (truncated, a newer
    /// format, bad UTF-8, over-long strings, trailing bytes) is rejected with a `KVError`; the
    /// decoder never traps and never allocates more than the input could describe.
    public static func decode(_ bytes: [UInt8]) throws(KVError) -> KVCommand {
        if bytes.count > maxCommandBytes { throw .commandTooLarge(bytes: bytes.count) }
        var reader = ByteReader(bytes)
        let version = try reader.readByte()
        guard version == formatVersion else { throw .unsupportedFormatVersion(version) }
        let flags = try reader.readByte()
        guard flags & ~Flag.all == 0 else { throw .invalidFlags(flags) }
        var client: ClientRequest?
        if flags & Flag.hasClient != 0 {
            let id = ClientID(try reader.readUInt128())
            let sequence = try reader.readVarint()
            guard sequence > 0 else { throw .invalidSequence }
            client = ClientRequest(clientID: id, sequence: sequence)
        }
        let operation: KVOperation
        let tag = try reader.readByte()
        switch tag {
        case OperationTag.set:
            operation = .set(try readPairs(&reader))
        case OperationTag.delete:
            operation = .delete(try readKey(&reader))
        case OperationTag.compareAndSet:
            let key = try readKey(&reader)
            let condition: KVCondition
            let conditionTag = try reader.readByte()
            switch conditionTag {
            case ConditionTag.versionEquals: condition = .versionEquals(LogIndex(try reader.readVarint()))
            case ConditionTag.absent: condition = .absent
            case ConditionTag.exists: condition = .exists
            default: throw .unknownTag(conditionTag)
            }
            operation = .compareAndSet(key: key, condition: condition, value: try readValue(&reader))
        default:
            throw .unknownTag(tag)
        }
        try reader.expectEnd()
        return KVCommand(operation, client: client)
    }

    private static func readKey(_ reader: inout ByteReader) throws(KVError) -> String {
        let range = try reader.readStringBytes(maxBytes: maxKeyBytes, tooLong: { .keyTooLong(bytes: $0) })
        if range.isEmpty { throw .emptyKey }
        return try reader.string(in: range)
    }

    private static func readValue(_ reader: inout ByteReader) throws(KVError) -> String {
        try reader.readString(maxBytes: maxValueBytes, tooLong: { .valueTooLong(bytes: $0) })
    }

    private static func readPairs(_ reader: inout ByteReader) throws(KVError) -> [String: String] {
        // A pair takes at least 3 bytes: key length, one key byte, value length.
        let count = try reader.readCount(minimumItemBytes: 3)
        if count == 0 { throw .emptySet }
        var pairs: [String: String] = [:]
        pairs.reserveCapacity(count)
        var previousKey: Range<Int>?
        for _ in 0..<count {
            let keyRange = try reader.readStringBytes(
                maxBytes: maxKeyBytes, tooLong: { .keyTooLong(bytes: $0) })
            if keyRange.isEmpty { throw .emptyKey }
            if let previousKey, !reader.bytes(previousKey, precede: keyRange) { throw .unsortedKeys }
            previousKey = keyRange
            let key = try reader.string(in: keyRange)
            pairs[key] = try readValue(&reader)
        }
        // Distinct byte strings can still be equal `String`s (canonical equivalence), which would
        // silently merge two pairs; refuse rather than guess which one was meant.
        if pairs.count != count { throw .unsortedKeys }
        return pairs
    }
}
