import Linearizability
import Testing

/// The checker against the definition of linearizability, on many small random histories.
@Suite("Linearizability checker against brute force")
struct BruteForceTests {
    /// Whether some order of the operations that took effect is legal and respects real time,
    /// straight from the definition (Herlihy & Wing 1990): no memoization, no event list. An
    /// operation may go next if no other pending operation returned strictly before it was
    /// invoked; one with unknown outcome may also never go.
    static func isLinearizableByEnumeration(_ history: [RegisterModel.Operation]) -> Bool {
        let model = RegisterModel()
        var isDone = [Bool](repeating: false, count: history.count)

        func search(_ state: Int?) -> Bool {
            let pendingRequired = history.indices.filter { !isDone[$0] && history[$0].returnedAt != nil }
            if pendingRequired.isEmpty { return true }
            for candidate in history.indices where !isDone[candidate] {
                let isBlocked = history.indices.contains { other in
                    guard !isDone[other], other != candidate, let returnedAt = history[other].returnedAt
                    else {
                        return false
                    }
                    return returnedAt < history[candidate].invokedAt
                }
                if isBlocked { continue }
                let (isLegal, next) = model.step(state, history[candidate].input, history[candidate].output)
                guard isLegal else { continue }
                isDone[candidate] = true
                defer { isDone[candidate] = false }
                if search(next) { return true }
            }
            return false
        }
        return search(model.initialState)
    }

    /// A random history of up to 6 register operations on values 0...2 with times in 0...8, so
    /// that ties and overlaps are common, about one in five with unknown outcome, and outputs
    /// drawn at random so both verdicts occur.
    static func randomHistory(_ random: inout TestRandom) -> [RegisterModel.Operation] {
        (0..<(1 + random.next(below: 6))).map { client in
            let invokedAt = Int64(random.next(below: 9))
            let returnedAt = invokedAt + Int64(random.next(below: 4))
            let input: RegisterModel.Input
            let output: RegisterModel.Output
            switch random.next(below: 3) {
            case 0:
                input = .read
                let value = random.next(below: 4)
                output = .read(value == 3 ? nil : value)
            case 1:
                input = .write(random.next(below: 3))
                output = .write
            default:
                input = .cas(expected: random.next(below: 3), new: random.next(below: 3))
                output = .cas(succeeded: random.next(below: 2) == 0)
            }
            if random.next(below: 5) == 0 {
                return .unknownOutcome(clientID: client, input, invokedAt: invokedAt)
            }
            return .completed(
                clientID: client, input, invokedAt: invokedAt, returnedAt: returnedAt, output: output)
        }
    }

    @Test("the checker agrees with enumeration on 5,000 random small histories")
    func agreesWithEnumeration() {
        var random = TestRandom(seed: 42)
        var verdicts: [Bool: Int] = [:]
        var disagreements: [String] = []
        for _ in 0..<5_000 {
            let history = Self.randomHistory(&random)
            let expected = Self.isLinearizableByEnumeration(history)
            verdicts[expected, default: 0] += 1
            let result = checkLinearizability(RegisterModel(), history: history)
            let agrees: Bool
            switch result {
            case .linearizable: agrees = expected
            case .notLinearizable: agrees = !expected
            case .unknown: agrees = false
            }
            if !agrees {
                disagreements.append("checker: \(result), enumeration: \(expected), history: \(history)")
            }
        }
        #expect(
            disagreements.isEmpty, "\(disagreements.count) disagreements; first: \(disagreements.first ?? "")"
        )
        // Both verdicts are well represented, or the comparison proves little.
        #expect(verdicts[true, default: 0] > 1_000)
        #expect(verdicts[false, default: 0] > 1_000)
    }
}

/// SplitMix64, for reproducible random histories.
struct TestRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in `0..<bound`; the modulo bias is irrelevant for test data.
    mutating func next(below bound: Int) -> Int { Int(next() % UInt64(bound)) }
}
