import Raft

// The language between the torture child and the test that kills it. Public so that
// `RaftStorageTests` imports this module and parses and rebuilds exactly what the child wrote.

/// One mutating call the torture makes, and its `begin` line.
public enum TortureOperation: Equatable, Sendable, CustomStringConvertible {
    /// `persist(hardState:entries:)` with `count` entries (possibly none) from `first`, all of
    /// `term`, as made by `TortureEntry.make`.
    case persist(hardState: HardState?, first: LogIndex, count: Int, term: Term)
    case compact(through: LogIndex)

    /// The entries this call writes.
    public var entries: [Entry] {
        guard case .persist(_, let first, let count, let term) = self else { return [] }
        return (0..<count).map { TortureEntry.make(index: first.advanced(by: $0), term: term) }
    }

    /// `persist hard=<term>/<vote|~>|none entries=<first>+<count>@<term>|none`, or
    /// `compact <index>`.
    public var description: String {
        switch self {
        case .persist(let hardState, let first, let count, let term):
            let hard = hardState.map { "\($0.term.value)/\($0.vote?.name ?? "~")" } ?? "none"
            let entries = count == 0 ? "none" : "\(first.value)+\(count)@\(term.value)"
            return "persist hard=\(hard) entries=\(entries)"
        case .compact(let index):
            return "compact \(index.value)"
        }
    }

    /// Parses `description`; nil for anything else.
    public init?(_ text: Substring) {
        let words = text.split(separator: " ")
        if words.count == 2, words[0] == "compact", let index = UInt64(words[1]) {
            self = .compact(through: LogIndex(index))
            return
        }
        guard words.count == 3, words[0] == "persist", words[1].hasPrefix("hard="),
            words[2].hasPrefix("entries=")
        else { return nil }
        var hardState: HardState?
        let hard = words[1].dropFirst("hard=".count)
        if hard != "none" {
            let parts = hard.split(separator: "/")
            guard parts.count == 2, let term = UInt64(parts[0]) else { return nil }
            hardState = HardState(term: Term(term), vote: parts[1] == "~" ? nil : NodeID(String(parts[1])))
        }
        let entries = words[2].dropFirst("entries=".count)
        guard entries != "none" else {
            self = .persist(hardState: hardState, first: .zero, count: 0, term: .zero)
            return
        }
        let range = entries.split(separator: "@")
        let start = range.first?.split(separator: "+") ?? []
        guard range.count == 2, start.count == 2, let term = UInt64(range[1]), let first = UInt64(start[0]),
            let count = Int(start[1]), count > 0
        else { return nil }
        self = .persist(hardState: hardState, first: LogIndex(first), count: count, term: Term(term))
    }
}

/// The entries the torture writes: a pure function of index and term, so the test can check
/// every byte that comes back.
public enum TortureEntry {
    public static func make(index: LogIndex, term: Term) -> Entry {
        // Every 17th is a no-op with no data: the empty blob must round-trip too.
        if (index.value &+ term.value) % 17 == 0 { return Entry(term: term, index: index, kind: .noop) }
        var x = index.value &* 0x9E37_79B9_7F4A_7C15 ^ term.value
        // Eight bytes per step: the torture's debug build spends its time here otherwise.
        let data = [UInt8](unsafeUninitializedCapacity: 128) { buffer, count in
            for offset in stride(from: 0, to: 128, by: 8) {
                x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                UnsafeMutableRawBufferPointer(buffer).storeBytes(
                    of: x.littleEndian, toByteOffset: offset, as: UInt64.self)
            }
            count = 128
        }
        return Entry(term: term, index: index, kind: .command, data: data)
    }
}

/// The summary on `start` and `durable` lines: `<lastIndex> <lastTerm> <term>`, with `lastTerm`
/// 0 when the log holds no entry.
public enum TortureSummary {
    public static func of(_ log: PersistedLog) -> String {
        let lastIndex = log.entries.last?.index ?? log.compactedThrough
        return "\(lastIndex.value) \(log.entries.last?.term.value ?? 0) \(log.hardState.term.value)"
    }
}
