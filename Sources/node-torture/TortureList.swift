import Raft

/// The torture's state machine: the commands applied so far, in order, each answered with the
/// list's length after it. Public so that `RaftNodeTests` reads the stores with the same format.
public final class TortureList: StateMachine {
    public private(set) var items: [String] = []

    public init() {}

    public func apply(_ entry: Entry) -> Int {
        if entry.kind == .command { items.append(String(decoding: entry.data, as: UTF8.self)) }
        return items.count
    }

    /// The items joined by newlines (no item contains one).
    public func snapshot() -> [UInt8] { Array(items.joined(separator: "\n").utf8) }

    public func restore(from snapshot: [UInt8]) throws { items = Self.decode(snapshot) }

    /// The items of a `snapshot()`.
    public static func decode(_ snapshot: [UInt8]) -> [String] {
        guard !snapshot.isEmpty else { return [] }
        return String(decoding: snapshot, as: UTF8.self).split(
            separator: "\n", omittingEmptySubsequences: false
        )
        .map(String.init)
    }

    /// Where `items` first differs from `w1 … w<items.count>`, or nil when it does not.
    public static func firstDeviation(_ items: [String]) -> String? {
        for (position, item) in items.enumerated() where item != "w\(position + 1)" {
            return "item \(position + 1) is \(item), expected w\(position + 1)"
        }
        return nil
    }
}

/// The node has no peers, so nothing is ever sent.
struct NoTransport: RaftTransport {
    func send(_ envelopes: [Envelope]) {}
}
