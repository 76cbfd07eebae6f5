import KeyValBench
import KeyValClient
import RaftCore
import Testing

@Suite("keyval-bench: flags and their values")
struct ParsingTests {
    @Test(
        "durations take a unit",
        arguments: [
            ("500ms", Duration.milliseconds(500)), ("30s", .seconds(30)), ("1.5s", .milliseconds(1_500)),
            ("2m", .seconds(120)), ("1h", .seconds(3_600)), (".5s", .milliseconds(500)),
            ("0.25ms", .microseconds(250)),
        ])
    func durations(text: String, expected: Duration) {
        #expect(DurationText.parse(text) == expected)
    }

    @Test(
        "anything else is not a duration",
        arguments: [
            "", "10", "s", "ms", "0s", "-1s", "1e3s", "10 s", "1.2.3s", "5x", "1sm", "nans", "99999999999h",
        ])
    func notDurations(text: String) {
        #expect(DurationText.parse(text) == nil)
    }

    @Test("durations are described as the flags write them")
    func describeDurations() {
        #expect(DurationText.describe(.seconds(10)) == "10s")
        #expect(DurationText.describe(.milliseconds(1_500)) == "1.5s")
        #expect(DurationText.describe(.milliseconds(250)) == "250ms")
        #expect(DurationText.describe(.seconds(120)) == "120s")
    }

    @Test("fixed decimals without Foundation")
    func fixedDecimals() {
        #expect(fixed(3.14159, 2) == "3.14")
        #expect(fixed(-1.5, 1) == "-1.5")
        #expect(fixed(0, 3) == "0.000")
        #expect(fixed(1_234.5, 0) == "1235")
        #expect(fixed(-0.0001, 2) == "0.00")
        #expect(fixed(12, 1) == "12.0")
        #expect(fixed(0.007, 3) == "0.007")
        #expect(fixed(412.3304, 3) == "412.330")
        #expect(fixed(.infinity, 1) == "inf")
    }

    @Test("a workload is one operation or a weighted mix")
    func workloads() throws {
        let write = try Workload(parsing: "write")
        #expect(write.single == .write)
        #expect(write.description == "write")

        let mix = try Workload(parsing: "read:90,write:10")
        #expect(mix.single == nil)
        #expect(mix.weight(of: .read) == 90)
        #expect(mix.weight(of: .write) == 10)
        #expect(!mix.includes(.cas))
        #expect(mix.description == "read:90,write:10")

        let halves = try Workload(parsing: "write,read")
        #expect(halves.description == "read:1,write:1")
        #expect(try Workload(parsing: "cas=3,read=1").description == "read:1,cas:3")
    }

    @Test("a mix picks operations in proportion to the weights")
    func picks() throws {
        let mix = try Workload(parsing: "read:3,write:1")
        #expect(
            (0..<8).map { mix.pick(UInt64($0)) } == [
                .read, .read, .read, .write, .read, .read, .read, .write,
            ])
        var generator = SplitMix64(seed: 7)
        let reads = (0..<40_000).filter { _ in mix.pick(generator.next()) == .read }.count
        #expect((29_000...31_000).contains(reads))
    }

    @Test(
        "bad workloads are refused with the reason",
        arguments: [
            ("", "use write, read, cas"), ("scan", "use write, read, cas"), ("read:0", "a weight is"),
            ("read:x", "a weight is"), ("read,read:2", "read is given twice"), ("read:1:2", "a weight is"),
            ("read,", "use write, read, cas"),
        ])
    func badWorkloads(text: String, reason: String) {
        #expect {
            try Workload(parsing: text)
        } throws: { error in
            (error as? UsageError)?.message.contains(reason) == true
        }
    }

    @Test("--nodes lists addresses")
    func nodes() throws {
        #expect(
            try BenchConfiguration.nodes("127.0.0.1:11000, :11001") == [
                ServerAddress(host: "127.0.0.1", port: 11000), ServerAddress(host: "localhost", port: 11001),
            ])
        #expect(throws: UsageError("--nodes: x is not host:port")) { try BenchConfiguration.nodes("x") }
        #expect(throws: UsageError("--nodes: an empty address")) {
            try BenchConfiguration.nodes("a:1,,b:2")
        }
        #expect(throws: UsageError("--nodes: a:1 is listed twice")) {
            try BenchConfiguration.nodes("a:1,a:1")
        }
    }

    @Test("the defaults")
    func defaults() throws {
        guard case .run(let configuration) = BenchCommand.interpret([]) else {
            Issue.record("no configuration from no flags")
            return
        }
        #expect(configuration.nodes == [ServerAddress(host: "127.0.0.1", port: 11000)])
        #expect(configuration.clients == 16)
        #expect(configuration.keys == 1_000)
        #expect(configuration.workload == Workload(.write))
        #expect(configuration.duration == .seconds(10))
        #expect(configuration.valueSize == 100)
        #expect(!configuration.stale && !configuration.json)
        #expect(configuration.timeout == .seconds(5))
        #expect(configuration.prefix == "bench-")
        #expect(configuration.seed < 1 << 53)
    }

    @Test("every flag")
    func flags() throws {
        let request = BenchCommand.interpret([
            "--nodes", "a:1,b:2", "--clients", "3", "--keys", "7", "--workload", "cas", "--duration", "500ms",
            "--value-size", "0", "--stale", "--json", "--seed", "42", "--timeout", "2s", "--prefix", "p/",
        ])
        let expected = BenchConfiguration(
            nodes: [ServerAddress(host: "a", port: 1), ServerAddress(host: "b", port: 2)], clients: 3,
            keys: 7,
            workload: Workload(.cas), duration: .milliseconds(500), valueSize: 0, stale: true, json: true,
            seed: 42,
            timeout: .seconds(2), prefix: "p/")
        #expect(request == .run(expected))
        #expect(expected.description == "cas, 3 clients, 7 keys, 500ms, stale reads")
    }

    @Test(
        "bad flags: one line, naming the flag",
        arguments: [
            (["--duration", "10"], "keyval-bench: --duration 10: use a duration such as 30s, 500ms or 2m"),
            (["--clients", "0"], "keyval-bench: --clients must be from 1 to 10000"),
            (["--keys", "0"], "keyval-bench: --keys must be from 1 to 10000000"),
            (["--value-size", "2000000"], "keyval-bench: --value-size must be from 0 to 1048576 bytes"),
            (["--timeout", "soon"], "keyval-bench: --timeout soon: use a duration such as 5s or 500ms"),
            (["--workload", "scan"], "keyval-bench: --workload scan: use write, read, cas"),
            (["--nodes", "nowhere"], "keyval-bench: --nodes: nowhere is not host:port"),
            (["--bogus"], "--bogus"),
            (["--clients", "many"], "many"),
            (["extra"], "extra"),
        ])
    func badFlags(arguments: [String], start: String) {
        guard case .usage(let line) = BenchCommand.interpret(arguments) else {
            Issue.record("\(arguments) accepted")
            return
        }
        #expect(line.hasPrefix("keyval-bench: "))
        #expect(line.contains(start), "\(line)")
        #expect(!line.contains("\n"))
    }

    @Test("--help is help, not an error")
    func help() {
        guard case .help(let text) = BenchCommand.interpret(["--help"]) else {
            Issue.record("--help was not help")
            return
        }
        #expect(text.contains("--workload"))
        #expect(text.contains("--duration"))
    }
}
