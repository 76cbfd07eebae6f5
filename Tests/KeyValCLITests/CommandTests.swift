import Testing

@testable import KeyValCLI

@Suite("Command parsing")
struct CommandTests {
    @Test("the issue's SET line keeps the inner quotes and loses the outer pair")
    func setWithQuotedJSON() throws {
        let line = #"SET 0d5d3807-5fbf-4228-a657-5a091c4e497f '{"name": "Chapayev's Mustache comb"}'"#
        #expect(
            try Command.parse(line: line)
                == .set(
                    key: "0d5d3807-5fbf-4228-a657-5a091c4e497f",
                    value: #"{"name": "Chapayev's Mustache comb"}"#))
    }

    @Test("a value is the rest of the line; only one matching pair of quotes is removed")
    func values() throws {
        #expect(try Command.parse(line: "set k hello  world  ") == .set(key: "k", value: "hello  world"))
        #expect(try Command.parse(line: #"SET k "a""#) == .set(key: "k", value: "a"))
        #expect(try Command.parse(line: #"SET k ''x''"#) == .set(key: "k", value: "'x'"))
        #expect(try Command.parse(line: #"SET k 'unbalanced"#) == .set(key: "k", value: "'unbalanced"))
        #expect(try Command.parse(line: #"SET k 'mixed""#) == .set(key: "k", value: #"'mixed""#))
        #expect(try Command.parse(line: "SET k ''") == .set(key: "k", value: ""))
        #expect(try Command.parse(line: "\tSET\tk\tv") == .set(key: "k", value: "v"))
    }

    @Test("every command, in any case")
    func commands() throws {
        #expect(try Command.parse(line: "get a/b") == .get(key: "a/b"))
        #expect(try Command.parse(line: "Delete k") == .delete(key: "k"))
        #expect(try Command.parse(line: "DEL k") == .delete(key: "k"))
        #expect(
            try Command.parse(line: "CAS k 42 new value")
                == .compareAndSet(key: "k", version: 42, value: "new value"))
        #expect(
            try Command.parse(line: "cas k 0 'first'") == .compareAndSet(key: "k", version: 0, value: "first")
        )
        #expect(try Command.parse(line: "STATUS") == .status)
        #expect(try Command.parse(line: "nodes ") == .nodes)
        #expect(try Command.parse(line: "help") == .help)
        #expect(try Command.parse(line: "exit") == .exit)
        #expect(try Command.parse(line: "   ") == nil)
    }

    @Test("wrong lines say what is wrong")
    func errors() {
        #expect(throws: Command.ParseError(message: "usage: GET key")) { try Command.parse(line: "GET") }
        #expect(throws: Command.ParseError(message: "usage: GET key")) { try Command.parse(line: "GET a b") }
        #expect(throws: Command.ParseError(message: "usage: SET key value")) {
            try Command.parse(line: "SET k")
        }
        #expect(
            throws: Command.ParseError(message: "the version must be a number (0: only if absent), not x")
        ) {
            try Command.parse(line: "CAS k x v")
        }
        #expect(throws: Command.ParseError(message: "STATUS takes no arguments")) {
            try Command.parse(line: "STATUS now")
        }
        #expect(throws: Command.ParseError(message: "unknown command FROB; type HELP for the list")) {
            try Command.parse(line: "FROB k")
        }
    }

    @Test("one-shot arguments are taken as the shell split them")
    func arguments() throws {
        #expect(try Command.parse(arguments: ["get", "k"]) == .get(key: "k"))
        #expect(
            try Command.parse(arguments: ["set", "k", "'quoted'", "two"])
                == .set(key: "k", value: "'quoted' two"))
        #expect(
            try Command.parse(arguments: ["cas", "k", "7", "v"])
                == .compareAndSet(key: "k", version: 7, value: "v"))
        #expect(throws: Command.ParseError(message: "usage: set key value")) {
            try Command.parse(arguments: ["set", "k"])
        }
        #expect(throws: Command.ParseError.self) { try Command.parse(arguments: ["exit"]) }
    }
}
