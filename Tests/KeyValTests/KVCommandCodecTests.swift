import KeyVal
import Raft
import Testing

@Suite("KVCommand codec")
struct KVCommandCodecTests {
    static let samples: [KVCommand] = [
        .set(["a": "1"]),
        .set(["b": "", "a": "x", "é": "ü", "key with spaces": "{\"json\": true}", "🔑": "\u{0}"]),
        .set(
            Dictionary(
                uniqueKeysWithValues: (0..<200).map { ("key\($0)", String(repeating: "v", count: $0)) })),
        .delete("k"),
        .compareAndSet("k", if: .versionEquals(i(42)), value: "v"),
        .compareAndSet("k", if: .versionEquals(i(.max)), value: "v"),
        .compareAndSet("k", if: .absent, value: ""),
        .compareAndSet("k", if: .exists, value: "v"),
        .set(["a": "1"], client: request(1, 1)),
        .delete("k", client: request(.max, .max)),
        .compareAndSet("k", if: .absent, value: "v", client: request(0x0123_4567_89AB_CDEF << 64 | 42, 300)),
        .set([
            String(repeating: "k", count: KVCommand.maxKeyBytes):
                String(repeating: "v", count: KVCommand.maxValueBytes)
        ]),
    ]

    @Test("every command shape round-trips through encode and decode", arguments: samples)
    func roundTrip(_ command: KVCommand) throws {
        try command.validate()
        let bytes = command.encode()
        #expect(bytes.count == command.encodedByteCount)
        let decoded = try KVCommand.decode(bytes)
        #expect(decoded == command)
        #expect(decoded.encode() == bytes, "the encoding is canonical")
    }

    @Test("a set encodes the same whatever order its dictionary iterates in")
    func setEncodingIsDeterministic() {
        let pairs = (0..<50).map { ("k\($0)", "v\($0)") }
        var forwards: [String: String] = [:]
        for (key, value) in pairs { forwards[key] = value }
        var backwards: [String: String] = [:]
        backwards.reserveCapacity(1000)
        for (key, value) in pairs.reversed() { backwards[key] = value }
        #expect(Array(forwards.keys) != Array(backwards.keys), "precondition: iteration orders differ")
        #expect(KVCommand.set(forwards).encode() == KVCommand.set(backwards).encode())
    }

    @Test("the format is pinned: a known command encodes to known bytes")
    func knownEncoding() {
        let command = KVCommand.compareAndSet(
            "k", if: .versionEquals(i(300)), value: "v", client: request(2, 5))
        let expected: [UInt8] =
            [1, 1] + [UInt8](repeating: 0, count: 15) + [2, 5]  // header, client 2, sequence 5
            + [3, 1, 0x6B] + [1, 0xAC, 0x02] + [1, 0x76]  // cas "k" if version 300 (varint) = "v"
        #expect(command.encode() == expected)
    }

    struct Malformed: Sendable, CustomTestStringConvertible {
        var name: String
        var bytes: [UInt8]
        var error: KVError
        var testDescription: String { name }
    }

