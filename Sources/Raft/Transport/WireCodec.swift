/// The bytes Raft nodes exchange over TCP. Pure: no I/O, usable and testable without a socket.
///
/// A frame is
/// ```
/// u32 length | u8 format version (1) | u8 frame kind | payload | u32 CRC-32C of version..payload
/// ```
/// where `length` counts everything after itself (so at least 6), and every integer is
/// little-endian. The checksum (the shared `CRC32C`) covers the version, kind and payload; the length
/// is checked against the bytes present and against the receiver's limit instead.
///
/// Payloads:
/// - `hello` (kind 1), the first frame on every connection: cluster id and sender id as strings,
///   the protocol version (u16), then the sender's Raft address as a string (empty if unknown).
/// - `envelope` (kind 2): from, to (strings), term (u64), a message tag (u8) and the message's
///   fields in declaration order. Indexes, terms, offsets and sizes are u64; booleans one byte
///   (0 or 1); an optional a presence byte then the value; a two-case result a tag byte (0 for the
///   first case) then its fields; strings a u16 byte count then UTF-8; byte strings (entry data,
///   snapshot chunks, configurations) a u32 byte count then the bytes; entry lists a u32 count,
///   then per entry its term, index, kind raw value (u8) and data. A snapshot's configuration is
///   `ClusterConfiguration.encoded()`, the one canonical form shared with snapshot files.
///
/// Decoding is strict so that any accepted frame re-encodes to exactly the same bytes: unknown
/// tags, booleans other than 0/1, non-canonical configurations and leftover bytes are errors.
/// Every length is checked against the bytes present before anything is allocated.
public enum WireCodec {
    /// The version byte of every frame this build writes and the only one it reads.
    public static let formatVersion: UInt8 = 1
    /// The protocol version sent in `hello`.
    public static let protocolVersion: UInt16 = 1
    /// Default limit on a frame's `length`. InstallSnapshot chunks and AppendEntries batches are
    /// bounded by `RaftConfig` (1 MiB each by default); this leaves ample room above them.
    public static let maxFrameBytes = 64 << 20
    /// Bytes of the length prefix.
    public static let lengthPrefixBytes = 4
    /// The smallest `length`: a version, a kind and a checksum around an empty payload.
    public static let minimumFrameLength = 6

    /// One unit on the wire.
    public enum Frame: Sendable, Equatable {
        case hello(Hello)
        case envelope(Envelope)
    }

    /// Introduces a connection: who is speaking, in which cluster, and where it listens.
    public struct Hello: Sendable, Equatable {
        public var clusterID: String
        public var sender: NodeID
        public var protocolVersion: UInt16
        /// Where the sender accepts Raft connections, so the receiver can answer a node it has no
        /// address for yet: a node joining the cluster hears from the leader before it has the
        /// configuration entries that name the leader's address.
        public var senderAddress: String

        public init(
            clusterID: String, sender: NodeID, protocolVersion: UInt16 = WireCodec.protocolVersion,
            senderAddress: String = ""
        ) {
            self.clusterID = clusterID
            self.sender = sender
            self.protocolVersion = protocolVersion
            self.senderAddress = senderAddress
        }
    }

    enum FrameKind: UInt8 {
        case hello = 1
        case envelope = 2
    }

    enum MessageTag: UInt8 {
        case requestVote = 1
        case requestVoteResponse = 2
        case appendEntries = 3
        case appendEntriesResponse = 4
        case heartbeat = 5
        case heartbeatResponse = 6
        case installSnapshot = 7
        case installSnapshotResponse = 8
        case timeoutNow = 9
        case readIndex = 10
        case readIndexResponse = 11
    }

    /// Encoded size of an entry with no data: term, index, kind and the data's length.
    static let minimumEntryBytes = 8 + 8 + 1 + 4

    // MARK: Encoding

    /// The bytes of `frame`, length prefix included.
    public static func encode(_ frame: Frame) -> [UInt8] {
        var bytes: [UInt8] = []
        encode(frame, into: &bytes)
        return bytes
    }

    /// Appends the bytes of `frame`, length prefix included, to `bytes`.
    /// Precondition: names fit a u16 length and byte strings a u32 one (a bug otherwise).
    public static func encode(_ frame: Frame, into bytes: inout [UInt8]) {
        let start = bytes.count
        bytes.append(contentsOf: [0, 0, 0, 0])  // the length, patched below
        bytes.append(formatVersion)
        switch frame {
        case .hello(let hello):
            bytes.append(FrameKind.hello.rawValue)
            bytes.appendString(hello.clusterID)
            bytes.appendString(hello.sender.name)
            bytes.appendInteger(hello.protocolVersion)
            bytes.appendString(hello.senderAddress)
        case .envelope(let envelope):
            bytes.append(FrameKind.envelope.rawValue)
            encode(envelope, into: &bytes)
        }
        let checksum = bytes[(start + lengthPrefixBytes)...].withUnsafeBytes { CRC32C.checksum($0) }
        bytes.appendInteger(checksum)
        let length = bytes.count - start - lengthPrefixBytes
        precondition(length <= UInt32.max, "frame of \(length) bytes")
        withUnsafeBytes(of: UInt32(length).littleEndian) { prefix in
            for (offset, byte) in prefix.enumerated() { bytes[start + offset] = byte }
        }
    }

