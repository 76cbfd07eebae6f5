/// A Raft term. Only ever compared, or advanced with `next`.
public struct Term: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: UInt64
    public init(_ value: UInt64) { self.value = value }
    public static let zero = Term(0)
    public var next: Term { Term(value + 1) }
    public static func < (lhs: Term, rhs: Term) -> Bool { lhs.value < rhs.value }
    public var description: String { "t\(value)" }
}

/// A position in the replicated log. Index 0 is the empty position before the first entry.
public struct LogIndex: Hashable, Comparable, Strideable, Sendable, CustomStringConvertible {
    public var value: UInt64
    public init(_ value: UInt64) { self.value = value }
    public static let zero = LogIndex(0)
    public var next: LogIndex { LogIndex(value + 1) }
    /// The index before this one; `zero` stays `zero`.
    public var previous: LogIndex { LogIndex(value == 0 ? 0 : value - 1) }
    // Explicit, so comparisons never go through `Strideable`'s defaults, which use `distance(to:)`:
    // an index from outside (a client's If-Match) may be any UInt64.
    public static func == (lhs: LogIndex, rhs: LogIndex) -> Bool { lhs.value == rhs.value }
    public static func < (lhs: LogIndex, rhs: LogIndex) -> Bool { lhs.value < rhs.value }
    /// Distances within one log fit an `Int`; wrapping arithmetic keeps far-apart values from trapping.
    public func distance(to other: LogIndex) -> Int { Int(truncatingIfNeeded: other.value &- value) }
    public func advanced(by n: Int) -> LogIndex { LogIndex(value &+ UInt64(truncatingIfNeeded: n)) }
    public var description: String { "i\(value)" }
}

/// A node's identity in the cluster: the name operators give it (`-id node0`).
/// Ordered so that everything the core emits per peer comes out in a stable order.
public struct NodeID: Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public var name: String
    public init(_ name: String) { self.name = name }
    public init(stringLiteral name: String) { self.name = name }
    public static func < (lhs: NodeID, rhs: NodeID) -> Bool { lhs.name < rhs.name }
    public var description: String { name }
}
