/// Checks whether `history` is linearizable with respect to `model`.
///
/// The history is split with `model.partition(_:)` and each sub-history is searched in order
/// with Wing & Gong's algorithm plus Lowe's memoization (as in Porcupine): repeatedly linearize
/// one of the operations that could go next, and backtrack when none can; a set of
/// (operations linearized, model state) pairs already explored prunes the search from
/// exponential to usually near-linear.
///
/// Operations whose outcome is unknown (`returnedAt == nil`) may be linearized anywhere after
/// their invocation, with any output the model allows, or left out entirely.
///
/// - Parameter maxSteps: the search budget for each sub-history, counted in steps (one attempt to
///   linearize an operation, or one backtrack), so a verdict never depends on the machine or its
///   load. `nil` is unbounded. When a sub-history runs out, the next ones are still checked: a
///   later `.notLinearizable` wins over `.unknown`.
/// - Returns: `.notLinearizable` for the first sub-history without a legal order; otherwise
///   `.unknown` if any sub-history ran out of budget, else `.linearizable`.
public func checkLinearizability<M: LinearizabilityModel>(
    _ model: M, history: [HistoryOperation<M.Input, M.Output>], maxSteps: Int? = nil
) -> LinearizabilityResult {
    precondition(maxSteps.map { $0 >= 0 } ?? true, "maxSteps must not be negative, got \(maxSteps!)")
    var isAnyUnknown = false
    for (index, subHistory) in model.partition(history).enumerated() {
        var search = LinearizationSearch(model: model, history: subHistory)
        switch search.run(maxSteps: maxSteps) {
        case .linearizable:
            continue
        case .stuck(let longestPrefix):
            return .notLinearizable(partition: index, longestPrefix: longestPrefix)
        case .budgetExhausted:
            isAnyUnknown = true
        }
    }
    return isAnyUnknown ? .unknown : .linearizable
}

/// The search over one sub-history.
///
/// Entries (a call and a return per operation) form a circular doubly-linked list in time order,
/// with a sentinel. Linearizing an operation "lifts" its call and return out of the list; the
/// operations that may go next are exactly the calls before the first remaining return. Lifting
/// leaves the removed entry's own links intact, so undoing it on backtrack is two pointer writes
/// (dancing links). Everything is flat arrays of `Int` indexed by entry: the checker runs in
/// debug builds in CI, where any per-step allocation or dictionary lookup shows.
struct LinearizationSearch<M: LinearizabilityModel> {
    /// How `run` ended.
    enum Outcome: Equatable {
        case linearizable
        case stuck(longestPrefix: Int)
        case budgetExhausted
    }

    private let model: M
    private let inputs: [M.Input]
    private let outputs: [M.Output?]
    private let operationCount: Int
    /// Whether each operation certainly took effect (it has a return time) and so must be
    /// linearized; the others may be left out.
    private let mustLinearize: [Bool]
    /// Entry 0 is the sentinel, entry `1 + i` the call of operation `i`, entry `1 + n + i` its
    /// return. `next`/`previous` link them in time order.
    private var next: [Int]
    private var previous: [Int]

    init(model: M, history: [HistoryOperation<M.Input, M.Output>]) {
        self.model = model
        inputs = history.map(\.input)
        outputs = history.map(\.output)
        operationCount = history.count
        mustLinearize = history.map { $0.returnedAt != nil }

        let n = history.count
        // Sort key per entry. Unknown returns go after everything (their time is +infinity);
        // at equal times calls go before returns, so intervals are closed: an operation that
        // returns at t overlaps one invoked at t. The operation index breaks the remaining ties
        // so the order, and hence the step count, is deterministic.
        var keys: [(isInfinite: Bool, time: Int64, isReturn: Bool, operation: Int)] = []
        keys.reserveCapacity(2 * n)
        for (i, operation) in history.enumerated() {
            if let returnedAt = operation.returnedAt {
                precondition(
                    returnedAt >= operation.invokedAt,
                    "operation \(i) returns at \(returnedAt), before its invocation at \(operation.invokedAt)"
                )
            }
            keys.append((false, operation.invokedAt, false, i))
            keys.append((operation.returnedAt == nil, operation.returnedAt ?? .max, true, i))
        }
        keys.sort { a, b in
            if a.isInfinite != b.isInfinite { return !a.isInfinite }
            if a.time != b.time { return a.time < b.time }
            if a.isReturn != b.isReturn { return !a.isReturn }
            return a.operation < b.operation
        }
        next = Array(repeating: 0, count: 2 * n + 1)
        previous = Array(repeating: 0, count: 2 * n + 1)
        var last = 0
        for key in keys {
            let entry = 1 + key.operation + (key.isReturn ? n : 0)
            next[last] = entry
            previous[entry] = last
            last = entry
        }
        next[last] = 0
        previous[0] = last
    }