    private static func encode(_ envelope: Envelope, into bytes: inout [UInt8]) {
        bytes.appendString(envelope.from.name)
        bytes.appendString(envelope.to.name)
        bytes.appendInteger(envelope.term.value)
        switch envelope.message {
        case .requestVote(let m):
            bytes.append(MessageTag.requestVote.rawValue)
            bytes.appendBool(m.isPreVote)
            bytes.appendInteger(m.lastLogIndex.value)
            bytes.appendInteger(m.lastLogTerm.value)
            bytes.appendBool(m.isLeadershipTransfer)
        case .requestVoteResponse(let m):
            bytes.append(MessageTag.requestVoteResponse.rawValue)
            bytes.appendBool(m.isPreVote)
            bytes.appendBool(m.granted)
        case .appendEntries(let m):
            bytes.append(MessageTag.appendEntries.rawValue)
            bytes.appendInteger(m.prevLogIndex.value)
            bytes.appendInteger(m.prevLogTerm.value)
            bytes.appendInteger(m.leaderCommit.value)
            bytes.appendLength(m.entries.count)
            for entry in m.entries {
                bytes.appendInteger(entry.term.value)
                bytes.appendInteger(entry.index.value)
                bytes.append(entry.kind.rawValue)
                bytes.appendByteString(entry.data)
            }
        case .appendEntriesResponse(let m):
            bytes.append(MessageTag.appendEntriesResponse.rawValue)
            switch m.result {
            case .accepted(let matchIndex):
                bytes.append(0)
                bytes.appendInteger(matchIndex.value)
            case .rejected(let rejectedIndex, let conflictTerm, let firstIndexOfConflict):
                bytes.append(1)
                bytes.appendInteger(rejectedIndex.value)
                if let conflictTerm {
                    bytes.append(1)
                    bytes.appendInteger(conflictTerm.value)
                } else {
                    bytes.append(0)
                }
                bytes.appendInteger(firstIndexOfConflict.value)
            }
        case .heartbeat(let m):
            bytes.append(MessageTag.heartbeat.rawValue)
            bytes.appendInteger(m.commit.value)
            bytes.appendInteger(m.readContext)
        case .heartbeatResponse(let m):
            bytes.append(MessageTag.heartbeatResponse.rawValue)
            bytes.appendInteger(m.readContext)
        case .installSnapshot(let m):
            bytes.append(MessageTag.installSnapshot.rawValue)
            bytes.appendInteger(m.metadata.index.value)
            bytes.appendInteger(m.metadata.term.value)
            bytes.appendByteString(m.metadata.configuration.encoded())
            bytes.appendInteger(m.totalBytes)
            bytes.appendInteger(m.offset)
            bytes.appendByteString(m.chunk)
        case .installSnapshotResponse(let m):
            bytes.append(MessageTag.installSnapshotResponse.rawValue)
            bytes.appendInteger(m.snapshotIndex.value)
            switch m.result {
            case .receiving(let nextOffset):
                bytes.append(0)
                bytes.appendInteger(nextOffset)
            case .installed(let matchIndex):
                bytes.append(1)
                bytes.appendInteger(matchIndex.value)
            }
        case .timeoutNow:
            bytes.append(MessageTag.timeoutNow.rawValue)
        case .readIndex(let m):
            bytes.append(MessageTag.readIndex.rawValue)
            bytes.appendInteger(m.context)
        case .readIndexResponse(let m):
            bytes.append(MessageTag.readIndexResponse.rawValue)
            bytes.appendInteger(m.context)
            if let readIndex = m.readIndex {
                bytes.append(1)
                bytes.appendInteger(readIndex.value)
            } else {
                bytes.append(0)
            }
        }
    }

    // MARK: Decoding

