import Foundation
import KeyValClient
import TestSupport
import Testing

/// The `keyval` client against real `keyvald` processes: the REPL through a pseudo-terminal while
/// its node is killed, the scripted and one-shot modes, and writes retried after a lost answer.
@Suite("keyval client", .serialized)
struct ClientREPLTests {
    static let key = "0d5d3807-5fbf-4228-a657-5a091c4e497f"
    static let value = #"{"name": "Chapayev's Mustache comb"}"#

    @Test("the REPL: the issue's transcript, then its node is killed and it reconnects, then quorum is lost")
    func replThroughFailures() async throws {
        let cluster = try KeyvaldCluster(size: 3)
        defer { Task { await cluster.stop() } }
        try await cluster.startAll()
        let node0 = cluster.nodes[0]
        let repl = try PseudoTerminalProcess(
            try locateExecutable(named: "keyval"),
            ["-H", "127.0.0.1", "-P", "\(node0.httpPort)", "--timeout", "4"],
            environment: ["KEYVAL_HISTORY": ""])
        defer { _ = repl }

        let banner = try await repl.expect("> ")
        let leader = try #require(await cluster.api.agreedLeader(among: cluster.nodes))
        #expect(banner.contains("Connected to keyval cluster "))
        #expect(banner.contains("at 127.0.0.1:\(node0.httpPort) (leader \(leader.id))"))
        #expect(banner.contains("Known nodes:"))
        for node in cluster.nodes {
            let role = node.id == leader.id ? "leader" : "follower"
            #expect(
                banner.contains(
                    "  \(node.id) \(node.httpAddress) \(role)"
                ), "\(banner)")
        }