    static let malformed: [Malformed] = [
        Malformed(name: "empty input", bytes: [], error: .truncated),
        Malformed(name: "header only", bytes: Wire.header, error: .truncated),
        Malformed(
            name: "format version 2", bytes: [2, 0, 2] + Wire.string("k"), error: .unsupportedFormatVersion(2)
        ),
        Malformed(
            name: "format version 0", bytes: [0, 0, 2] + Wire.string("k"), error: .unsupportedFormatVersion(0)
        ),
        Malformed(
            name: "undefined flag bit", bytes: [1, 0x82, 2] + Wire.string("k"), error: .invalidFlags(0x82)),
        Malformed(name: "unknown operation", bytes: Wire.header + [9], error: .unknownTag(9)),
        Malformed(
            name: "unknown condition", bytes: Wire.header + [3] + Wire.string("k") + [7] + Wire.string("v"),
            error: .unknownTag(7)),
        Malformed(name: "truncated key", bytes: Wire.header + [2, 5, 0x61, 0x62], error: .truncated),
        Malformed(
            name: "truncated client ID", bytes: [1, 1] + [UInt8](repeating: 0, count: 10), error: .truncated),
        Malformed(
            name: "sequence zero", bytes: Wire.header(client: 1, sequence: 0) + [2] + Wire.string("k"),
            error: .invalidSequence),
        Malformed(name: "empty key", bytes: Wire.header + [2] + Wire.string(""), error: .emptyKey),
        Malformed(
            name: "key one byte over the limit",
            bytes: Wire.header + [2] + Wire.string(String(repeating: "k", count: KVCommand.maxKeyBytes + 1)),
            error: .keyTooLong(bytes: KVCommand.maxKeyBytes + 1)),
        Malformed(
            name: "absurd key length", bytes: Wire.header + [2] + Wire.varint(1 << 62),
            error: .keyTooLong(bytes: 1 << 62)),
        Malformed(
            name: "absurd value length",
            bytes: Wire.header + [3] + Wire.string("k") + [2] + Wire.varint(.max),
            error: .valueTooLong(bytes: .max)),
        Malformed(
            name: "value length over the limit, no value bytes",
            bytes: Wire.header + [3] + Wire.string("k") + [2]
                + Wire.varint(UInt64(KVCommand.maxValueBytes + 1)),
            error: .valueTooLong(bytes: KVCommand.maxValueBytes + 1)),
        Malformed(
            name: "absurd set count", bytes: Wire.header + [1] + Wire.varint(1 << 40) + Wire.string("k"),
            error: .truncated),
        Malformed(name: "empty set", bytes: Wire.header + [1, 0], error: .emptySet),
        Malformed(
            name: "key is not UTF-8", bytes: Wire.header + [2] + Wire.string([0x61, 0xFF]),
            error: .invalidUTF8),
        Malformed(
            name: "value is overlong UTF-8",
            bytes: Wire.header + [3] + Wire.string("k") + [2] + Wire.string([0xC0, 0x80]), error: .invalidUTF8
        ),
        Malformed(
            name: "value is a lone surrogate",
            bytes: Wire.header + [3] + Wire.string("k") + [2] + Wire.string([0xED, 0xA0, 0x80]),
            error: .invalidUTF8),
        Malformed(
            name: "set keys out of order",
            bytes: Wire.header + [1, 2] + Wire.string("b") + Wire.string("1") + Wire.string("a")
                + Wire.string("2"),
            error: .unsortedKeys),
        Malformed(
            name: "set key repeated",
            bytes: Wire.header + [1, 2] + Wire.string("a") + Wire.string("1") + Wire.string("a")
                + Wire.string("2"),
            error: .unsortedKeys),
        Malformed(
            // "e" + U+0301 sorts before "é" by bytes, but they are equal `String`s.
            name: "set keys that are canonically equivalent",
            bytes: Wire.header + [1, 2] + Wire.string("e\u{301}") + Wire.string("1") + Wire.string("\u{E9}")
                + Wire.string("2"),
            error: .unsortedKeys),
        Malformed(
            name: "one trailing byte", bytes: Wire.header + [2] + Wire.string("k") + [0],
            error: .trailingBytes(count: 1)),
        Malformed(
            name: "non-minimal varint length", bytes: Wire.header + [2, 0x81, 0x00, 0x6B],
            error: .invalidVarint),
        Malformed(
            name: "varint longer than 64 bits",
            bytes: Wire.header + [3] + Wire.string("k") + [1] + [UInt8](repeating: 0xFF, count: 9) + [0x02]
                + Wire.string("v"),
            error: .invalidVarint),
        Malformed(
            name: "varint that never ends",
            bytes: Wire.header + [3] + Wire.string("k") + [1] + [UInt8](repeating: 0x80, count: 12),
            error: .invalidVarint),
        Malformed(
            name: "input over the command size limit",
            bytes: [UInt8](repeating: 0, count: KVCommand.maxCommandBytes + 1),
            error: .commandTooLarge(bytes: KVCommand.maxCommandBytes + 1)),
    ]