    /// Decodes exactly one frame: `bytes` starts with the length prefix and ends with the checksum.
    /// Checks, in order: the length against `maxFrameBytes` and against the bytes present, the
    /// checksum, the version, then the payload field by field.
    public static func decode(
        _ bytes: some Collection<UInt8>, maxFrameBytes: Int = WireCodec.maxFrameBytes
    ) throws(WireError) -> Frame {
        let decoded: Result<Frame, WireError> =
            bytes.withContiguousStorageIfAvailable { buffer in
                Result { () throws(WireError) in try decode(UnsafeRawBufferPointer(buffer), maxFrameBytes) }
            }
            ?? Array(bytes).withUnsafeBytes { buffer in
                Result { () throws(WireError) in try decode(buffer, maxFrameBytes) }
            }
        return try decoded.get()
    }

    /// The `length` a frame's prefix announces, once at least `lengthPrefixBytes` are present.
    public static func announcedLength(_ prefix: some Collection<UInt8>) -> UInt32? {
        guard prefix.count >= lengthPrefixBytes else { return nil }
        var length: UInt32 = 0
        for (shift, byte) in prefix.prefix(lengthPrefixBytes).enumerated() {
            length |= UInt32(byte) << (8 * shift)
        }
        return length
    }

    private static func decode(_ bytes: UnsafeRawBufferPointer, _ maxFrameBytes: Int) throws(WireError)
        -> Frame
    {
        guard let announced = announcedLength(bytes) else { throw .truncated }
        guard UInt64(announced) <= UInt64(max(maxFrameBytes, 0)) else {
            throw .frameTooLarge(length: UInt64(announced), limit: maxFrameBytes)
        }
        let length = Int(announced)
        let present = bytes.count - lengthPrefixBytes
        guard present >= length else { throw .truncated }
        guard present == length else { throw .trailingBytes(present - length) }
        guard length >= minimumFrameLength else { throw .truncated }

        let checked = UnsafeRawBufferPointer(rebasing: bytes[lengthPrefixBytes..<(bytes.count - 4)])
        let computed = CRC32C.checksum(checked)
        var trailer = WireReader(UnsafeRawBufferPointer(rebasing: bytes[(bytes.count - 4)...]))
        let stored = try trailer.integer(UInt32.self)
        guard stored == computed else { throw .badChecksum(stored: stored, computed: computed) }

        var reader = WireReader(checked)
        let version = try reader.byte()
        guard version == formatVersion else { throw .unsupportedVersion(version) }
        let kindByte = try reader.byte()
        let frame: Frame
        switch FrameKind(rawValue: kindByte) {
        case .hello:
            let clusterID = try reader.string()
            let sender = NodeID(try reader.string())
            let protocolVersion = try reader.integer(UInt16.self)
            let senderAddress = try reader.string()
            frame = .hello(
                Hello(
                    clusterID: clusterID, sender: sender, protocolVersion: protocolVersion,
                    senderAddress: senderAddress))
        case .envelope:
            frame = .envelope(try decodeEnvelope(&reader))
        case nil:
            throw .unknownFrameKind(kindByte)
        }
        guard reader.remaining == 0 else { throw .trailingBytes(reader.remaining) }
        return frame
    }

