/// The keys and the value the clients use, built once so that an operation allocates none of them.
///
/// Reads and writes use the plain keys `<prefix>key-<i>`; compare-and-set increments use their own
/// counters, `<prefix>counter-<i>`, so a mixed workload's plain writes never disturb the counters
/// the check adds up.
package struct KeySpace: Sendable {
    /// Empty unless the workload reads or writes.
    package let plainKeys: [String]
    /// Empty unless the workload increments counters.
    package let counterKeys: [String]
    /// What writes store: `--value-size` bytes of ASCII.
    package let value: String

    package init(prefix: String, keys: Int, workload: Workload, valueSize: Int) {
        let plain = workload.includes(.read) || workload.includes(.write)
        plainKeys = plain ? (0..<keys).map { Self.plainKey(prefix: prefix, $0) } : []
        counterKeys = workload.includes(.cas) ? (0..<keys).map { Self.counterKey(prefix: prefix, $0) } : []
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
        value = String(decoding: (0..<valueSize).map { alphabet[$0 % alphabet.count] }, as: UTF8.self)
    }

    package static func plainKey(prefix: String, _ index: Int) -> String { "\(prefix)key-\(index)" }
    package static func counterKey(prefix: String, _ index: Int) -> String { "\(prefix)counter-\(index)" }

    /// A counter's value: a missing key, or one holding anything but a non-negative decimal integer,
    /// counts as 0 (the next increment writes 1). Both ends of the check read values this way.
    package static func counterValue(_ text: String?) -> UInt64 {
        guard let text, let value = UInt64(text) else { return 0 }
        return value
    }
}
