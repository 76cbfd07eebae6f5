/// Reads a frame's fields front to back; a read past the end throws `.truncated`, so a length
/// field is always checked against the bytes present before anything is allocated for it.
struct WireReader {
    private let bytes: UnsafeRawBufferPointer
    private var position = 0

    /// `bytes` must stay valid for as long as this reader is used.
    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var remaining: Int { bytes.count - position }

    mutating func byte() throws(WireError) -> UInt8 {
        guard position < bytes.count else { throw .truncated }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func integer<T: FixedWidthInteger>(_: T.Type) throws(WireError) -> T {
        let size = MemoryLayout<T>.size
        guard size <= remaining else { throw .truncated }
        defer { position += size }
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: T.self))
    }

    mutating func bool() throws(WireError) -> Bool {
        switch try byte() {
        case 0: return false
        case 1: return true
        case let other: throw .invalidBoolean(other)
        }
    }

    /// A u32 byte count, then that many bytes.
    mutating func byteString() throws(WireError) -> [UInt8] {
        let count = Int(try integer(UInt32.self))
        return Array(try raw(count))
    }

    /// A u16 byte count, then that many bytes of UTF-8.
    mutating func string() throws(WireError) -> String {
        let count = Int(try integer(UInt16.self))
        guard let text = String(validating: try raw(count), as: UTF8.self) else { throw .invalidUTF8 }
        return text
    }

    private mutating func raw(_ count: Int) throws(WireError) -> UnsafeRawBufferPointer {
        guard count <= remaining else { throw .truncated }
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<(position + count)])
    }
}
