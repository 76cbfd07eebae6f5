import Foundation
import Histogram
import KeyValBench
import KeyValClient
import RaftCore
import Testing

@Suite("keyval-bench: counting, the check and the summary")
struct ReportTests {
    @Test("the counter check: growth between acknowledged and acknowledged + uncertain")
    func counterCheck() {
        let increments = Increments(acknowledged: 100, uncertain: 5)
        for growth: UInt64 in [100, 103, 105] {
            let check = CounterCheck(increments: increments, initialSum: 40, finalSum: 40 + growth)
            #expect(check.passed)
            #expect(check.growth == Int64(growth))
            #expect(
                check.line.hasPrefix(
                    "check: ok (counters grew by \(growth): 100 increments acknowledged, 5 of"))
        }
        let lost = CounterCheck(increments: increments, initialSum: 40, finalSum: 139)
        #expect(!lost.passed)
        #expect(lost.line.hasPrefix("check: FAILED (counters grew by 99, fewer than the 100 acknowledged"))
        let doubled = CounterCheck(increments: increments, initialSum: 40, finalSum: 146)
        #expect(!doubled.passed)
        #expect(
            doubled.line.hasPrefix(
                "check: FAILED (counters grew by 106, more than the 100 acknowledged and 5"))
        let shrunk = CounterCheck(increments: Increments(), initialSum: 40, finalSum: 39)
        #expect(!shrunk.passed && shrunk.growth == -1)
        let unread = CounterCheck(
            increments: increments, initialSum: 40, readFailure: "bench-counter-3: down")
        #expect(!unread.passed && unread.growth == nil)
        #expect(
            unread.line
                == "check: FAILED (the counters could not be read after the run: bench-counter-3: down)")
        // Sums wrap like the counters' UInt64 values.
        let wrapped = CounterCheck(increments: Increments(acknowledged: 2), initialSum: .max, finalSum: 1)
        #expect(wrapped.passed && wrapped.growth == 2)
    }

    @Test("counters: a missing key or a value that is not a count reads as 0")
    func counterValues() {
        #expect(KeySpace.counterValue(nil) == 0)
        #expect(KeySpace.counterValue("12") == 12)
        #expect(KeySpace.counterValue("abc") == 0)
        #expect(KeySpace.counterValue("-3") == 0)
        #expect(KeySpace.counterValue("") == 0)
    }

    @Test("keys and values are made once, per operation kind")
    func keySpace() throws {
        let cas = KeySpace(prefix: "b-", keys: 3, workload: Workload(.cas), valueSize: 10)
        #expect(cas.plainKeys.isEmpty)
        #expect(cas.counterKeys == ["b-counter-0", "b-counter-1", "b-counter-2"])
        let mix = KeySpace(
            prefix: "", keys: 2, workload: try Workload(parsing: "read:1,write:1"), valueSize: 40)
        #expect(mix.plainKeys == ["key-0", "key-1"])
        #expect(mix.counterKeys.isEmpty)
        #expect(mix.value.utf8.count == 40)
        #expect(mix.value.hasPrefix("abcdefghijklmnopqrstuvwxyz0123456789abcd"))
    }

    @Test("SplitMix64 is the published generator")
    func splitMix() {
        var generator = SplitMix64(seed: 0)
        #expect(generator.next() == 0xE220_A839_7B1D_CDAF)
        #expect(generator.next() == 0x6E78_9E6A_A1B9_65F4)
    }

    @Test("every client error has a kind, and the first message of each kind is kept")
    func errorKinds() {
        let errors: [(KeyValClientError, ErrorKind)] = [
            (.noNodeReachable(tried: [], mayHaveApplied: true), .unreachable),
            (.unavailable(message: "no leader", mayHaveApplied: false), .unavailable),
            (.unavailable(message: "not committed in time", mayHaveApplied: true), .uncertain),
            (.outcomeUnknown("expired"), .expired),
            (.rejected(status: 413, message: "too large"), .rejected),
            (.unexpectedAnswer(status: 500, message: "boom", mayHaveApplied: true), .unexpected),
        ]
        var tally = ErrorTally()
        for (error, kind) in errors {
            #expect(ErrorKind(error) == kind)
            tally.record(error)
        }
        tally.record(.unavailable(message: "later", mayHaveApplied: false))
        #expect(tally[.unavailable] == 2)
        #expect(tally[.uncertain] == 1)
        #expect(tally.total == 7)
        #expect(tally.firstMessage(of: .unavailable) == "the cluster is unavailable: no leader")
        var merged = ErrorTally()
        merged.record(.rejected(status: 400, message: "bad key"))
        merged.add(tally)
        #expect(merged[.rejected] == 2)
        #expect(merged.firstMessage(of: .rejected) == "bad key")
        #expect(
            merged.firstMessage(of: .unexpected)
                == "unexpected answer (HTTP 500): boom; the write may or may not have been applied")
    }

    @Test("a progress line: its exact form, read back")
    func progressLine() {
        let line = ProgressLine(
            second: 3, tally: Tally(attempts: 4210, reads: 0, writes: 4180, conflicts: 12, errors: 18),
            maxMilliseconds: 412.34)
        #expect(
            line.text == "   3s  attempts 4210  reads 0  writes 4180  conflicts 12  errors 18  max-ms 412.3")
        var parsed = ProgressLine(parsing: line.text)
        parsed?.maxMilliseconds = 412.34
        #expect(parsed == line)
        #expect(ProgressLine(parsing: "summary  cas, 8 clients") == nil)
        #expect(ProgressLine(parsing: "   3s  attempts 1  reads 0  writes 1  conflicts 0  errors 0") == nil)
        #expect(
            ProgressLine(parsing: "   3s  attempts 1  reads 0  writes x  conflicts 0  errors 0  max-ms 1.0")
                == nil)
    }

    @Test("latency percentiles from a histogram of microseconds, in milliseconds")
    func latency() {
        var histogram = Histogram<UInt64>(
            highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
        for microseconds in 1...1_000 { histogram.record(UInt64(microseconds)) }
        histogram.record(412_330)
        let summary = LatencySummary(histogram)
        #expect(summary.count == 1_001)
        #expect(abs(summary.p50 - 0.501) < 0.002)
        #expect(abs(summary.p90 - 0.901) < 0.002)
        #expect(abs(summary.p99 - 0.991) < 0.002)
        #expect(summary.max == 412.33)
        #expect(summary.text.hasPrefix("p50 0.50"))
        #expect(summary.text.hasSuffix("max 412.330"))
        for name in ["p50 ", "p90 ", "p99 ", "p99.9 ", "max "] { #expect(summary.text.contains(name)) }
        #expect(LatencySummary(Histogram<UInt64>(highestTrackableValue: 1_000)).text == "none")
    }

    static func sampleReport(check: CounterCheck?, reads: Int = 20) -> BenchReport {
        var errors = ErrorTally()
        errors.record(.unavailable(message: "no leader \"yet\"", mayHaveApplied: true))
        errors.record(.noNodeReachable(tried: [ServerAddress(host: "a", port: 1)], mayHaveApplied: false))
        let latency = LatencySummary(count: 40, p50: 1.2, p90: 2.5, p99: 9, p999: 40.25, max: 412.3304)
        return BenchReport(
            configuration: BenchConfiguration(
                nodes: [
                    ServerAddress(host: "127.0.0.1", port: 1), ServerAddress(host: "127.0.0.1", port: 2),
                ],
                clients: 8, keys: 100, workload: Workload(.cas), duration: .seconds(2), valueSize: 100,
                stale: false, json: true, seed: 9, timeout: .seconds(5), prefix: "bench-"),
            measured: .seconds(2), elapsed: .milliseconds(2_500), interrupted: false,
            tally: Tally(attempts: 43, reads: reads, writes: 15, conflicts: 5, errors: 2),
            latency: latency, readLatency: latency, writeLatency: latency, errors: errors, check: check,
            seconds: [
                ProgressLine(
                    second: 1, tally: Tally(attempts: 20, reads: 10, writes: 8, conflicts: 2, errors: 0),
                    maxMilliseconds: 3.5),
                ProgressLine(
                    second: 2, tally: Tally(attempts: 23, reads: 10, writes: 7, conflicts: 3, errors: 2),
                    maxMilliseconds: 412.3304),
            ])
    }

    @Test("the text summary")
    func textSummary() {
        let check = CounterCheck(
            increments: Increments(acknowledged: 15, uncertain: 1), initialSum: 3, finalSum: 19)
        let report = Self.sampleReport(check: check)
        let lines = report.text.split(separator: "\n").map(String.init)
        #expect(
            lines == [
                "summary  cas, 8 clients, 100 keys, 2s, linearizable reads",
                "  time        2.00 s measured, 2.50 s until the last request ended",
                "  attempts    43  reads 20  writes 15  conflicts 5  errors 2",
                "  ops         35  14.0/s  reads 8.0/s  writes 6.0/s",
                "  latency ms  p50 1.200  p90 2.500  p99 9.000  p99.9 40.250  max 412.330",
                "  reads ms    p50 1.200  p90 2.500  p99 9.000  p99.9 40.250  max 412.330",
                "  writes ms   p50 1.200  p90 2.500  p99 9.000  p99.9 40.250  max 412.330",
                "  errors      unreachable 1  unavailable 0  uncertain 1  expired 0  rejected 0  unexpected 0",
                "    first unreachable: no node reachable (tried a:1)",
                "    first uncertain: the cluster is unavailable: no leader \"yet\"; the write may or may not have been applied",
                "check: ok (counters grew by 16: 15 increments acknowledged, 1 of unknown outcome)",
            ])
        #expect(report.exitCode == 0)
    }

    @Test("exit codes: 1 when the check failed or nothing succeeded")
    func exitCodes() {
        let failed = CounterCheck(increments: Increments(acknowledged: 15), initialSum: 0, finalSum: 14)
        #expect(Self.sampleReport(check: failed).exitCode == 1)
        #expect(Self.sampleReport(check: nil).exitCode == 0)
        var nothing = Self.sampleReport(check: nil)
        nothing.tally = Tally(attempts: 10, errors: 10)
        #expect(nothing.exitCode == 1)
    }

    @Test("the JSON summary parses and has every figure")
    func jsonSummary() throws {
        let check = CounterCheck(
            increments: Increments(acknowledged: 15, uncertain: 1), initialSum: 3, finalSum: 19)
        let text = Self.sampleReport(check: check).json
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["workload"] as? String == "cas")
        #expect(object["nodes"] as? [String] == ["127.0.0.1:1", "127.0.0.1:2"])
        #expect(object["clients"] as? Int == 8)
        #expect(object["seed"] as? Int == 9)
        #expect(object["duration_s"] as? Double == 2)
        #expect(object["elapsed_s"] as? Double == 2.5)
        #expect(object["interrupted"] as? Bool == false)
        for (name, value) in [
            ("attempts", 43), ("reads", 20), ("writes", 15), ("conflicts", 5), ("errors", 2),
        ] {
            #expect(object[name] as? Int == value, "\(name)")
        }
        #expect(object["ops"] as? Int == 35)
        #expect(object["ops_per_s"] as? Double == 14)
        let latency = try #require(object["latency_ms"] as? [String: [String: Double]])
        #expect(Set(latency.keys) == ["all", "read", "write"])
        #expect(
            latency["all"] == ["count": 40, "p50": 1.2, "p90": 2.5, "p99": 9, "p99_9": 40.25, "max": 412.33])
        let kinds = try #require(object["errors_by_kind"] as? [String: Int])
        #expect(
            kinds == [
                "unreachable": 1, "unavailable": 0, "uncertain": 1, "expired": 0, "rejected": 0,
                "unexpected": 0,
            ])
        let first = try #require(object["first_errors"] as? [String: String])
        #expect(first["uncertain"]?.contains("no leader \"yet\"") == true)
        let checked = try #require(object["check"] as? [String: Any])
        #expect(checked["passed"] as? Bool == true)
        #expect(checked["growth"] as? Int == 16)
        #expect(checked["acknowledged"] as? Int == 15)
        #expect(checked["uncertain"] as? Int == 1)
        let seconds = try #require(object["per_second"] as? [[String: Any]])
        #expect(seconds.count == 2)
        #expect(seconds[1]["errors"] as? Int == 2)
        #expect(seconds[1]["max_ms"] as? Double == 412.33)

        let unchecked = try #require(
            try JSONSerialization.jsonObject(with: Data(Self.sampleReport(check: nil).json.utf8))
                as? [String: Any])
        #expect(unchecked["check"] is NSNull)
    }
}
