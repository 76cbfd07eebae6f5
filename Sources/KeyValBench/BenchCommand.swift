import ArgumentParser

/// `keyval-bench [options]`: the flags. `BenchMain` runs them.
package struct BenchCommand: ParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "keyval-bench",
        abstract: "Load a keyval cluster with concurrent clients, and watch it through failovers.",
        discussion: """
            Each client is its own session (client id and write sequence), sends one request at a time, \
            fails over between the listed nodes and waits out elections; errors are counted, never fatal. \
            A client's node is one of --nodes: its reads go there, and its writes go straight to the \
            leader once it knows it (from its first write's answer), falling back to its node. \
            Once a second a line with that second's figures (stdout; stderr with --json), then a summary: \
            ops/s, latency percentiles, errors by kind. The cas workload reads a counter and \
            compare-and-sets it to its value + 1; after the run it checks that the counters grew by at least \
            the acknowledged increments and at most those plus the ones of unknown outcome. Exit codes: 0 \
            done, 1 check failed or no operation succeeded, 2 bad flags.
            """)

    @Option(
        help:
            "HTTP addresses of the nodes, comma-separated (host:port, or :port for localhost). Client i's node is the (i mod n)-th: reads go there, writes to the leader."
    )
    var nodes = "127.0.0.1:11000"

    @Option(help: "Concurrent clients, each with its own session.")
    var clients = 16

    @Option(help: "How many keys the clients choose from at random (for cas: how many counters).")
    var keys = 1_000

    @Option(help: "write, read, cas, or a weighted mix such as read:90,write:10.")
    var workload = "write"

    @Option(help: "How long to run (e.g. 30s, 500ms, 2m). Ctrl-C stops early with a summary.")
    var duration = "10s"

    @Option(help: "Bytes per written value (cas writes counters instead).")
    var valueSize = 100

    @Flag(help: "Read each node's own copy (?consistency=stale) instead of linearizable reads.")
    var stale = false

    @Flag(help: "Write the summary as JSON to stdout; progress lines and the text summary go to stderr.")
    var json = false

    @Option(help: "Seed of the clients' random choices (default: random; the summary shows it).")
    var seed: UInt64?

    @Option(help: "How long one operation may take, retries and failovers included.")
    var timeout = "5s"

    @Option(help: "Prefix of the keys: <prefix>key-<i> for reads and writes, <prefix>counter-<i> for cas.")
    var prefix = "bench-"

    package init() {}

    /// The flags' values, checked.
    package func benchConfiguration() throws(UsageError) -> BenchConfiguration {
        let nodes = try BenchConfiguration.nodes(nodes)
        guard (1...10_000).contains(clients) else { throw UsageError("--clients must be from 1 to 10000") }
        guard (1...10_000_000).contains(keys) else { throw UsageError("--keys must be from 1 to 10000000") }
        let workload = try Workload(parsing: workload)
        guard let duration = DurationText.parse(duration) else {
            throw UsageError("--duration \(duration): use a duration such as 30s, 500ms or 2m")
        }
        guard (0...1 << 20).contains(valueSize) else {
            throw UsageError("--value-size must be from 0 to 1048576 bytes (the server's limit)")
        }
        guard let timeout = DurationText.parse(timeout) else {
            throw UsageError("--timeout \(timeout): use a duration such as 5s or 500ms")
        }
        guard prefix.utf8.count <= 900 else { throw UsageError("--prefix is longer than 900 bytes") }
        // A random seed has 53 bits, so that it survives JSON readers that hold numbers as doubles.
        var generator = SystemRandomNumberGenerator()
        return BenchConfiguration(
            nodes: nodes, clients: clients, keys: keys, workload: workload, duration: duration,
            valueSize: valueSize, stale: stale, json: json, seed: seed ?? (generator.next() >> 11),
            timeout: timeout,
            prefix: prefix)
    }

    /// What the command line asks for.
    package enum Request: Equatable {
        case run(BenchConfiguration)
        /// `--help`: the text to print (exit code 0).
        case help(String)
        /// Bad flags: the one line to print (exit code 2).
        case usage(String)
    }

    package static func interpret(_ arguments: [String]) -> Request {
        do {
            let command = try parse(arguments)
            do throws(UsageError) {
                return .run(try command.benchConfiguration())
            } catch {
                return .usage("keyval-bench: \(error.message)")
            }
        } catch {
            if exitCode(for: error) == .success { return .help(fullMessage(for: error)) }
            let message = message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            return .usage("keyval-bench: \(message) (keyval-bench --help shows the options)")
        }
    }
}
