/// The bytes of one snapshot file and the name it is stored under; `FileSnapshotStore`'s
/// documentation shows the layout. Pure: the store does the reading and writing.
enum SnapshotFileFormat {
    static let magic: [UInt8] = Array("KVSNAP\0\0".utf8)
    /// The only version this build reads and writes.
    // The configuration block carries its own encoding version (see `ClusterConfiguration`).
    static let version: UInt16 = 1
    /// Magic, version, index, term and the configuration block's length: the bytes to read
    /// before the header's full size is known.
    static let fixedPrefixCount = 8 + 2 + 8 + 8 + 4
    /// Every checksum is a little-endian CRC-32C.
    static let checksumCount = 4

    /// A header that passed its checksum and structural checks.
    struct Header {
        var metadata: SnapshotMetadata
        var dataCount: Int
    }

    // MARK: Header

    /// The complete header for a snapshot of `metadata` with `dataCount` bytes of data,
    /// ending with its own checksum.
    static func encodeHeader(_ metadata: SnapshotMetadata, dataCount: Int) -> [UInt8] {
        let configuration = encodeConfiguration(metadata.configuration)
        precondition(configuration.count <= UInt32.max, "configuration block of \(configuration.count) bytes")
        var bytes: [UInt8] = []
        bytes.reserveCapacity(fixedPrefixCount + configuration.count + 8 + checksumCount)
        bytes += magic
        append(version, to: &bytes)
        append(metadata.index.value, to: &bytes)
        append(metadata.term.value, to: &bytes)
        append(UInt32(configuration.count), to: &bytes)
        bytes += configuration
        append(UInt64(dataCount), to: &bytes)
        append(CRC32C.checksum(bytes), to: &bytes)
        return bytes
    }

    /// Checks the fixed prefix of a file of `fileSize` bytes (magic, then version) and returns the
    /// size of the whole header. `prefix` holds the file's first bytes, fewer when it is shorter.
    static func headerCount(prefix: [UInt8], fileSize: Int, path: String) throws(StorageError) -> Int {
        guard prefix.starts(with: magic.prefix(prefix.count)) else {
            throw .corrupt(path: path, reason: "not a snapshot file: bad magic bytes")
        }
        guard prefix.count >= fixedPrefixCount else {
            throw .corrupt(
                path: path,
                reason: fileSize == 0
                    ? "truncated: empty file"
                    : "truncated: \(fileSize) bytes, shorter than the \(fixedPrefixCount)-byte fixed header")
        }
        var reader = Reader(prefix, from: magic.count)
        let fileVersion = reader.read(UInt16.self)!
        guard fileVersion == version else {
            throw .corrupt(path: path, reason: "format version \(fileVersion), expected \(version)")
        }
        _ = reader.read(UInt64.self)  // index and term: trusted only once the checksum is
        _ = reader.read(UInt64.self)
        let configurationCount = Int(reader.read(UInt32.self)!)
        return fixedPrefixCount + configurationCount + 8 + checksumCount
    }

    /// Verifies and decodes a whole header (`headerCount(prefix:fileSize:path:)` bytes).
    static func decodeHeader(_ bytes: [UInt8], path: String) throws(StorageError) -> Header {
        let body = bytes.count - checksumCount
        var reader = Reader(bytes, from: body)
        let stored = reader.read(UInt32.self)!
        let computed = CRC32C.checksum(bytes[..<body])
        guard stored == computed else {
            throw .corrupt(
                path: path,
                reason: "header checksum mismatch: stored \(hex(stored)), computed \(hex(computed))")
        }
        reader = Reader(bytes, from: magic.count + 2)
        let index = LogIndex(reader.read(UInt64.self)!)
        let term = Term(reader.read(UInt64.self)!)
        let configurationEnd = fixedPrefixCount + Int(reader.read(UInt32.self)!)
        let configuration = try decodeConfiguration(
            bytes[fixedPrefixCount..<configurationEnd], path: path)
        reader = Reader(bytes, from: configurationEnd)
        let dataCount = reader.read(UInt64.self)!
        guard dataCount <= UInt64(Int.max - bytes.count - checksumCount) else {
            throw .corrupt(path: path, reason: "impossible data length \(dataCount)")
        }
        return Header(
            metadata: SnapshotMetadata(index: index, term: term, configuration: configuration),
            dataCount: Int(dataCount))
    }

