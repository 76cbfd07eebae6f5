import NIOCore

/// Writes the API's small JSON response bodies straight into a `ByteBuffer`: flat objects of
/// strings, integers, booleans and nulls, in the order given. (`StatusReport` goes through `JSONEncoder`.)
package struct JSONWriter {
    /// A member value of a response object.
    package enum Value: Sendable, Equatable {
        case string(String)
        case integer(UInt64)
        case bool(Bool)
        case null
    }

    /// `{"name": value, ...}` in the order given.
    package static func object(_ members: [(String, Value)]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeStaticString("{")
        for (offset, (name, value)) in members.enumerated() {
            if offset > 0 { buffer.writeStaticString(",") }
            writeString(name, to: &buffer)
            buffer.writeStaticString(":")
            switch value {
            case .string(let string): writeString(string, to: &buffer)
            case .integer(let integer): buffer.writeString(String(integer))
            case .bool(let bool): buffer.writeString(bool ? "true" : "false")
            case .null: buffer.writeStaticString("null")
            }
        }
        buffer.writeStaticString("}")
        return buffer
    }

    /// `string` as a JSON string literal, for messages.
    package static func quoted(_ string: String) -> String {
        var buffer = ByteBuffer()
        writeString(string, to: &buffer)
        return String(buffer: buffer)
    }

    /// Escapes only what RFC 8259 requires: quote, backslash and control characters.
    package static func writeString(_ string: String, to buffer: inout ByteBuffer) {
        buffer.writeStaticString("\"")
        var runStart = string.utf8.startIndex
        var index = runStart
        let utf8 = string.utf8
        while index != utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 {
                buffer.writeBytes(utf8[runStart..<index])
                switch byte {
                case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
                case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
                case 0x0A: buffer.writeStaticString("\\n")
                case 0x0D: buffer.writeStaticString("\\r")
                case 0x09: buffer.writeStaticString("\\t")
                default:
                    let hex = String(byte, radix: 16)
                    buffer.writeString("\\u00" + (hex.utf8.count == 1 ? "0" + hex : hex))
                }
                runStart = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
        buffer.writeBytes(utf8[runStart..<index])
        buffer.writeStaticString("\"")
    }
}
