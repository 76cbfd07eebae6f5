import Foundation
import KeyValClient
import TestSupport
import Testing

/// `keyval-bench` as a user runs it: against a real 3-node cluster whose leader is killed mid-run,
/// against nodes that are all down, and with a bad flag.
@Suite("keyval-bench against keyvald processes", .serialized, .timeLimit(.minutes(2)))
struct LoadToolTests {
    /// The JSON summary's shape, decoded strictly: a missing or mistyped field fails the test.
    struct Summary: Decodable {
        struct Latency: Decodable {
            var count: Int
            var p50, p90, p99, p99_9, max: Double
        }
        struct Check: Decodable {
            var passed: Bool
            var acknowledged, uncertain: Int
            var growth: Int?
        }
        struct Second: Decodable {
            var second, attempts, reads, writes, conflicts, errors: Int
            var max_ms: Double
        }
        var workload: String
        var clients, attempts, reads, writes, conflicts, errors, ops: Int
        var ops_per_s, duration_s, elapsed_s: Double
        var latency_ms: [String: Latency]
        var errors_by_kind: [String: Int]
        var check: Check?
        var per_second: [Second]
    }

    static let errorKinds = ["unreachable", "unavailable", "uncertain", "expired", "rejected", "unexpected"]

    @Test(
        "cas through a SIGKILL of the leader: progress every second and after the kill, a full summary, JSON, the check passes"
    )
    func casThroughFailover() async throws {
        let cluster = try KeyvaldCluster(size: 3)
        try await cluster.startAll()
        let leader = try #require(await cluster.api.agreedLeader(among: cluster.nodes))
        let nodes = cluster.nodes.map(\.httpAddress).joined(separator: ",")
        let bench = try ChildProcess(
            try locateExecutable(named: "keyval-bench"),
            [
                "--nodes", nodes, "--workload", "cas", "--clients", "4", "--keys", "8", "--duration", "6s",
                "--json",
            ],
            logPrefix: cluster.root + "/bench-cas")
        // The kill lands early in the third second of the load.
        let twoSeconds = await eventually(timeout: .seconds(15)) {
            bench.errorOutput.split(separator: "\n").contains { BenchProgressLine(String($0))?.second == 2 }
        }
        #expect(twoSeconds, "no progress line for the second second:\n\(bench.errorOutput)")
        await leader.kill9()
        let ended = await bench.wait(timeout: .seconds(30))
        let errorOutput = bench.errorOutput
        #expect(ended == .exit(0), "keyval-bench ended with \(ended):\n\(errorOutput)\n\(cluster.logs)")

        // Progress lines (on stderr, as --json keeps stdout for the JSON): one per second.
        let lines = errorOutput.split(separator: "\n").map(String.init)
        let progress = lines.compactMap(BenchProgressLine.init)
        #expect(progress.map(\.second) == Array(1...6), "progress lines:\n\(errorOutput)")
        for line in progress {
            #expect(line.attempts >= line.reads + line.writes + line.conflicts + line.errors - 4, "\(line)")
        }
        #expect(progress.prefix(2).allSatisfy { $0.writes > 0 }, "writes before the kill:\n\(errorOutput)")
        // Requests in flight at the kill wait for the next leader, at least an election timeout
        // (200 ms, less the time since the last heartbeat): the stall shows in a second's slowest
        // request.
        #expect(
            progress.dropFirst(2).contains { $0.maxMilliseconds >= 150 },
            "no stall after the kill:\n\(errorOutput)")
        // An election takes well under a second; the last two seconds must have been busy.
        #expect(progress.suffix(2).allSatisfy { $0.writes > 0 }, "no writes after the kill:\n\(errorOutput)")

