/// The summary's JSON, written by hand: members in a fixed order and numbers with fixed decimals,
/// so two runs' files compare line by line. The top-level object and arrays of objects take one
/// line per element; everything else is written inline.
indirect enum JSONText {
    case object([(String, JSONText)])
    case array([JSONText])
    case string(String)
    case integer(Int)
    case unsigned(UInt64)
    /// Non-finite numbers are written as `null`.
    case number(Double, decimals: Int)
    case bool(Bool)
    case null

    var rendered: String { render(depth: 0) }

    private func render(depth: Int) -> String {
        switch self {
        case .object(let members):
            guard !members.isEmpty else { return "{}" }
            let rendered = members.map { Self.quoted($0.0) + ": " + $0.1.render(depth: depth + 1) }
            guard depth == 0 else { return "{" + rendered.joined(separator: ", ") + "}" }
            return "{\n" + rendered.map { "  " + $0 }.joined(separator: ",\n") + "\n}"
        case .array(let elements):
            guard !elements.isEmpty else { return "[]" }
            let rendered = elements.map { $0.render(depth: depth + 1) }
            guard case .object = elements[0] else { return "[" + rendered.joined(separator: ", ") + "]" }
            let inner = String(repeating: "  ", count: depth + 1)
            let outer = String(repeating: "  ", count: depth)
            return "[\n" + rendered.map { inner + $0 }.joined(separator: ",\n") + "\n" + outer + "]"
        case .string(let string): return Self.quoted(string)
        case .integer(let integer): return String(integer)
        case .unsigned(let integer): return String(integer)
        case .number(let number, let decimals): return number.isFinite ? fixed(number, decimals) : "null"
        case .bool(let bool): return bool ? "true" : "false"
        case .null: return "null"
        }
    }

    /// `string` as a JSON string literal: quote, backslash and control characters escaped.
    static func quoted(_ string: String) -> String {
        var result = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.utf8.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
