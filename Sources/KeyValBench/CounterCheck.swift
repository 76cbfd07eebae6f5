/// The compare-and-set workload's consistency check. Each applied increment adds exactly 1 to one
/// counter (a compare-and-set at the version read writes the value read + 1, or nothing), so the
/// counters' growth over the run must lie between the increments acknowledged and those plus the
/// ones whose outcome is unknown. Below: acknowledged writes were lost. Above: a write was applied
/// twice, or applied though the client was told it was not.
package struct CounterCheck: Sendable, Equatable {
    package var increments: Increments
    /// The counters' sum before the run (wrapping, as the values are `UInt64`).
    package var initialSum: UInt64
    /// The sum after the run; nil when some counter could not be read.
    package var finalSum: UInt64?
    /// Why the final sum is missing.
    package var readFailure: String?

    package init(increments: Increments, initialSum: UInt64, finalSum: UInt64) {
        self.increments = increments
        self.initialSum = initialSum
        self.finalSum = finalSum
    }

    /// The counters could not all be read after the run, so nothing can be checked.
    package init(increments: Increments, initialSum: UInt64, readFailure: String) {
        self.increments = increments
        self.initialSum = initialSum
        self.readFailure = readFailure
    }

    /// How much the counters grew; nil without a final sum.
    package var growth: Int64? { finalSum.map { Int64(bitPattern: $0 &- initialSum) } }

    package var passed: Bool {
        guard let growth else { return false }
        return Int64(increments.acknowledged) <= growth
            && growth <= Int64(increments.acknowledged + increments.uncertain)
    }

    /// `check: ok (...)` or `check: FAILED (...)`.
    package var line: String {
        let acknowledged = increments.acknowledged
        let uncertain = increments.uncertain
        guard let growth else {
            return
                "check: FAILED (the counters could not be read after the run: \(readFailure ?? "unknown error"))"
        }
        if passed {
            return
                "check: ok (counters grew by \(growth): \(acknowledged) increments acknowledged, \(uncertain) of unknown outcome)"
        }
        if growth < Int64(acknowledged) {
            return
                "check: FAILED (counters grew by \(growth), fewer than the \(acknowledged) acknowledged increments: acknowledged writes were lost)"
        }
        return
            "check: FAILED (counters grew by \(growth), more than the \(acknowledged) acknowledged and \(uncertain) uncertain increments: a write was applied twice, or applied though reported as not)"
    }
}