        // The text summary, on stderr too.
        let latency = try #require(lines.first { $0.hasPrefix("  latency ms  ") }, "\(errorOutput)")
        for name in ["p50", "p90", "p99", "p99.9", "max"] {
            #expect(
                latency.contains("  \(name) ") || latency.contains("ms  \(name) "), "\(name) in \(latency)")
        }
        let errorsLine = try #require(lines.first { $0.hasPrefix("  errors  ") }, "\(errorOutput)")
        for kind in Self.errorKinds { #expect(errorsLine.contains(" \(kind) "), "\(kind) in \(errorsLine)") }
        #expect(lines.contains { $0.hasPrefix("  attempts    ") })
        #expect(lines.contains { $0.hasPrefix("  ops         ") })
        #expect(lines.contains { $0.hasPrefix("check: ok (") }, "\(errorOutput)")

        // The JSON summary: all of stdout.
        let json = Data(bench.output.utf8)
        #expect(try JSONSerialization.jsonObject(with: json) is [String: Any], "stdout: \(bench.output)")
        let summary = try JSONDecoder().decode(Summary.self, from: json)
        #expect(summary.workload == "cas")
        #expect(summary.clients == 4)
        #expect(summary.ops == summary.reads + summary.writes)
        #expect(summary.ops > 0 && summary.ops_per_s > 0)
        #expect(summary.duration_s == 6)
        #expect(summary.elapsed_s >= 6 && summary.elapsed_s < 12)
        #expect(Set(summary.latency_ms.keys) == ["all", "read", "write"])
        let all = try #require(summary.latency_ms["all"])
        #expect(all.count > 0 && all.p50 > 0 && all.p50 <= all.p90 && all.p90 <= all.p99)
        #expect(all.p99 <= all.p99_9 && all.p99_9 <= all.max)
        #expect(Set(summary.errors_by_kind.keys) == Set(Self.errorKinds))
        #expect(summary.errors_by_kind.values.reduce(0, +) == summary.errors)
        let check = try #require(summary.check)
        #expect(check.passed)
        #expect(check.acknowledged == summary.writes)
        #expect(
            check.growth.map { $0 >= check.acknowledged && $0 <= check.acknowledged + check.uncertain }
                == true)
        #expect(summary.per_second.map(\.second) == progress.map(\.second))
        #expect(summary.per_second.map(\.writes) == progress.map(\.writes))

        // A second run, text on stdout: a mix of stale reads and writes, one listed node down.
        let mixed = try ChildProcess(
            try locateExecutable(named: "keyval-bench"),
            [
                "--nodes", nodes, "--workload", "read:3,write:1", "--stale", "--clients", "3", "--keys", "20",
                "--duration", "2s", "--value-size", "16",
            ],
            logPrefix: cluster.root + "/bench-mixed")
        let mixedEnded = await mixed.wait(timeout: .seconds(20))
        #expect(mixedEnded == .exit(0), "mixed run: \(mixedEnded)\n\(mixed.output)\n\(mixed.errorOutput)")
        let output = mixed.output.split(separator: "\n").map(String.init)
        #expect(output.compactMap(BenchProgressLine.init).count == 2, "\(mixed.output)")
        #expect(output.contains { $0.hasPrefix("wrote 20 keys to read in ") }, "\(mixed.output)")
        #expect(
            output.contains { $0.hasPrefix("summary  read:3,write:1, 3 clients, 20 keys, 2s, stale reads") })
        #expect(output.contains { $0.hasPrefix("  reads ms    p50 ") }, "\(mixed.output)")
        #expect(output.contains { $0.hasPrefix("  writes ms   p50 ") }, "\(mixed.output)")
        #expect(!output.contains { $0.hasPrefix("check:") })
        #expect(mixed.errorOutput.isEmpty, "\(mixed.errorOutput)")
        await cluster.stop()
    }

    @Test("with every node down: errors by kind, no crash, exit code 1")
    func nothingReachable() async throws {
        let root = try makeTemporaryDirectory(prefix: "keyval-bench-test")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let bench = try ChildProcess(
            try locateExecutable(named: "keyval-bench"),
            ["--nodes", "127.0.0.1:\(try freeLoopbackPort())", "--duration", "1s", "--clients", "2"],
            logPrefix: root + "/bench")
        #expect(await bench.wait(timeout: .seconds(15)) == .exit(1))
        let lines = bench.output.split(separator: "\n").map(String.init)
        let second = try #require(lines.compactMap(BenchProgressLine.init).first, "\(bench.output)")
        #expect(second.errors > 0 && second.writes == 0)
        #expect(
            lines.contains { $0.hasPrefix("  errors      unreachable ") && !$0.contains("unreachable 0 ") })
        #expect(lines.contains { $0.hasPrefix("    first unreachable: no node reachable (tried 127.0.0.1:") })
        #expect(bench.errorOutput == "keyval-bench: no operation succeeded\n")
    }

    @Test("a bad flag: one line on stderr, nothing on stdout, exit code 2")
    func badFlag() async throws {
        let root = try makeTemporaryDirectory(prefix: "keyval-bench-test")
        defer { try? FileManager.default.removeItem(atPath: root) }
        for (arguments, message) in [
            (["--duration", "10"], "keyval-bench: --duration 10: use a duration such as 30s, 500ms or 2m\n"),
            (
                ["--bogus"],
                "keyval-bench: Unknown option '--bogus'. Did you mean '--nodes'? (keyval-bench --help shows the options)\n"
            ),
        ] {
            let bench = try ChildProcess(
                try locateExecutable(named: "keyval-bench"), arguments, logPrefix: root + "/bench")
            #expect(await bench.wait(timeout: .seconds(10)) == .exit(2))
            #expect(bench.errorOutput == message)
            #expect(bench.output.isEmpty)
        }
    }
}

/// A progress line of `keyval-bench`, read as a script would: the second, then name-value pairs.
/// (Written here rather than imported, so the test holds the tool to its documented format.)
struct BenchProgressLine: CustomStringConvertible {
    var second, attempts, reads, writes, conflicts, errors: Int
    var maxMilliseconds: Double

    init?(_ line: String) {
        let fields = line.split(separator: " ")
        let names = ["attempts", "reads", "writes", "conflicts", "errors", "max-ms"]
        guard fields.count == 13, fields[0].hasSuffix("s"), let second = Int(fields[0].dropLast()),
            zip(names, stride(from: 1, to: 13, by: 2)).allSatisfy({ fields[$1] == $0 })
        else { return nil }
        let counts = stride(from: 2, to: 12, by: 2).compactMap { Int(fields[$0]) }
        guard counts.count == 5, let maximum = Double(fields[12]) else { return nil }
        self.second = second
        (attempts, reads, writes, conflicts, errors) = (counts[0], counts[1], counts[2], counts[3], counts[4])
        maxMilliseconds = maximum
    }

    var description: String {
        "\(second)s attempts \(attempts) reads \(reads) writes \(writes) conflicts \(conflicts) errors \(errors)"
    }
}