    // MARK: Configuration block

    /// The configuration in its one binary form (`ClusterConfiguration.encoded()`): members with
    /// their addresses and voter flags.
    static func encodeConfiguration(_ configuration: ClusterConfiguration) -> [UInt8] {
        configuration.encoded()
    }

    /// Decodes a configuration block, which must be used exactly: anything else can only come
    /// from a broken writer or a damaged file.
    static func decodeConfiguration(_ bytes: ArraySlice<UInt8>, path: String) throws(StorageError)
        -> ClusterConfiguration
    {
        do {
            return try ClusterConfiguration(decoding: bytes)
        } catch {
            throw .corrupt(path: path, reason: "configuration: \(error)")
        }
    }

    // MARK: File names

    /// Files being written end in this; a completed file is renamed to drop it.
    static let temporarySuffix = ".tmp"
    private static let namePrefix = "snapshot-"
    private static let nameSuffix = ".snap"
    private static let digits = 20  // UInt64.max has 20 decimal digits

    /// `snapshot-<index>-<term>.snap`, both zero-padded to 20 digits, so that names sort like
    /// (index, term) and the newest snapshot sorts last.
    static func fileName(index: LogIndex, term: Term) -> String {
        namePrefix + padded(index.value) + "-" + padded(term.value) + nameSuffix
    }

    /// The index and term in a snapshot file name; nil for any other name.
    static func parseFileName(_ name: String) -> (index: LogIndex, term: Term)? {
        let utf8 = Array(name.utf8)
        let prefix = Array(namePrefix.utf8)
        let suffix = Array(nameSuffix.utf8)
        guard utf8.count == prefix.count + digits + 1 + digits + suffix.count,
            utf8.starts(with: prefix), utf8.reversed().starts(with: suffix.reversed()),
            utf8[prefix.count + digits] == UInt8(ascii: "-")
        else { return nil }
        func number(at start: Int) -> UInt64? {
            let field = utf8[start..<start + digits]
            guard field.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
            return UInt64(String(decoding: field, as: UTF8.self))  // nil past UInt64.max
        }
        guard let index = number(at: prefix.count), let term = number(at: prefix.count + digits + 1) else {
            return nil
        }
        return (LogIndex(index), Term(term))
    }

    // MARK: Helpers

    static func append(_ value: some FixedWidthInteger, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    static func hex(_ checksum: UInt32) -> String {
        let digits = String(checksum, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }

    private static func padded(_ value: UInt64) -> String {
        let text = String(value)
        return String(repeating: "0", count: digits - text.count) + text
    }
}

extension SnapshotFileFormat {
    /// Reads little-endian integers and byte runs from a buffer, answering nil past its end.
    struct Reader {
        private let bytes: ArraySlice<UInt8>
        private var position: Int

        init(_ bytes: [UInt8], from offset: Int = 0) {
            self.init(bytes[...], from: offset)
        }

        init(_ bytes: ArraySlice<UInt8>, from offset: Int = 0) {
            self.bytes = bytes
            position = bytes.startIndex + offset
        }

        var remaining: Int { bytes.endIndex - position }

        mutating func read<Value: FixedWidthInteger>(_: Value.Type) -> Value? {
            guard let run = read(count: MemoryLayout<Value>.size) else { return nil }
            return run.reversed().reduce(Value.zero) { $0 << 8 | Value($1) }
        }

        mutating func read(count: Int) -> ArraySlice<UInt8>? {
            guard count >= 0, count <= remaining else { return nil }
            defer { position += count }
            return bytes[position..<position + count]
        }
    }
}
