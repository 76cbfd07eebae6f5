import Foundation

/// Per-operation timings of one measurement loop.
struct Measurement {
    /// Each operation's duration (µs), in the order they ran.
    private(set) var samples: [Double] = []
    /// Wall time of the whole loop (s).
    private(set) var elapsed: Double = 0

    /// Runs `operation` repeatedly for `seconds`, after a few untimed runs to warm up.
    static func run(seconds: Double, warmUp: Int = 5, _ operation: () throws -> Void) rethrows -> Measurement
    {
        for _ in 0..<warmUp { try operation() }
        let clock = ContinuousClock()
        let deadline = clock.now + .nanoseconds(Int64(seconds * 1e9))
        let started = clock.now
        var measurement = Measurement()
        measurement.samples.reserveCapacity(100_000)
        while clock.now < deadline {
            let before = clock.now
            try operation()
            measurement.samples.append((clock.now - before).microseconds)
        }
        measurement.elapsed = (clock.now - started).microseconds / 1e6
        return measurement
    }

    var count: Int { samples.count }
    var perSecond: Double { Double(count) / elapsed }
    var mean: Double { samples.reduce(0, +) / Double(max(count, 1)) }

    /// The `fraction` quantile (0.5: median) of the samples (µs).
    func quantile(_ fraction: Double) -> Double {
        guard !samples.isEmpty else { return 0 }
        let sorted = samples.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.down)))]
    }
}

extension Duration {
    var microseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1e6 + Double(attoseconds) / 1e12
    }
}

/// A table printed as aligned columns: the first left-aligned, the rest right-aligned.
struct Table {
    var header: [String]
    var rows: [[String]] = []

    init(_ header: String...) { self.header = header }

    mutating func add(_ cells: String...) { rows.append(cells) }

    func print() {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        for row in all {
            let cells = row.indices.map { column in
                let padding = String(repeating: " ", count: widths[column] - row[column].count)
                return column == 0 ? row[column] + padding : padding + row[column]
            }
            Swift.print("  " + cells.joined(separator: "  "))
        }
    }
}

/// `value` with `decimals` digits after the point.
func fixed(_ value: Double, _ decimals: Int = 0) -> String { String(format: "%.\(decimals)f", value) }
