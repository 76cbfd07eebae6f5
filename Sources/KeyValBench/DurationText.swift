/// Durations as the flags take them: a positive number and a unit, e.g. `500ms`, `30s`, `1.5s`,
/// `2m`, `1h`. A bare number is refused: seconds or milliseconds would be a guess.
package enum DurationText {
    private static let units: [(suffix: String, nanoseconds: Double)] = [
        ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3_600e9),
    ]

    /// The duration `text` names, or nil when it is not one.
    package static func parse(_ text: String) -> Duration? {
        // "ms" comes before "s" in `units`, so "500ms" is never read as "500m" + "s".
        guard let unit = units.first(where: { text.hasSuffix($0.suffix) }) else { return nil }
        let number = text.dropLast(unit.suffix.count)
        guard !number.isEmpty,
            number.utf8.allSatisfy({ (0x30...0x39).contains($0) || $0 == UInt8(ascii: ".") }),
            let value = Double(number), value.isFinite
        else { return nil }
        let nanoseconds = (value * unit.nanoseconds).rounded()
        guard nanoseconds >= 1, nanoseconds < 1e18 else { return nil }
        return .nanoseconds(Int64(nanoseconds))
    }

    /// `duration` for messages: `10s`, `1.5s`, `250ms`.
    package static func describe(_ duration: Duration) -> String {
        let milliseconds = duration.microseconds / 1_000
        if milliseconds < 1_000 { return trimmed(fixed(milliseconds, 3)) + "ms" }
        return trimmed(fixed(milliseconds / 1_000, 3)) + "s"
    }

    /// `1.500` → `1.5`, `10.000` → `10`.
    private static func trimmed(_ number: String) -> String {
        guard number.contains(".") else { return number }
        var text = Substring(number)
        while text.hasSuffix("0") { text = text.dropLast() }
        if text.hasSuffix(".") { text = text.dropLast() }
        return String(text)
    }
}

extension Duration {
    /// The duration in microseconds, as a floating-point number.
    package var microseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1e6 + Double(attoseconds) / 1e12
    }

    /// Whole microseconds, never negative: what the latency histograms record.
    package var wholeMicroseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0, attoseconds >= 0 else { return 0 }
        return UInt64(seconds) &* 1_000_000 &+ UInt64(attoseconds / 1_000_000_000_000)
    }

    package var seconds: Double { microseconds / 1e6 }
}
