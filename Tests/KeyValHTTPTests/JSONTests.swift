import KeyValClient
import Testing

@testable import KeyValHTTP

/// The JSON parser, writer and percent-decoding as pure functions.
@Suite("JSON and path decoding")
struct JSONTests {
    private func parse(_ text: String) -> Result<JSONValue, JSONParser.Failure> {
        Array(text.utf8).withUnsafeBytes { bytes in
            Result { () throws(JSONParser.Failure) in try JSONParser.parse(bytes) }
        }
    }

    @Test(
        "strings decode escapes and surrogate pairs",
        arguments: [
            (#""plain""#, "plain"), (#""a\"b\\c\/d""#, "a\"b\\c/d"), (#""\b\f\n\r\t""#, "\u{8}\u{c}\n\r\t"),
            (#""\u00e9\u4e2D""#, "é中"), (#""\ud83d\ude00""#, "😀"), ("\"é😀\"", "é😀"),
        ])
    func strings(json: String, expected: String) throws {
        guard case .success(.string(let value)) = parse(json) else {
            Issue.record("\(json) did not parse as a string")
            return
        }
        #expect(value == expected)
    }

    @Test(
        "other values are recognised by kind",
        arguments: [
            ("0", "a number"), ("-1.5e+3", "a number"), ("true", "a boolean"), ("null", "null"),
            (#"[1, "a", [null]]"#, "an array"), (#"{"a": {"b": []}}"#, "an object"),
        ])
    func kinds(json: String, kind: String) throws {
        #expect((try parse(json).get()).kind == kind)
    }

    @Test(
        "malformed documents are refused",
        arguments: [
            "01", "1.", "-", "1e", "tru", "nul", #""\x""#, #""\u12""#, #""\udc00""#, #"{"a" "b"}"#, "[1,]",
            #"{"a":1 "b":2}"#, String(repeating: "[", count: 40) + String(repeating: "]", count: 40), " ",
            "\"open",
        ])
    func malformed(json: String) {
        guard case .failure = parse(json) else {
            Issue.record("\(json) should not parse")
            return
        }
    }

    @Test("duplicate member names are refused at any depth")
    func duplicates() {
        #expect(throws: JSONParser.Failure(message: #"duplicate key "b" in one object"#)) {
            try parse(#"{"a": {"b": 1, "b": 2}}"#).get()
        }
    }

    @Test("the writer escapes quotes, backslashes and control characters only")
    func writer() {
        let buffer = JSONWriter.object([
            ("s", .string("q\"b\\n\n\u{1}é")), ("n", .integer(18_446_744_073_709_551_615)), ("z", .null),
        ])
        #expect(String(buffer: buffer) == #"{"s":"q\"b\\n\n\u0001é","n":18446744073709551615,"z":null}"#)
        #expect(String(buffer: JSONWriter.object([])) == "{}")
    }

    @Test(
        "percent-decoding",
        arguments: [
            ("plain", "plain"), ("a%2Fb", "a/b"), ("%C3%a9", "é"), ("a+b", "a+b"), ("%25", "%"),
        ])
    func decoding(encoded: String, decoded: String) {
        #expect(percentDecoded(Substring(encoded)) == decoded)
    }

    @Test("malformed percent-encoding is refused", arguments: ["%", "%2", "%zz", "%FF", "%C3"])
    func badDecoding(encoded: String) {
        #expect(percentDecoded(Substring(encoded)) == nil)
    }
}
