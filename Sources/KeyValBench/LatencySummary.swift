import Histogram

/// A latency histogram's percentiles, in milliseconds (recorded in microseconds).
package struct LatencySummary: Sendable, Equatable {
    package var count: UInt64
    package var p50: Double
    package var p90: Double
    package var p99: Double
    package var p999: Double
    /// The slowest request exactly, not its bucket's upper bound.
    package var max: Double

    package init(count: UInt64, p50: Double, p90: Double, p99: Double, p999: Double, max: Double) {
        self.count = count
        self.p50 = p50
        self.p90 = p90
        self.p99 = p99
        self.p999 = p999
        self.max = max
    }

    package init(_ histogram: Histogram<UInt64>) {
        func milliseconds(_ microseconds: UInt64) -> Double { Double(microseconds) / 1_000 }
        let empty = histogram.totalCount == 0
        self.init(
            count: histogram.totalCount,
            p50: empty ? 0 : milliseconds(histogram.valueAtPercentile(50)),
            p90: empty ? 0 : milliseconds(histogram.valueAtPercentile(90)),
            p99: empty ? 0 : milliseconds(histogram.valueAtPercentile(99)),
            p999: empty ? 0 : milliseconds(histogram.valueAtPercentile(99.9)),
            max: empty ? 0 : milliseconds(histogram.maxRecorded))
    }

    /// The percentiles in the summary's order, with their names as printed.
    package var percentiles: [(name: String, milliseconds: Double)] {
        [("p50", p50), ("p90", p90), ("p99", p99), ("p99.9", p999), ("max", max)]
    }

    /// `p50 1.204  p90 2.301  p99 5.102  p99.9 40.211  max 412.330`, or `none` without requests.
    package var text: String {
        guard count > 0 else { return "none" }
        return percentiles.map { "\($0.name) \(fixed($0.milliseconds, 3))" }.joined(separator: "  ")
    }

    /// `{"count": …, "p50": …, "p90": …, "p99": …, "p99_9": …, "max": …}`.
    var json: JSONText {
        .object([
            ("count", .unsigned(count)), ("p50", .number(p50, decimals: 3)),
            ("p90", .number(p90, decimals: 3)),
            ("p99", .number(p99, decimals: 3)), ("p99_9", .number(p999, decimals: 3)),
            ("max", .number(max, decimals: 3)),
        ])
    }
}
