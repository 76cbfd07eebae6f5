/// The line printed once a second while the load runs, with that second's figures:
///
///     `    3s  attempts 4210  reads 0  writes 4180  conflicts 12  errors 18  max-ms 412.3`
///
/// The elapsed second (right-aligned, with an `s`), then name-value pairs separated by two spaces,
/// always in this order: requests started, successful reads, successful writes, compare-and-set
/// conflicts, errors, and the slowest request that ended in that second (milliseconds).
package struct ProgressLine: Sendable, Equatable {
    package var second: Int
    package var tally: Tally
    package var maxMilliseconds: Double

    package init(second: Int, tally: Tally, maxMilliseconds: Double) {
        self.second = second
        self.tally = tally
        self.maxMilliseconds = maxMilliseconds
    }

    static let names = ["attempts", "reads", "writes", "conflicts", "errors", "max-ms"]

    package var text: String {
        let values =
            [tally.attempts, tally.reads, tally.writes, tally.conflicts, tally.errors].map(String.init)
            + [fixed(maxMilliseconds, 1)]
        return leftPadded("\(second)s", 5) + "  "
            + zip(Self.names, values).map { "\($0) \($1)" }.joined(separator: "  ")
    }

    /// Reads a line `text` wrote back (for tests and scripts); nil for any other line.
    package init?(parsing line: String) {
        let fields = line.split(separator: " ")
        guard fields.count == 1 + 2 * Self.names.count, fields[0].hasSuffix("s"),
            let second = Int(fields[0].dropLast())
        else { return nil }
        var numbers: [Substring] = []
        for (offset, name) in Self.names.enumerated() {
            guard fields[1 + 2 * offset] == name else { return nil }
            numbers.append(fields[2 + 2 * offset])
        }
        let counts = numbers.dropLast().compactMap { Int($0) }
        guard counts.count == 5, let maximum = Double(numbers[5]) else { return nil }
        self.init(
            second: second,
            tally: Tally(
                attempts: counts[0], reads: counts[1], writes: counts[2], conflicts: counts[3],
                errors: counts[4]),
            maxMilliseconds: maximum)
    }

    var json: JSONText {
        .object([
            ("second", .integer(second)), ("attempts", .integer(tally.attempts)),
            ("reads", .integer(tally.reads)),
            ("writes", .integer(tally.writes)), ("conflicts", .integer(tally.conflicts)),
            ("errors", .integer(tally.errors)), ("max_ms", .number(maxMilliseconds, decimals: 3)),
        ])
    }
}