    private static func decodeEnvelope(_ reader: inout WireReader) throws(WireError) -> Envelope {
        let from = NodeID(try reader.string())
        let to = NodeID(try reader.string())
        let term = Term(try reader.integer(UInt64.self))
        let tag = try reader.byte()
        let message: Message
        switch MessageTag(rawValue: tag) {
        case .requestVote:
            message = .requestVote(
                RequestVote(
                    isPreVote: try reader.bool(), lastLogIndex: LogIndex(try reader.integer(UInt64.self)),
                    lastLogTerm: Term(try reader.integer(UInt64.self)),
                    isLeadershipTransfer: try reader.bool()))
        case .requestVoteResponse:
            message = .requestVoteResponse(
                RequestVoteResponse(isPreVote: try reader.bool(), granted: try reader.bool()))
        case .appendEntries:
            let prevLogIndex = LogIndex(try reader.integer(UInt64.self))
            let prevLogTerm = Term(try reader.integer(UInt64.self))
            let leaderCommit = LogIndex(try reader.integer(UInt64.self))
            let count = Int(try reader.integer(UInt32.self))
            // Checked before reserving: a forged count must not allocate more than the frame holds.
            guard count <= reader.remaining / minimumEntryBytes else { throw .truncated }
            var entries: [Entry] = []
            entries.reserveCapacity(count)
            for _ in 0..<count {
                let entryTerm = Term(try reader.integer(UInt64.self))
                let index = LogIndex(try reader.integer(UInt64.self))
                let kindByte = try reader.byte()
                guard let kind = Entry.Kind(rawValue: kindByte) else { throw .unknownEntryKind(kindByte) }
                entries.append(
                    Entry(term: entryTerm, index: index, kind: kind, data: try reader.byteString()))
            }
            message = .appendEntries(
                AppendEntries(
                    prevLogIndex: prevLogIndex, prevLogTerm: prevLogTerm, entries: entries,
                    leaderCommit: leaderCommit))
        case .appendEntriesResponse:
            let resultTag = try reader.byte()
            switch resultTag {
            case 0:
                message = .appendEntriesResponse(
                    AppendEntriesResponse(.accepted(matchIndex: LogIndex(try reader.integer(UInt64.self)))))
            case 1:
                let rejectedIndex = LogIndex(try reader.integer(UInt64.self))
                let presence = try reader.byte()
                let conflictTerm: Term?
                switch presence {
                case 0: conflictTerm = nil
                case 1: conflictTerm = Term(try reader.integer(UInt64.self))
                default: throw .unknownResultTag(presence)
                }
                let firstIndexOfConflict = LogIndex(try reader.integer(UInt64.self))
                message = .appendEntriesResponse(
                    AppendEntriesResponse(
                        .rejected(
                            rejectedIndex: rejectedIndex, conflictTerm: conflictTerm,
                            firstIndexOfConflict: firstIndexOfConflict)))
            default:
                throw .unknownResultTag(resultTag)
            }
        case .heartbeat:
            message = .heartbeat(
                Heartbeat(
                    commit: LogIndex(try reader.integer(UInt64.self)),
                    readContext: try reader.integer(UInt64.self)))
        case .heartbeatResponse:
            message = .heartbeatResponse(HeartbeatResponse(readContext: try reader.integer(UInt64.self)))
        case .installSnapshot:
            let index = LogIndex(try reader.integer(UInt64.self))
            let snapshotTerm = Term(try reader.integer(UInt64.self))
            let configuration = try decodeConfiguration(try reader.byteString())
            let totalBytes = try reader.integer(UInt64.self)
            let offset = try reader.integer(UInt64.self)
            let chunk = try reader.byteString()
            message = .installSnapshot(
                InstallSnapshot(
                    metadata: SnapshotMetadata(
                        index: index, term: snapshotTerm, configuration: configuration),
                    totalBytes: totalBytes, offset: offset, chunk: chunk))
        case .installSnapshotResponse:
            let snapshotIndex = LogIndex(try reader.integer(UInt64.self))
            let resultTag = try reader.byte()
            let result: InstallSnapshotResponse.Result
            switch resultTag {
            case 0: result = .receiving(nextOffset: try reader.integer(UInt64.self))
            case 1: result = .installed(matchIndex: LogIndex(try reader.integer(UInt64.self)))
            default: throw .unknownResultTag(resultTag)
            }
            message = .installSnapshotResponse(
                InstallSnapshotResponse(snapshotIndex: snapshotIndex, result: result))
        case .timeoutNow:
            message = .timeoutNow
        case .readIndex:
            message = .readIndex(ReadIndexRequest(context: try reader.integer(UInt64.self)))
        case .readIndexResponse:
            let context = try reader.integer(UInt64.self)
            let presence = try reader.byte()
            let readIndex: LogIndex?
            switch presence {
            case 0: readIndex = nil
            case 1: readIndex = LogIndex(try reader.integer(UInt64.self))
            default: throw .unknownResultTag(presence)
            }
            message = .readIndexResponse(ReadIndexResponse(context: context, readIndex: readIndex))
        case nil:
            throw .unknownMessageTag(tag)
        }
        return Envelope(from: from, to: to, term: term, message: message)
    }

    private static func decodeConfiguration(_ bytes: [UInt8]) throws(WireError) -> ClusterConfiguration {
        let configuration: ClusterConfiguration
        do {
            configuration = try ClusterConfiguration(decoding: bytes)
        } catch {
            throw .badConfiguration(error.description)
        }
        // `init(decoding:)` sorts members; bytes listing them in another order would decode to a
        // configuration that encodes differently, so only the canonical form is accepted.
        guard configuration.encoded() == bytes else {
            throw .badConfiguration("members not in canonical order")
        }
        return configuration
    }
}

extension [UInt8] {
    fileprivate mutating func appendInteger<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    fileprivate mutating func appendBool(_ value: Bool) { append(value ? 1 : 0) }

    /// A u32 count (of bytes or items).
    fileprivate mutating func appendLength(_ count: Int) {
        precondition(count <= UInt32.max, "\(count) items or bytes do not fit a frame")
        appendInteger(UInt32(count))
    }

    fileprivate mutating func appendByteString(_ bytes: [UInt8]) {
        appendLength(bytes.count)
        append(contentsOf: bytes)
    }

    fileprivate mutating func appendString(_ text: String) {
        let utf8 = text.utf8
        precondition(utf8.count <= UInt16.max, "a name of \(utf8.count) bytes does not fit a frame")
        appendInteger(UInt16(utf8.count))
        append(contentsOf: utf8)
    }
}
