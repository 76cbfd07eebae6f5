import Raft

/// A state machine for node tests: the applied commands as strings, answering each proposal with
/// the list's length after it. Its snapshot is the items joined by newlines.
public final class ListMachine: StateMachine {
    public private(set) var items: [String] = []

    public init() {}

    public func apply(_ entry: Entry) -> Int {
        if entry.kind == .command { items.append(String(decoding: entry.data, as: UTF8.self)) }
        return items.count
    }

    public func snapshot() -> [UInt8] { Array(items.joined(separator: "\n").utf8) }

    public func restore(from snapshot: [UInt8]) throws {
        items =
            snapshot.isEmpty
            ? []
            : String(decoding: snapshot, as: UTF8.self).split(
                separator: "\n", omittingEmptySubsequences: false
            ).map(String.init)
    }
}
