import RaftCore

/// Snapshots: the whole state machine as bytes, so the node can compact its log (Raft §7) and
/// bring a lagging replica up to date.
///
/// Format version 1, integers unsigned LEB128 varints unless noted, strings as in `KVCommand`:
/// ```
/// "KVSS" magic, u8 format version (1)
/// applied index, session capacity
/// item count, then per item in ascending key-byte order: key, value, version
/// session count, then per session least recently used first:
///   client ID (16 bytes big-endian), last sequence, last used index, remembered result
/// u32 little-endian CRC-32C of everything before it
/// ```
/// Sessions are part of the state: a replica restored without them would re-apply a retried
/// write that the others had deduplicated.
extension KVStore {
    /// Bumped for any change that an older reader would misread.
    public static let snapshotFormatVersion: UInt8 = 1
    private static let snapshotMagic: [UInt8] = Array("KVSS".utf8)

    private enum ResultTag {
        static let set: UInt8 = 1
        static let deleted: UInt8 = 2
        static let notFound: UInt8 = 3
        static let written: UInt8 = 4
        static let conditionFailed: UInt8 = 5
    }

    /// The complete state as bytes. Deterministic: replicas with equal states produce identical
    /// snapshots, whatever order they inserted keys in.
    public func snapshot() -> [UInt8] {
        // `items` is kept in byte order, not `String` order: cheaper, and independent of Unicode
        // tables, so it is written as it is.
        let sessionList = sessions.inRecencyOrder()

        var capacity = 64 + sessionList.count * 64
        items.forEach { key, item in
            capacity += ByteWriter.stringSize(key.string) + ByteWriter.stringSize(item.value) + 10
            return true
        }
        var writer = ByteWriter(capacity: capacity)

        for byte in Self.snapshotMagic { writer.write(byte) }
        writer.write(Self.snapshotFormatVersion)
        writer.writeVarint(appliedIndex.value)
        writer.writeVarint(UInt64(sessions.capacity))
        writer.writeVarint(UInt64(items.count))
        items.forEach { key, item in
            writer.writeString(key.string)
            writer.writeString(item.value)
            writer.writeVarint(item.version.value)
            return true
        }
        writer.writeVarint(UInt64(sessionList.count))
        for (client, session) in sessionList {
            writer.writeUInt128(client.value)
            writer.writeVarint(session.lastSequence)
            writer.writeVarint(session.lastUsed.value)
            Self.write(session.lastResult, to: &writer)
        }
        var bytes = writer.bytes
        let checksum = CRC32C.checksum(bytes)
        for shift in stride(from: 0, to: 32, by: 8) {
            bytes.append(UInt8(truncatingIfNeeded: checksum >> shift))
        }
        return bytes
    }

    /// Restores a state from `snapshot()`'s bytes, including its session capacity. Corrupted,
    /// truncated or foreign input is rejected with a `KVError`, never trusted: the checksum catches
    /// damage, and the structure is still checked in case a buggy writer produced it.
    public init(snapshot bytes: [UInt8]) throws(KVError) {
        let header = Self.snapshotMagic.count + 1
        guard bytes.count >= header + 4 else {
            throw bytes.starts(with: Self.snapshotMagic.prefix(bytes.count)) ? .truncated : .notASnapshot
        }
        guard bytes.starts(with: Self.snapshotMagic) else { throw .notASnapshot }
        guard bytes[header - 1] == Self.snapshotFormatVersion else {
            throw .unsupportedFormatVersion(bytes[header - 1])
        }
        let bodyEnd = bytes.count - 4
        let stored = (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[bodyEnd + $1]) << (8 * $1) }
        guard CRC32C.checksum(bytes[..<bodyEnd]) == stored else { throw .checksumMismatch }

        var reader = ByteReader(bytes, end: bodyEnd)
        for _ in 0..<header { _ = try reader.readByte() }
        let applied = LogIndex(try reader.readVarint())
        let capacity = try reader.readVarint()
        guard capacity >= 1 && capacity <= UInt64(Int.max) else {
            throw .inconsistentSnapshot(reason: "session capacity \(capacity)")
        }
        self.init(sessionCapacity: Int(capacity))
        appliedIndex = applied