    @Test("malformed input is rejected with the error that names the problem", arguments: malformed)
    func rejectsMalformed(_ input: Malformed) {
        #expect(throws: input.error) { try KVCommand.decode(input.bytes) }
    }

    @Test("every proper prefix of a valid command is rejected")
    func rejectsTruncation() {
        let bytes = KVCommand.set(["alpha": "1", "beta": "22"], client: request(7, 300)).encode()
        for length in 0..<bytes.count {
            #expect(throws: KVError.self, "prefix of \(length) bytes") {
                try KVCommand.decode(Array(bytes[..<length]))
            }
        }
    }

    @Test("arbitrary bytes never trap the decoder, and whatever decodes re-encodes to the same bytes")
    func fuzz() {
        var random = SplitMix64(seed: 42)
        let valid = Self.samples.prefix(11).map { $0.encode() }
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int.random(in: 0...24, using: &random)).map { _ in
                    UInt8.random(in: 0...255, using: &random)
                }
                bytes.insert(1, at: 0)  // mostly get past the version byte
            } else {
                bytes = valid[Int.random(in: 0..<valid.count, using: &random)]
                for _ in 0..<Int.random(in: 1...3, using: &random) {
                    let position = Int.random(in: 0..<bytes.count, using: &random)
                    switch Int.random(in: 0..<3, using: &random) {
                    case 0: bytes[position] ^= UInt8.random(in: 1...255, using: &random)
                    case 1: bytes.remove(at: position)
                    default: bytes.insert(UInt8.random(in: 0...255, using: &random), at: position)
                    }
                    if bytes.isEmpty { break }
                }
            }
            if let command = try? KVCommand.decode(bytes) {
                #expect(command.encode() == bytes, "round \(round): \(command)")
                #expect(throws: Never.self) { try command.validate() }
            }
        }
    }

    struct Invalid: Sendable, CustomTestStringConvertible {
        var command: KVCommand
        var error: KVError
        var testDescription: String { "\(error)" }
    }

    static let invalid: [Invalid] = [
        Invalid(command: .delete(""), error: .emptyKey),
        Invalid(command: .set(["a": "1", "": "2"]), error: .emptyKey),
        Invalid(
            command: .delete(String(repeating: "é", count: 513)), error: .keyTooLong(bytes: 1026)),
        Invalid(
            command: .compareAndSet(
                "k", if: .absent, value: String(repeating: "v", count: KVCommand.maxValueBytes + 1)),
            error: .valueTooLong(bytes: KVCommand.maxValueBytes + 1)),
        Invalid(command: .set([:]), error: .emptySet),
        Invalid(command: .delete("k", client: request(1, 0)), error: .invalidSequence),
        Invalid(
            // Two values at the limit and a third key: 2 MiB + 18 bytes.
            command: .set([
                "a": String(repeating: "v", count: KVCommand.maxValueBytes),
                "b": String(repeating: "v", count: KVCommand.maxValueBytes), "c": "x",
            ]),
            error: .commandTooLarge(bytes: 3 + 1 + 2 * (2 + 3 + KVCommand.maxValueBytes) + 4)),
        Invalid(
            command: .set(
                Dictionary(
                    uniqueKeysWithValues: (0..<3).map { ("k\($0)", String(repeating: "v", count: 800_000)) })),
            error: .commandTooLarge(bytes: 3 + 1 + 3 * (3 + 3 + 800_000))),
    ]

    @Test("validation enforces the key, value and command size limits", arguments: invalid)
    func validation(_ case: Invalid) {
        #expect(throws: `case`.error) { try `case`.command.validate() }
    }

    @Test("a client ID prints as 32 hex digits and parses back")
    func clientIDHex() {
        let id = ClientID(0xAB << 64 | 0x1)
        #expect(id.description == "00000000000000ab0000000000000001")
        #expect(ClientID(hex: id.description) == id)
        #expect(ClientID(hex: "00000000000000AB0000000000000001") == id)
        #expect(ClientID(hex: "+0000000000000ab0000000000000001") == nil)
        #expect(ClientID(hex: "ab") == nil)
        #expect(ClientID.random() != ClientID.random())
    }
}