    /// Runs the search once; `maxSteps` as for `checkLinearizability(_:history:maxSteps:)`.
    mutating func run(maxSteps: Int?) -> Outcome {
        let n = operationCount
        var remainingRequired = mustLinearize.reduce(0) { $1 ? $0 + 1 : $0 }
        // The set of linearized operations, as a bitset, and a Zobrist hash of it (XOR of one
        // random word per member) kept up to date in O(1), so hashing a cache key does not
        // walk the bitset.
        var linearized = [UInt64](repeating: 0, count: (n + 63) / 64)
        var fingerprint: UInt64 = 0
        var zobrist = [UInt64](repeating: 0, count: n)
        var generator = SplitMix64(seed: 0x6C69_6E65_6172)
        for i in 0..<n {
            zobrist[i] = generator.next()
        }
        var explored = Set<ExploredKey<M.State>>()
        // The backtracking stack: the call entry linearized at each depth and the state before it.
        var stackEntries: [Int] = []
        var stackStates: [M.State] = []
        var state = model.initialState
        var longestPrefix = 0
        var steps = 0
        var entry = next[0]

        // Success once every operation that certainly took effect is linearized: the operations
        // with unknown outcome still in the list are the ones that never took effect.
        while remainingRequired > 0 {
            if let maxSteps {
                if steps == maxSteps { return .budgetExhausted }
                steps += 1
            }
            if entry <= n {
                // A call: try to linearize its operation now. (Never the sentinel: the list ends
                // in a return entry, and the scan stops at the first return.)
                let operation = entry - 1
                let (isLegal, nextState) = model.step(state, inputs[operation], outputs[operation])
                if isLegal {
                    let word = operation >> 6
                    let bit: UInt64 = 1 << UInt64(operation & 63)
                    linearized[word] |= bit
                    let nextFingerprint = fingerprint ^ zobrist[operation]
                    // No named key: a live copy of `linearized` would make the bit flips below
                    // copy the whole bitset.
                    let isNew = explored.insert(
                        ExploredKey(fingerprint: nextFingerprint, linearized: linearized, state: nextState)
                    ).inserted
                    if isNew {
                        fingerprint = nextFingerprint
                        stackEntries.append(entry)
                        stackStates.append(state)
                        state = nextState
                        lift(entry)
                        if mustLinearize[operation] { remainingRequired -= 1 }
                        longestPrefix = max(longestPrefix, stackEntries.count)
                        entry = next[0]
                        continue
                    }
                    // Already explored from here (Lowe): skip this operation.
                    linearized[word] &= ~bit
                }
                entry = next[entry]
            } else {
                // A return: its operation must have been linearized by now, and all calls
                // before it have been tried. Undo the most recent choice and try the next call.
                guard let call = stackEntries.popLast() else { return .stuck(longestPrefix: longestPrefix) }
                let operation = call - 1
                state = stackStates.removeLast()
                linearized[operation >> 6] &= ~(1 << UInt64(operation & 63))
                fingerprint ^= zobrist[operation]
                unlift(call)
                if mustLinearize[operation] { remainingRequired += 1 }
                entry = next[call]
            }
        }
        return .linearizable
    }

    /// Removes a call entry and its return from the list, leaving their own links as they were.
    private mutating func lift(_ call: Int) {
        let ret = call + operationCount
        next[previous[call]] = next[call]
        previous[next[call]] = previous[call]
        next[previous[ret]] = next[ret]
        previous[next[ret]] = previous[ret]
    }

    /// Undoes `lift(_:)`; valid only in reverse order of lifting, which the stack guarantees.
    private mutating func unlift(_ call: Int) {
        let ret = call + operationCount
        next[previous[ret]] = ret
        previous[next[ret]] = ret
        next[previous[call]] = call
        previous[next[call]] = call
    }
}

/// A point of the search already explored: this set of operations linearized, ending in this
/// state. Reaching it again by another order cannot lead anywhere new (Lowe's memoization).
///
/// Both parts are hashed once, on creation: the set rehashes every key each time it grows, and
/// states can be long (a key-value register's appended string).
private struct ExploredKey<State: Hashable>: Hashable {
    /// The Zobrist hash of `linearized`; compared first, as almost all unequal keys differ in it.
    let fingerprint: UInt64
    let stateHash: Int
    let linearized: [UInt64]
    let state: State

    init(fingerprint: UInt64, linearized: [UInt64], state: State) {
        self.fingerprint = fingerprint
        stateHash = state.hashValue
        self.linearized = linearized
        self.state = state
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(fingerprint)
        hasher.combine(stateHash)
    }

    static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.fingerprint == rhs.fingerprint && lhs.stateHash == rhs.stateHash
            && lhs.linearized == rhs.linearized
            && lhs.state == rhs.state
    }
}

/// SplitMix64 (Steele, Lea & Flood 2014): a fixed-seed source for the Zobrist words, so the
/// checker uses no ambient randomness.
private struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