        // An item takes at least 4 bytes: key length, one key byte, value length, version.
        let itemCount = try reader.readCount(minimumItemBytes: 4)
        var previousKey: Range<Int>?
        for _ in 0..<itemCount {
            let keyRange = try reader.readStringBytes(
                maxBytes: KVCommand.maxKeyBytes, tooLong: { .keyTooLong(bytes: $0) })
            if keyRange.isEmpty { throw .emptyKey }
            if let previousKey, !reader.bytes(previousKey, precede: keyRange) { throw .unsortedKeys }
            previousKey = keyRange
            let key = StoreKey(try reader.string(in: keyRange))
            let value = try reader.readString(
                maxBytes: KVCommand.maxValueBytes, tooLong: { .valueTooLong(bytes: $0) })
            let version = LogIndex(try reader.readVarint())
            guard version > .zero && version <= applied else {
                throw .inconsistentSnapshot(reason: "\(key.string) at \(version), applied \(applied)")
            }
            items.updateValue(KVItem(value: value, version: version), forKey: key)
        }

        // A session takes at least 19 bytes: client ID, sequence, last use, result tag.
        let sessionCount = try reader.readCount(minimumItemBytes: 19)
        guard sessionCount <= capacity else {
            throw .inconsistentSnapshot(reason: "\(sessionCount) sessions, capacity \(capacity)")
        }
        var previousUse = LogIndex.zero
        for _ in 0..<sessionCount {
            let client = ClientID(try reader.readUInt128())
            let sequence = try reader.readVarint()
            let lastUsed = LogIndex(try reader.readVarint())
            let result = try Self.readResult(&reader)
            guard sequence > 0, lastUsed > previousUse, lastUsed <= applied, sessions.sessions[client] == nil
            else {
                throw .inconsistentSnapshot(reason: "session \(client)#\(sequence) at \(lastUsed)")
            }
            previousUse = lastUsed
            sessions.restore(client, .init(lastSequence: sequence, lastResult: result, lastUsed: lastUsed))
        }
        try reader.expectEnd()
    }

    private static func write(_ result: KVResult, to writer: inout ByteWriter) {
        switch result {
        case .set(let created, let updated, let version):
            writer.write(ResultTag.set)
            writer.writeVarint(version.value)
            writer.writeVarint(UInt64(created))
            writer.writeVarint(UInt64(updated))
        case .deleted(let previousVersion):
            writer.write(ResultTag.deleted)
            writer.writeVarint(previousVersion.value)
        case .notFound:
            writer.write(ResultTag.notFound)
        case .written(let version, let created):
            writer.write(ResultTag.written)
            writer.writeVarint(version.value)
            writer.write(created ? 1 : 0)
        case .conditionFailed(let current):
            writer.write(ResultTag.conditionFailed)
            if let current {
                writer.write(1)
                writer.writeVarint(current.value)
            } else {
                writer.write(0)
            }
        case .rejected, .staleRequest, .sessionExpired:
            preconditionFailure("\(result) is never remembered in a session")
        }
    }

    private static func readResult(_ reader: inout ByteReader) throws(KVError) -> KVResult {
        let tag = try reader.readByte()
        switch tag {
        case ResultTag.set:
            let version = LogIndex(try reader.readVarint())
            let created = try reader.readVarint()
            let updated = try reader.readVarint()
            // A set writes at least one key and, within the command size limit, far fewer than 2³².
            guard created | updated < 1 << 32, created + updated > 0 else {
                throw .inconsistentSnapshot(reason: "set result \(created)+\(updated)")
            }
            return .set(created: Int(created), updated: Int(updated), version: version)
        case ResultTag.deleted:
            return .deleted(previousVersion: LogIndex(try reader.readVarint()))
        case ResultTag.notFound:
            return .notFound
        case ResultTag.written:
            let version = LogIndex(try reader.readVarint())
            return .written(version: version, created: try readBool(&reader))
        case ResultTag.conditionFailed:
            let current = try readBool(&reader) ? LogIndex(try reader.readVarint()) : nil
            return .conditionFailed(currentVersion: current)
        default:
            throw .unknownTag(tag)
        }
    }

    private static func readBool(_ reader: inout ByteReader) throws(KVError) -> Bool {
        let byte = try reader.readByte()
        guard byte <= 1 else { throw .inconsistentSnapshot(reason: "flag byte \(byte)") }
        return byte == 1
    }
}
