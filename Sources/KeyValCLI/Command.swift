/// One command of the client, parsed from a REPL line or from one-shot arguments.
public enum Command: Sendable, Equatable {
    case get(key: String)
    case set(key: String, value: String)
    case delete(key: String)
    /// Write `value` only if the key is at `version`; version 0 means "only if the key is absent".
    case compareAndSet(key: String, version: UInt64, value: String)
    case status
    case nodes
    case help
    case exit

    /// Why a line is not a command, in words for the user.
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Parses a REPL line: a command word (any case), then its arguments separated by spaces or
    /// tabs. A value is the rest of the line, with one pair of surrounding quotes (`'…'` or `"…"`)
    /// removed, so a JSON document can be typed as it is. Nil for a blank line.
    public static func parse(line: String) throws(ParseError) -> Command? {
        var rest = Substring(line).trimmingLeadingBlanks()
        guard !rest.isEmpty else { return nil }
        let word = rest.takeWord()
        switch word.uppercased() {
        case "GET":
            return .get(key: try rest.takeKey(for: "GET key", last: true))
        case "SET":
            let key = try rest.takeKey(for: "SET key value", last: false)
            return .set(key: key, value: try rest.takeValue(for: "SET key value"))
        case "DELETE", "DEL":
            return .delete(key: try rest.takeKey(for: "DELETE key", last: true))
        case "CAS":
            let usage = "CAS key version value"
            let key = try rest.takeKey(for: usage, last: false)
            let versionText = rest.takeWord()
            guard let version = UInt64(versionText) else {
                throw ParseError(
                    message: versionText.isEmpty
                        ? "usage: \(usage)"
                        : "the version must be a number (0: only if absent), not \(versionText)")
            }
            return .compareAndSet(key: key, version: version, value: try rest.takeValue(for: usage))
        case "STATUS": return try noArguments(.status, rest)
        case "NODES": return try noArguments(.nodes, rest)
        case "HELP", "?": return .help
        case "EXIT", "QUIT": return try noArguments(.exit, rest)
        default:
            throw ParseError(message: "unknown command \(word); type HELP for the list")
        }
    }

    /// Parses one-shot arguments (`get k`, `set k v`): the shell has already split and unquoted
    /// them, so a value is the remaining arguments joined by single spaces, taken as they are.
    public static func parse(arguments: [String]) throws(ParseError) -> Command {
        guard let word = arguments.first else { throw ParseError(message: "no command given") }
        let rest = Array(arguments.dropFirst())
        func require(_ count: Int, _ usage: String) throws(ParseError) {
            guard count == rest.count || (count < 0 && rest.count >= -count) else {
                throw ParseError(message: "usage: \(usage)")
            }
        }
        switch word.uppercased() {
        case "GET":
            try require(1, "get key")
            return .get(key: rest[0])
        case "SET":
            try require(-2, "set key value")
            return .set(key: rest[0], value: rest[1...].joined(separator: " "))
        case "DELETE", "DEL":
            try require(1, "delete key")
            return .delete(key: rest[0])
        case "CAS":
            try require(-3, "cas key version value")
            guard let version = UInt64(rest[1]) else {
                throw ParseError(message: "the version must be a number (0: only if absent), not \(rest[1])")
            }
            return .compareAndSet(key: rest[0], version: version, value: rest[2...].joined(separator: " "))
        case "STATUS":
            try require(0, "status")
            return .status
        case "NODES":
            try require(0, "nodes")
            return .nodes
        case "HELP":
            return .help
        default:
            throw ParseError(
                message: "unknown command \(word); commands: get, set, delete, cas, status, nodes")
        }
    }

    private static func noArguments(_ command: Command, _ rest: Substring) throws(ParseError) -> Command {
        guard rest.trimmingLeadingBlanks().isEmpty else {
            throw ParseError(message: "\(command.name) takes no arguments")
        }
        return command
    }

    var name: String {
        switch self {
        case .get: "GET"
        case .set: "SET"
        case .delete: "DELETE"
        case .compareAndSet: "CAS"
        case .status: "STATUS"
        case .nodes: "NODES"
        case .help: "HELP"
        case .exit: "EXIT"
        }
    }

    /// The REPL's `HELP` text.
    public static let helpText = """
        GET key                  the key's value (linearizable)
        SET key value            write the value; the value is the rest of the line, and one pair
                                 of quotes around it is removed: SET k '{"a": "b"}'
        DELETE key               delete the key
        CAS key version value    write only if the key is at that version (0: only if it is
                                 absent); a conflict answers with the current version
        STATUS                   this node's view of the cluster
        NODES                    the known nodes and the leader
        HELP                     this text
        EXIT                     leave (also Ctrl-D)
        """
}

extension Substring {
    fileprivate func trimmingLeadingBlanks() -> Substring { drop { $0 == " " || $0 == "\t" } }

    /// Removes and returns the next word (up to a space or tab), and the blanks after it.
    fileprivate mutating func takeWord() -> Substring {
        let end = firstIndex { $0 == " " || $0 == "\t" } ?? endIndex
        let word = self[startIndex..<end]
        self = self[end...].trimmingLeadingBlanks()
        return word
    }

    /// The key argument; with `last`, nothing may follow it.
    fileprivate mutating func takeKey(for usage: String, last: Bool) throws(Command.ParseError) -> String {
        let key = takeWord()
        guard !key.isEmpty, !last || isEmpty else { throw Command.ParseError(message: "usage: \(usage)") }
        return String(key)
    }

    /// The rest of the line as a value, without trailing blanks and one pair of surrounding quotes.
    fileprivate mutating func takeValue(for usage: String) throws(Command.ParseError) -> String {
        var value = self
        while let last = value.last, last == " " || last == "\t" || last == "\r" { value = value.dropLast() }
        guard !value.isEmpty else { throw Command.ParseError(message: "usage: \(usage)") }
        if value.count >= 2, let first = value.first, first == "'" || first == "\"", value.last == first {
            value = value.dropFirst().dropLast()
        }
        self = self[endIndex...]
        return String(value)
    }
}
