/// Why bytes are not a configuration.
public enum ConfigurationDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    case truncated
    case unsupportedVersion(UInt8)
    case invalidUTF8
    case duplicateMember(NodeID)
    case trailingBytes(Int)
    case unknownFlags(UInt8)

    public var description: String {
        switch self {
        case .truncated: "truncated"
        case .unsupportedVersion(let version):
            "encoding version \(version), expected \(ClusterConfiguration.encodingVersion)"
        case .invalidUTF8: "a name or address is not valid UTF-8"
        case .duplicateMember(let id): "\(id) is listed twice"
        case .trailingBytes(let count): "\(count) bytes after the last member"
        case .unknownFlags(let flags): "unknown member flags \(flags)"
        }
    }
}

/// The one binary form of a configuration, used in snapshot files, configuration entries and on
/// the wire: a version byte, a member count (u32), then per member a flags byte (bit 0: voter)
/// and the id, Raft address and HTTP address, each a u16 length and UTF-8 bytes. Little-endian.
extension ClusterConfiguration {
    public static let encodingVersion: UInt8 = 1

    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = [Self.encodingVersion]
        appendLittleEndian(UInt32(members.count), to: &bytes)
        for member in members {
            bytes.append((member.isVoter ? 1 : 0) | (member.promotesWhenCaughtUp ? 2 : 0))
            for text in [member.id.name, member.raftAddress, member.httpAddress] {
                let utf8 = Array(text.utf8)
                precondition(utf8.count <= UInt16.max, "member field of \(utf8.count) bytes")
                appendLittleEndian(UInt16(utf8.count), to: &bytes)
                bytes += utf8
            }
        }
        return bytes
    }

    /// Decodes exactly `bytes`: anything malformed, duplicated or left over is an error.
    public init(decoding bytes: some Collection<UInt8>) throws(ConfigurationDecodingError) {
        var reader = ByteCursor(Array(bytes))
        guard let version = reader.byte() else { throw .truncated }
        guard version == Self.encodingVersion else { throw .unsupportedVersion(version) }
        guard let count = reader.littleEndian(UInt32.self) else { throw .truncated }
        var members: [Member] = []
        var seen = Set<NodeID>()
        for _ in 0..<count {
            guard let flags = reader.byte() else { throw .truncated }
            // Bit 0: voter. Bit 1: a learner to promote once caught up (never set with bit 0).
            guard flags & ~3 == 0, flags != 3 else { throw .unknownFlags(flags) }
            var fields: [String] = []
            for _ in 0..<3 {
                guard let length = reader.littleEndian(UInt16.self), let utf8 = reader.bytes(Int(length))
                else {
                    throw .truncated
                }
                guard let text = String(validating: utf8, as: UTF8.self) else { throw .invalidUTF8 }
                fields.append(text)
            }
            let id = NodeID(fields[0])
            guard seen.insert(id).inserted else { throw .duplicateMember(id) }
            members.append(
                Member(
                    id: id, raftAddress: fields[1], httpAddress: fields[2], isVoter: flags & 1 == 1,
                    promotesWhenCaughtUp: flags & 2 == 2))
        }
        guard reader.remaining == 0 else { throw .trailingBytes(reader.remaining) }
        self.init(members: members)
    }
}

func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
    withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
}

/// Reads bytes front to back; every read returns nil instead of running past the end.
struct ByteCursor {
    private let bytes: [UInt8]
    private var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var remaining: Int { bytes.count - position }

    mutating func byte() -> UInt8? {
        guard position < bytes.count else { return nil }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func bytes(_ count: Int) -> ArraySlice<UInt8>? {
        guard count >= 0, count <= remaining else { return nil }
        defer { position += count }
        return bytes[position..<(position + count)]
    }

    mutating func littleEndian<T: FixedWidthInteger>(_: T.Type) -> T? {
        guard let slice = bytes(MemoryLayout<T>.size) else { return nil }
        var value: T = 0
        for (shift, byte) in slice.enumerated() { value |= T(byte) << (8 * shift) }
        return value
    }
}
