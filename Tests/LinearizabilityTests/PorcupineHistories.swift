import Foundation
import Linearizability
import Testing

/// Readers for the histories in `shared/testdata/porcupine` (see its README.md), with the
/// verdicts Porcupine's own tests assert for them.
enum PorcupineHistories {
    /// `<package root>/../shared/testdata/porcupine`, found from this file so it works from any
    /// working directory.
    static let directory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // LinearizabilityTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // package root
        .appendingPathComponent("../shared/testdata/porcupine")
        .standardizedFileURL

    /// One file of `expected.json`, or a stand-in that fails the test when the data is missing:
    /// an empty argument list would pass silently, and CI always has the data.
    struct Case: Sendable, CustomTestStringConvertible {
        var file: String
        var isLinearizable: Bool?
        var loadError: String?

        var testDescription: String { file }
    }

    /// Every file with a verdict in `expected.json`, sorted by name.
    static let cases: [Case] = {
        do {
            return try loadExpected().map { Case(file: $0.key, isLinearizable: $0.value) }
                .sorted { $0.file < $1.file }
        } catch {
            return [Case(file: "expected.json", loadError: "\(error)")]
        }
    }()

    static func loadExpected() throws -> [String: Bool] {
        let url = directory.appendingPathComponent("expected.json")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ParseError(
                "Porcupine test data not found at \(directory.path): expected.json is missing. "
                    + "It must sit beside the package, in ../shared/testdata/porcupine.")
        }
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
        guard let root = object as? [String: Any], let expected = root["expected"] as? [String: Bool] else {
            throw ParseError("\(url.path): no \"expected\" object of file → Bool")
        }
        return expected
    }

    static func text(of file: String) throws -> String {
        let url = directory.appendingPathComponent(file)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ParseError("Porcupine test data file missing: \(url.path)")
        }
        return try String(contentsOf: url, encoding: .utf8)
    }

    // MARK: Jepsen etcd logs

    /// Parses a Jepsen etcd log into a register history. Time is the line number. `:fail`
    /// operations certainly did not take effect and are dropped; `:info` ones, and any still
    /// pending at the end, have unknown outcome.
    static func jepsenHistory(_ text: String) throws -> [RegisterModel.Operation] {
        typealias RegisterOperation = RegisterModel.Operation
        var pending: [Int: RegisterOperation] = [:]
        var completed: [RegisterOperation] = []
        for (lineIndex, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            guard let marker = line.range(of: "jepsen.util - ") else { continue }
            let time = Int64(lineIndex)
            let fields = line[marker.upperBound...].split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 4, let process = Int(fields[0]) else {
                throw ParseError("line \(lineIndex + 1): expected process, type, f, value: \(line)")
            }
            let type = fields[1]
            let function = fields[2]
            let value = fields[3...].joined(separator: " ")
            func fail(_ why: String) -> ParseError { ParseError("line \(lineIndex + 1): \(why): \(line)") }

            switch type {
            case ":invoke":
                guard pending[process] == nil else { throw fail("second invoke before completion") }
                let input: RegisterModel.Input
                switch function {
                case ":read":
                    input = .read
                case ":write":
                    guard let written = Int(value) else { throw fail("bad write value") }
                    input = .write(written)
                case ":cas":
                    guard let (expected, new) = casPair(value) else { throw fail("bad cas value") }
                    input = .cas(expected: expected, new: new)
                default:
                    throw fail("unknown operation")
                }
                pending[process] = .unknownOutcome(clientID: process, input, invokedAt: time)
            case ":ok", ":fail", ":info":
                guard var operation = pending.removeValue(forKey: process) else {
                    throw fail("completion without an invoke")
                }
                if type == ":fail" { continue }
                if type == ":info" {
                    completed.append(operation)
                    continue
                }
                switch operation.input {
                case .read:
                    if value == "nil" {
                        operation.output = .read(nil)
                    } else if let read = Int(value) {
                        operation.output = .read(read)
                    } else {
                        throw fail("bad read value")
                    }
                case .write:
                    operation.output = .write
                case .cas:
                    operation.output = .cas(succeeded: true)
                }
                operation.returnedAt = time
                completed.append(operation)
            default:
                throw fail("unknown event type")
            }
        }
        return completed + pending.values.sorted { $0.invokedAt < $1.invokedAt }
    }

    /// `[a b]` → `(a, b)`.
    private static func casPair(_ value: String) -> (Int, Int)? {
        guard value.hasPrefix("["), value.hasSuffix("]") else { return nil }
        let numbers = value.dropFirst().dropLast().split(separator: " ").compactMap { Int($0) }
        return numbers.count == 2 ? (numbers[0], numbers[1]) : nil
    }

    // MARK: kv EDN histories

    /// Parses a kv history (one EDN map per line) into a key-value history. Time is the line
    /// number; each `:ok` completes the same process's pending call.
    static func kvHistory(_ text: String) throws -> [KeyValueModel.Operation] {
        typealias KVOperation = KeyValueModel.Operation
        var pending: [Int: KVOperation] = [:]
        var completed: [KVOperation] = []
        for (lineIndex, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.allSatisfy(\.isWhitespace) { continue }
            func fail(_ why: String) -> ParseError { ParseError("line \(lineIndex + 1): \(why): \(line)") }
            let map: [String: EDNValue]
            do {
                var parser = EDNParser(line)
                map = try parser.parseMap()
            } catch {
                throw fail("\(error)")
            }
            guard case .integer(let process)? = map["process"], case .keyword(let type)? = map["type"],
                case .keyword(let function)? = map["f"], case .string(let key)? = map["key"]
            else { throw fail("missing :process, :type, :f or :key") }
            let value: String?
            switch map["value"] {
            case .string(let string)?: value = string
            case .none, .nil?: value = nil
            default: throw fail("bad :value")
            }
            let time = Int64(lineIndex)

            switch type {
            case "invoke":
                guard pending[process] == nil else { throw fail("second invoke before completion") }
                let input: KeyValueModel.Input
                switch (function, value) {
                case ("get", _): input = .get(key: key)
                case ("put", let value?): input = .put(key: key, value: value)
                case ("append", let value?): input = .append(key: key, value: value)
                default: throw fail("unknown operation or missing value")
                }
                pending[process] = .unknownOutcome(clientID: process, input, invokedAt: time)
            case "ok":
                guard var operation = pending.removeValue(forKey: process) else {
                    throw fail("completion without an invoke")
                }
                switch operation.input {
                case .get: operation.output = .get(value)
                case .put: operation.output = .put
                case .append: operation.output = .append
                case .delete, .cas: throw fail("unreachable: the parser makes no delete or cas")
                }
                operation.returnedAt = time
                completed.append(operation)
            default:
                throw fail("unknown event type")
            }
        }
        return completed + pending.values.sorted { $0.invokedAt < $1.invokedAt }
    }

    /// The value of one EDN map entry; only what the kv files use.
    enum EDNValue: Equatable {
        case keyword(String)
        case string(String)
        case integer(Int)
        case `nil`
    }

    /// A parser for one flat EDN map of keyword keys: `{:k v, :k v}` (commas are whitespace).
    struct EDNParser {
        private var characters: [Character]
        private var position = 0

        init(_ line: Substring) { characters = Array(line) }

        mutating func parseMap() throws -> [String: EDNValue] {
            skipWhitespace()
            try expect("{")
            var map: [String: EDNValue] = [:]
            while true {
                skipWhitespace()
                if peek == "}" {
                    position += 1
                    break
                }
                guard case .keyword(let key) = try parseValue() else {
                    throw ParseError("map key is not a keyword")
                }
                skipWhitespace()
                map[key] = try parseValue()
            }
            skipWhitespace()
            guard position == characters.count else { throw ParseError("text after the map") }
            return map
        }

        private var peek: Character? { position < characters.count ? characters[position] : nil }

        private mutating func expect(_ character: Character) throws {
            guard peek == character else { throw ParseError("expected \(character) at \(position)") }
            position += 1
        }

        private mutating func skipWhitespace() {
            while let character = peek, character.isWhitespace || character == "," { position += 1 }
        }

        private mutating func parseValue() throws -> EDNValue {
            switch peek {
            case ":":
                position += 1
                return .keyword(token())
            case "\"":
                position += 1
                var string = ""
                while let character = peek, character != "\"" {
                    position += 1
                    if character == "\\" {
                        guard let escaped = peek else { break }
                        position += 1
                        switch escaped {
                        case "n": string.append("\n")
                        case "t": string.append("\t")
                        default: string.append(escaped)
                        }
                    } else {
                        string.append(character)
                    }
                }
                try expect("\"")
                return .string(string)
            default:
                let word = token()
                if word == "nil" { return .nil }
                if let integer = Int(word) { return .integer(integer) }
                throw ParseError("unexpected token \"\(word)\" at \(position)")
            }
        }

        /// Characters up to the next delimiter.
        private mutating func token() -> String {
            let start = position
            while let character = peek, !character.isWhitespace, character != ",", character != "}" {
                position += 1
            }
            return String(characters[start..<position])
        }
    }

    struct ParseError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}
