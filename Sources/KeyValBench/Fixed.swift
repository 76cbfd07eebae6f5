/// `value` with exactly `decimals` digits after the point, rounded half away from zero; the
/// summary's numbers, written without Foundation's `String(format:)`.
package func fixed(_ value: Double, _ decimals: Int) -> String {
    precondition((0...9).contains(decimals), "fixed: \(decimals) decimals")
    guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
    var scale: UInt64 = 1
    for _ in 0..<decimals { scale *= 10 }
    let scaled = (value.magnitude * Double(scale)).rounded()
    // Beyond 2^63 the digits are noise anyway: fall back on the shortest representation.
    guard scaled < 9.2e18 else { return "\(value)" }
    let units = UInt64(scaled)
    let sign = value < 0 && units != 0 ? "-" : ""
    guard decimals > 0 else { return sign + String(units) }
    let fraction = String(units % scale)
    return sign + String(units / scale) + "." + String(repeating: "0", count: decimals - fraction.utf8.count)
        + fraction
}

/// `text` padded with spaces on the left to `width` characters.
package func leftPadded(_ text: String, _ width: Int) -> String {
    let count = text.count
    return count >= width ? text : String(repeating: " ", count: width - count) + text
}