        // The transcript from the issue, typed as shown.
        repl.type("SET \(Self.key) '\(Self.value)'\r")
        let created = try await repl.expect(" replicas)")
        // The leader counts the members whose acknowledgement it has when it answers: at least a
        // quorum, usually all three.
        #expect(
            created.contains("Created (3 replicas)") || created.contains("Created (2 replicas)"), "\(created)"
        )
        try await repl.expect("> ")
        repl.type("GET \(Self.key)\r")
        try await repl.expect("\n'\(Self.value)'\n")
        try await repl.expect("> ")

        // Freeze the REPL's node and ask at once: the request, stuck on the frozen node, is
        // retried on another one after the attempt timeout, the REPL says it moved, and the
        // answer is the same.
        node0.process?.signal(SIGSTOP)
        repl.type("GET \(Self.key)\r")
        let reconnect = try await repl.expect("'\(Self.value)'\n", timeout: .seconds(20))
        #expect(reconnect.contains("Reconnected to node"), "\(reconnect)")
        #expect(reconnect.contains("Known nodes:"), "\(reconnect)")
        try await repl.expect("> ")
        await node0.kill9()  // it stays down for the rest of the test

        // Writes go on once a leader is elected among the two left; one voter is down.
        repl.type("SET counter 1\r")
        try await repl.expect("Created (2 replicas)", timeout: .seconds(20))
        // The heartbeat's warning may come before or after that answer.
        try await repl.waitUntilShown(
            "WARNING: 2 of 3 voters reachable (node0 not); writes need 2", timeout: .seconds(10))

        // With a second node gone, the heartbeat warns that writes cannot be served.
        let survivors = cluster.nodes.dropFirst()
        let survivingLeader = try #require(await cluster.api.agreedLeader(among: Array(survivors)))
        let other = try #require(survivors.first { $0.id != survivingLeader.id })
        await survivingLeader.kill9()
        try await repl.expect("WARNING: 1 of 3 voters reachable; writes need 2", timeout: .seconds(20))

        // With every node gone, the user is told which nodes were tried.
        await other.kill9()
        try await repl.expect("> ", timeout: .seconds(10))
        repl.type("GET \(Self.key)\r")
        try await repl.expect("Error: no node reachable (tried ", timeout: .seconds(20))
        let tried = try await repl.expect(")\n")
        for node in cluster.nodes { #expect(tried.contains(":\(node.httpPort)"), "\(tried)") }
        try await repl.expect("> ")
        repl.type("EXIT\r")
        #expect(await repl.wait() == 0, "\(repl.transcript)")
    }

    @Test("scripted: commands from a pipe, answers only on stdout, errors on stderr and in the status")
    func scripted() async throws {
        let cluster = try KeyvaldCluster(size: 3)
        defer { Task { await cluster.stop() } }
        try await cluster.startAll()
        let port = cluster.nodes[1].httpPort
        let script = """
            SET k '{"a": "b"}'
            GET k
            set k second
            CAS k 1 nope
            DELETE k
            GET k
            DELETE k
            FROB

            """
        let run = try runClient(["-P", "\(port)"], input: script)
        let lines = run.output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.count == 8, "\(run.output)")
        guard lines.count == 8 else { return }
        #expect(lines[0].hasPrefix("Created ("))
        #expect(lines[1] == #"'{"a": "b"}'"#)
        #expect(lines[2].hasPrefix("Updated ("))
        #expect(lines[3].hasPrefix("Version conflict (now "))
        #expect(lines[4] == "Deleted")
        #expect(lines[5] == "Not found")
        #expect(lines[6] == "Not found")
        #expect(lines[7] == "")
        #expect(run.error == "Error: unknown command FROB; type HELP for the list\n")
        #expect(run.status == 2)
    }

    @Test("one-shot: a value prints bare, and the exit code says what happened")
    func oneShot() async throws {
        let cluster = try KeyvaldCluster(size: 1)
        defer { Task { await cluster.stop() } }
        try await cluster.startAll()
        let port = "\(cluster.nodes[0].httpPort)"
        var run = try runClient(["-H", "127.0.0.1", "-P", port, "set", "greeting", "hello", "world"])
        #expect(run.status == 0 && run.output == "Created (1 replica)\n", "\(run)")
        run = try runClient(["-P", port, "get", "greeting"])
        #expect(run.status == 0 && run.output == "hello world\n", "\(run)")
        run = try runClient(["-P", port, "get", "missing"])
        #expect(run.status == 1 && run.output == "Not found\n", "\(run)")
        run = try runClient(["-P", port, "cas", "greeting", "1", "x"])
        #expect(run.status == 1 && run.output.hasPrefix("Version conflict (now "), "\(run)")
        run = try runClient(["-P", port, "frob"])
        #expect(run.status == 2, "\(run)")
        #expect(run.error.contains("unknown command frob"), "\(run)")
        // Every node down: exit 3 and the nodes tried.
        let free = try freeLoopbackPort()
        run = try runClient(["-P", "\(free)", "--nodes", "127.0.0.1:\(try freeLoopbackPort())", "get", "k"])
        #expect(run.status == 3, "\(run)")
        #expect(
            run.error.hasPrefix("Error: no node reachable (tried 127.0.0.1:\(free), 127.0.0.1:"), "\(run)")
    }

    @Test("a write whose answer is lost is retried on another node and applies once")
    func retriedWriteAppliesOnce() async throws {
        let cluster = try KeyvaldCluster(size: 3)
        defer { Task { await cluster.stop() } }
        try await cluster.startAll()
        let leader = try #require(await cluster.api.agreedLeader(among: cluster.nodes))
        let others = cluster.nodes.filter { $0.id != leader.id }
        // The session's first node is a proxy to the leader that passes requests on and drops
        // the answers: every write it carries applies, and the client never hears of it.
        let proxy = try await AnswerDroppingProxy.start(forwardingTo: leader.httpPort)
        defer { Task { await proxy.stop() } }
        let http = HTTPClient()
        defer { Task { await http.shutdown() } }
        let session = KeyValSession(
            seeds: [ServerAddress(host: "127.0.0.1", port: proxy.port)]
                + others.map { ServerAddress(host: "127.0.0.1", port: $0.httpPort) },
            httpClient: http)

        let first = try await session.set("once", "v1")
        #expect(proxy.forwardedRequests >= 1)
        // Applied twice, the second would have found the key and answered "updated" at a later
        // version.
        #expect(first.created, "the retry was applied again: \(first)")
        let stored = try #require(try await session.get("once"))
        #expect(stored.version == first.version && stored.value == "v1")

        // The next write of the session is a new request: it applies (once) and moves the version.
        let second = try await session.set("once", "v2")
        #expect(!second.created && second.version > first.version)
        #expect(try await session.get("once")?.version == second.version)
    }

    /// Runs `keyval` with stdin from `input` (a pipe) and returns what it printed.
    private func runClient(_ arguments: [String], input: String = "") throws -> (
        status: Int32, output: String, error: String
    ) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try locateExecutable(named: "keyval"))
        process.arguments = arguments
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let error = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (
            process.terminationStatus, String(decoding: output, as: UTF8.self),
            String(decoding: error, as: UTF8.self)
        )
    }
}
