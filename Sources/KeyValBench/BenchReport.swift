/// What a run measured, and how it is printed: the text summary and the JSON one.
package struct BenchReport: Sendable {
    package var configuration: BenchConfiguration
    /// From the start to the end of the duration, or to the interrupt.
    package var measured: Duration
    /// From the start until the last client's last request ended (its own timeout bounds it).
    package var elapsed: Duration
    package var interrupted: Bool
    package var tally: Tally
    package var latency: LatencySummary
    package var readLatency: LatencySummary
    package var writeLatency: LatencySummary
    package var errors: ErrorTally
    /// Only for workloads with compare-and-set increments.
    package var check: CounterCheck?
    package var seconds: [ProgressLine]

    package init(
        configuration: BenchConfiguration, measured: Duration, elapsed: Duration, interrupted: Bool,
        tally: Tally, latency: LatencySummary, readLatency: LatencySummary, writeLatency: LatencySummary,
        errors: ErrorTally, check: CounterCheck?, seconds: [ProgressLine]
    ) {
        self.configuration = configuration
        self.measured = measured
        self.elapsed = elapsed
        self.interrupted = interrupted
        self.tally = tally
        self.latency = latency
        self.readLatency = readLatency
        self.writeLatency = writeLatency
        self.errors = errors
        self.check = check
        self.seconds = seconds
    }

    /// Per second of `elapsed`: every request the run made, over the whole time it took.
    private func rate(_ count: Int) -> Double {
        let seconds = elapsed.seconds
        return seconds > 0 ? Double(count) / seconds : 0
    }
    package var opsPerSecond: Double { rate(tally.ops) }

    /// 0 when done; 1 when the check failed or no operation succeeded.
    package var exitCode: Int32 {
        if let check, !check.passed { return 1 }
        return tally.ops == 0 ? 1 : 0
    }

    /// The summary as printed:
    ///
    ///     summary  cas, 8 clients, 100 keys, 10s, linearizable reads
    ///       time        10.00 s measured, 10.01 s until the last request ended
    ///       attempts    41234  reads 20000  writes 19000  conflicts 2100  errors 134
    ///       ops         39000  3896.1/s  reads 1998.0/s  writes 1898.1/s
    ///       latency ms  p50 1.204  p90 2.301  p99 5.102  p99.9 40.211  max 412.330
    ///       reads ms    p50 …
    ///       writes ms   p50 …
    ///       errors      unreachable 14  unavailable 120  uncertain 3  expired 0  rejected 0  unexpected 0
    ///         first unavailable: the cluster is unavailable: …
    ///     check: ok (counters grew by 12007: 12000 increments acknowledged, 14 of unknown outcome)
    ///
    /// Latency covers requests that got an answer (reads, writes, conflicts), not errors. The reads
    /// and writes lines appear when the run had both.
    package var text: String {
        var lines = ["summary  \(configuration.description)"]
        lines.append(
            "  time        \(fixed(measured.seconds, 2)) s measured, \(fixed(elapsed.seconds, 2)) s until the last request ended"
                + (interrupted ? " (interrupted)" : ""))
        lines.append(
            "  attempts    \(tally.attempts)  reads \(tally.reads)  writes \(tally.writes)  conflicts \(tally.conflicts)  errors \(tally.errors)"
        )
        lines.append(
            "  ops         \(tally.ops)  \(fixed(opsPerSecond, 1))/s  reads \(fixed(rate(tally.reads), 1))/s  writes \(fixed(rate(tally.writes), 1))/s"
        )
        lines.append("  latency ms  " + latency.text)
        if readLatency.count > 0 && writeLatency.count > 0 {
            lines.append("  reads ms    " + readLatency.text)
            lines.append("  writes ms   " + writeLatency.text)
        }
        lines.append(
            "  errors      "
                + ErrorKind.allCases.map { "\($0.rawValue) \(errors[$0])" }.joined(separator: "  "))
        for kind in ErrorKind.allCases {
            guard let message = errors.firstMessage(of: kind) else { continue }
            let shown = message.count > 300 ? String(message.prefix(300)) + "…" : message
            lines.append("    first \(kind.rawValue): \(shown)")
        }
        if let check { lines.append(check.line) }
        return lines.joined(separator: "\n")
    }

    /// The summary as JSON: the settings, the same figures as the text, and every progress line.
    /// Times in seconds (`_s`) or milliseconds (`_ms`).
    package var json: String {
        let c = configuration
        var members: [(String, JSONText)] = [
            ("workload", .string(c.workload.description)),
            ("clients", .integer(c.clients)),
            ("keys", .integer(c.keys)),
            ("nodes", .array(c.nodes.map { .string($0.description) })),
            ("stale_reads", .bool(c.stale)),
            ("value_size", .integer(c.valueSize)),
            ("seed", .unsigned(c.seed)),
            ("timeout_s", .number(c.timeout.seconds, decimals: 3)),
            ("duration_s", .number(measured.seconds, decimals: 3)),
            ("elapsed_s", .number(elapsed.seconds, decimals: 3)),
            ("interrupted", .bool(interrupted)),
            ("attempts", .integer(tally.attempts)),
            ("reads", .integer(tally.reads)),
            ("writes", .integer(tally.writes)),
            ("conflicts", .integer(tally.conflicts)),
            ("errors", .integer(tally.errors)),
            ("ops", .integer(tally.ops)),
            ("ops_per_s", .number(opsPerSecond, decimals: 1)),
            ("reads_per_s", .number(rate(tally.reads), decimals: 1)),
            ("writes_per_s", .number(rate(tally.writes), decimals: 1)),
            (
                "latency_ms",
                .object([("all", latency.json), ("read", readLatency.json), ("write", writeLatency.json)])
            ),
            ("errors_by_kind", .object(ErrorKind.allCases.map { ($0.rawValue, .integer(errors[$0])) })),
            (
                "first_errors",
                .object(
                    ErrorKind.allCases.compactMap { kind in
                        errors.firstMessage(of: kind).map { (kind.rawValue, .string($0)) }
                    })
            ),
        ]
        if let check {
            members.append(
                (
                    "check",
                    .object([
                        ("passed", .bool(check.passed)),
                        ("acknowledged", .integer(check.increments.acknowledged)),
                        ("uncertain", .integer(check.increments.uncertain)),
                        ("initial_sum", .unsigned(check.initialSum)),
                        ("final_sum", check.finalSum.map { .unsigned($0) } ?? .null),
                        ("growth", check.growth.map { .integer(Int($0)) } ?? .null),
                        ("message", .string(check.line)),
                    ])
                ))
        } else {
            members.append(("check", .null))
        }
        members.append(("per_second", .array(seconds.map(\.json))))
        return JSONText.object(members).rendered
    }
}
