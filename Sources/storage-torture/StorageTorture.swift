import Raft
import TortureChild

/// The child process of the crash-torture test (`RaftStorageTests`): `storage-torture <dir> <seed>`
/// opens `<dir>/raft.db` with `SQLiteLogStore` and mutates it forever, until the test kills it
/// with SIGKILL at a random moment.
///
/// It announces each call on stdout before making it and reports it after it returns, each line
/// with one unbuffered `write(1, …)`:
/// ```
/// start <lastIndex> <lastTerm> <term>                     after the initial load
/// begin persist hard=<term>/<vote|~>|none entries=<first>+<count>@<term>|none
/// begin compact <index>
/// durable <lastIndex> <lastTerm> <term>                   after the call returned
/// ```
/// `lastTerm` is 0 when the log holds no entry. The formats and the entries' contents (a pure
/// function of index and term) are in `TortureTranscript.swift`, which the test imports.
@main
enum StorageTorture {
    static let child = TortureChild(name: "storage-torture")

    static func main() {
        child.exitWhenOrphaned()
        let arguments = CommandLine.arguments
        guard arguments.count == 3, let seed = UInt64(arguments[2]) else {
            child.fail("usage: storage-torture <data-dir> <seed>", status: 2)
        }
        do {
            try run(directory: arguments[1], seed: seed)
        } catch {
            child.fail("storage-torture: \(error)", status: 1)
        }
    }

    static func run(directory: String, seed: UInt64) throws(StorageError) {
        let store = try SQLiteLogStore(directory: directory)
        let loaded = try store.load()
        var state = TortureState(
            hardState: loaded.hardState, compactedThrough: loaded.compactedThrough,
            lastIndex: loaded.entries.last?.index ?? loaded.compactedThrough,
            lastTerm: loaded.entries.last?.term)
        var random = SplitMix64(seed: seed)
        child.emit("start \(state.summary)")
        while true {
            let operation = state.nextOperation(using: &random)
            child.emit("begin \(operation)")
            switch operation {
            case .persist(let hardState, _, _, _):
                try store.persist(hardState: hardState, entries: operation.entries)
            case .compact(let index):
                try store.compact(through: index)
            }
            state.apply(operation)
            child.emit("durable \(state.summary)")
        }
    }
}

/// What the torture has made durable, and the choice of its next call.
struct TortureState {
    var hardState: HardState
    var compactedThrough: LogIndex
    // Invariant: the log holds compactedThrough+1 ... lastIndex; every entry's term <= hardState.term.
    var lastIndex: LogIndex
    var lastTerm: Term?  // nil: the log holds no entry

    var summary: String { "\(lastIndex.value) \(lastTerm?.value ?? 0) \(hardState.term.value)" }

    /// A Raft-shaped random call: mostly appends in the current term, some with a new term (a new
    /// leader), conflicting-suffix rewrites in a new term (a follower repaired by a new leader),
    /// hard-state-only changes (votes, terms), compactions inside the log and past its end (a
    /// follower that installed a newer snapshot).
    func nextOperation(using random: inout SplitMix64) -> TortureOperation {
        let live = UInt64(compactedThrough.distance(to: lastIndex))
        let count = Int.random(in: 1...64, using: &random)
        let voter = NodeID("n\(Int.random(in: 1...5, using: &random))")
        if live > 3_000 {  // keep the database small: a node compacts behind its snapshots
            return .compact(through: lastIndex.advanced(by: -Int.random(in: 0...1_000, using: &random)))
        }
        switch Int.random(in: 0..<100, using: &random) {
        case 0..<50:
            return .persist(hardState: nil, first: lastIndex.next, count: count, term: hardState.term)
        case 50..<58:
            let term = hardState.term.next
            return .persist(
                hardState: HardState(term: term, vote: "n1"), first: lastIndex.next, count: count, term: term)
        case 58..<72 where live > 0:
            let first = compactedThrough.advanced(by: 1 + Int(UInt64.random(in: 0..<live, using: &random)))
            let term = hardState.term.next
            return .persist(
                hardState: HardState(term: term, vote: voter), first: first, count: count, term: term)
        case 72..<85:
            let hard =
                hardState.vote == nil
                ? HardState(term: hardState.term, vote: voter) : HardState(term: hardState.term.next)
            return .persist(hardState: hard, first: lastIndex.next, count: 0, term: hardState.term)
        case 85..<95 where live > 0:
            return .compact(
                through: compactedThrough.advanced(by: 1 + Int(UInt64.random(in: 0..<live, using: &random))))
        case 95..<97:
            return .compact(through: lastIndex.advanced(by: Int.random(in: 1...5, using: &random)))
        default:
            return .persist(hardState: nil, first: lastIndex.next, count: count, term: hardState.term)
        }
    }

    mutating func apply(_ operation: TortureOperation) {
        switch operation {
        case .persist(let hard, let first, let count, let term):
            if let hard { hardState = hard }
            if count > 0 {
                lastIndex = first.advanced(by: count - 1)
                lastTerm = term
            }
        case .compact(let index):
            guard index > compactedThrough else { return }
            if index >= lastIndex { lastTerm = nil }
            compactedThrough = index
            lastIndex = max(lastIndex, index)
        }
    }
}
