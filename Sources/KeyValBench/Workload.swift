/// What the clients do: one kind of operation, or a weighted mix of them (`read:90,write:10`).
package struct Workload: Sendable, Equatable, CustomStringConvertible {
    package enum Operation: String, Sendable, CaseIterable {
        /// `GET` a random key of the plain keys (linearizable unless `--stale`).
        case read
        /// `PUT` a value of `--value-size` bytes under a random plain key.
        case write
        /// Read a random counter, then compare-and-set it to its value + 1 at the version read.
        case cas
    }

    /// Each operation's weight, in `Operation.allCases` order.
    package private(set) var weights: [Int]
    private let total: Int

    /// `write`, `read`, `cas`, or a mix: `read:90,write:10` (`=` works as well as `:`; a name
    /// without a weight weighs 1, so `read,write` is half and half).
    package init(parsing text: String) throws(UsageError) {
        let usage = "use write, read, cas, or a mix such as read:90,write:10"
        var weights = [Int](repeating: 0, count: Operation.allCases.count)
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let fields = part.split(maxSplits: 1, whereSeparator: { $0 == ":" || $0 == "=" })
            guard let name = fields.first, let operation = Operation(rawValue: String(name)),
                let position = Operation.allCases.firstIndex(of: operation)
            else { throw UsageError("--workload \(text): \(usage)") }
            var weight = 1
            if fields.count == 2 {
                guard let parsed = Int(fields[1]), (1...1_000_000).contains(parsed) else {
                    throw UsageError("--workload \(text): a weight is a whole number from 1 to 1000000")
                }
                weight = parsed
            }
            guard weights[position] == 0 else {
                throw UsageError("--workload \(text): \(name) is given twice")
            }
            weights[position] = weight
        }
        self.weights = weights
        total = weights.reduce(0, +)
    }

    package init(_ operation: Operation) {
        weights = Operation.allCases.map { $0 == operation ? 1 : 0 }
        total = 1
    }

    package func weight(of operation: Operation) -> Int {
        weights[Operation.allCases.firstIndex(of: operation)!]
    }

    package func includes(_ operation: Operation) -> Bool { weight(of: operation) > 0 }

    /// The only operation, when there is no mix.
    package var single: Operation? {
        let used = Operation.allCases.filter(includes)
        return used.count == 1 ? used[0] : nil
    }

    /// The operation a uniformly random `draw` selects, in proportion to the weights.
    package func pick(_ draw: UInt64) -> Operation {
        var slot = Int(draw % UInt64(total))
        for (position, weight) in weights.enumerated() {
            if slot < weight { return Operation.allCases[position] }
            slot -= weight
        }
        preconditionFailure("pick: slot beyond the total weight \(total)")
    }

    /// `cas`, or `read:90,write:10` for a mix.
    package var description: String {
        if let single { return single.rawValue }
        return Operation.allCases.filter(includes).map { "\($0.rawValue):\(weight(of: $0))" }.joined(
            separator: ",")
    }
}
