import Linearizability
import Testing

/// A completed register operation: `client` called `input` over `[from, to]` and got `output`.
private func register(
    _ client: Int, _ input: RegisterModel.Input, _ from: Int64, _ to: Int64, _ output: RegisterModel.Output
) -> RegisterModel.Operation {
    .completed(clientID: client, input, invokedAt: from, returnedAt: to, output: output)
}

/// A register operation with unknown outcome (Jepsen `:info`), invoked at `from`.
private func registerInfo(_ client: Int, _ input: RegisterModel.Input, _ from: Int64)
    -> RegisterModel.Operation
{
    .unknownOutcome(clientID: client, input, invokedAt: from)
}

/// A completed key-value operation.
private func kv(
    _ client: Int, _ input: KeyValueModel.Input, _ from: Int64, _ to: Int64, _ output: KeyValueModel.Output
) -> KeyValueModel.Operation {
    .completed(clientID: client, input, invokedAt: from, returnedAt: to, output: output)
}

/// `count` writes of 1...count, all concurrent, then a read of a value none of them wrote: not
/// linearizable, but the search has to try every order of the writes (memoized: every subset
/// and last value) to find that out.
private func hardHistory(writes count: Int) -> [RegisterModel.Operation] {
    (1...count).map { register($0, .write($0), 0, 100, .write) } + [register(0, .read, 101, 102, .read(99))]
}

struct RegisterCase: Sendable, CustomTestStringConvertible {
    var name: String
    var history: [RegisterModel.Operation]
    var expected: LinearizabilityResult

    var testDescription: String { name }
}

@Suite("Linearizability checker")
struct CheckerTests {
    @Test(
        "register histories",
        arguments: [
            RegisterCase(name: "an empty history is linearizable", history: [], expected: .linearizable),
            RegisterCase(
                name: "a sequential history is linearizable",
                history: [
                    register(0, .write(1), 0, 1, .write),
                    register(1, .read, 2, 3, .read(1)),
                    register(0, .cas(expected: 1, new: 2), 4, 5, .cas(succeeded: true)),
                    register(1, .read, 6, 7, .read(2)),
                ],
                expected: .linearizable),
            RegisterCase(
                name: "a stale read after a completed write is not linearizable",
                history: [
                    register(0, .write(1), 0, 1, .write),
                    register(1, .read, 2, 3, .read(nil)),
                ],
                expected: .notLinearizable(partition: 0, longestPrefix: 1)),
            RegisterCase(
                name: "a read concurrent with a write may miss it",
                history: [
                    register(0, .write(1), 0, 10, .write),
                    register(1, .read, 1, 2, .read(nil)),
                ],
                expected: .linearizable),
            RegisterCase(
                name: "a read concurrent with a write may see it",
                history: [
                    register(0, .write(1), 0, 10, .write),
                    register(1, .read, 1, 2, .read(1)),
                ],
                expected: .linearizable),
            RegisterCase(
                name: "concurrent writes may land in either order, if reads agree on one",
                history: [
                    register(0, .write(1), 0, 5, .write),
                    register(1, .write(2), 0, 5, .write),
                    register(0, .read, 6, 7, .read(1)),
                    register(1, .read, 8, 9, .read(1)),
                ],
                expected: .linearizable),
            RegisterCase(
                name: "reads after concurrent writes cannot see them in both orders",
                history: [
                    register(0, .write(1), 0, 5, .write),
                    register(1, .write(2), 0, 5, .write),
                    register(0, .read, 6, 7, .read(2)),
                    register(1, .read, 8, 9, .read(1)),
                ],
                expected: .notLinearizable(partition: 0, longestPrefix: 3)),
            RegisterCase(
                name: "intervals are closed: a read invoked as a write returns may miss it",
                history: [
                    register(0, .write(1), 0, 5, .write),
                    register(1, .read, 5, 6, .read(nil)),
                ],
                expected: .linearizable),
            RegisterCase(
                name: "a read invoked after a write returned must see it",
                history: [
                    register(0, .write(1), 0, 5, .write),
                    register(1, .read, 6, 7, .read(nil)),
                ],
                expected: .notLinearizable(partition: 0, longestPrefix: 1)),
            RegisterCase(
                name: "an :info write may never have happened",
                history: [
                    register(0, .write(1), 0, 1, .write),
                    registerInfo(1, .write(2), 2),
                    register(0, .read, 3, 4, .read(1)),
                ],
                expected: .linearizable),
            RegisterCase(
                name: "an :info write may have happened",
                history: [
                    register(0, .write(1), 0, 1, .write),
                    registerInfo(1, .write(2), 2),
                    register(0, .read, 3, 4, .read(2)),
                ],
                expected: .linearizable),
            RegisterCase(
                name: "an :info write may take effect long after its invocation",
                history: [
                    registerInfo(1, .write(2), 0),
                    register(0, .read, 3, 4, .read(nil)),
                    register(0, .read, 5, 6, .read(nil)),
                    register(0, .read, 7, 8, .read(2)),
                ],
                expected: .linearizable),
            RegisterCase(
                name: "an :info write that took effect stays in effect",
                history: [
                    register(0, .write(1), 0, 1, .write),
                    registerInfo(1, .write(2), 2),
                    register(0, .read, 3, 4, .read(2)),
                    register(0, .read, 5, 6, .read(1)),
                ],
                expected: .notLinearizable(partition: 0, longestPrefix: 3)),
            RegisterCase(
                name: "an :info write cannot take effect before its invocation",
                history: [
                    register(0, .read, 0, 1, .read(2)),
                    registerInfo(1, .write(2), 2),
                ],
                expected: .notLinearizable(partition: 0, longestPrefix: 0)),
            RegisterCase(
                name: "a cas succeeds on the expected value",
                history: [
                    register(0, .write(1), 0, 1, .write),
                    register(0, .cas(expected: 1, new: 2), 2, 3, .cas(succeeded: true)),
                    register(0, .read, 4, 5, .read(2)),
                ],
                expected: .linearizable),
            RegisterCase(
                name: "a cas cannot succeed on another value",
                history: [register(0, .cas(expected: 1, new: 2), 0, 1, .cas(succeeded: true))],
                expected: .notLinearizable(partition: 0, longestPrefix: 0)),
            RegisterCase(
                name: "a cas cannot fail on the expected value",
                history: [
                    register(0, .write(1), 0, 1, .write),
                    register(0, .cas(expected: 1, new: 2), 2, 3, .cas(succeeded: false)),
                ],
                expected: .notLinearizable(partition: 0, longestPrefix: 1)),
            RegisterCase(
                name: "a failed cas leaves the value alone",
                history: [
                    register(0, .write(3), 0, 1, .write),
                    register(0, .cas(expected: 1, new: 2), 2, 3, .cas(succeeded: false)),
                    register(0, .read, 4, 5, .read(3)),
                ],
                expected: .linearizable),
            RegisterCase(
                name: "an :info cas may have succeeded",
                history: [
                    register(0, .write(1), 0, 1, .write),
                    registerInfo(1, .cas(expected: 1, new: 2), 2),
                    register(0, .read, 3, 4, .read(2)),
                ],
                expected: .linearizable),
            RegisterCase(
                name: "an :info cas cannot succeed without the expected value",
                history: [
                    register(0, .write(3), 0, 1, .write),
                    registerInfo(1, .cas(expected: 1, new: 2), 2),
                    register(0, .read, 3, 4, .read(2)),
                ],
                // The write and the cas, as a failed one: `longestPrefix` counts :info operations.
                expected: .notLinearizable(partition: 0, longestPrefix: 2)),
            RegisterCase(
                name: "an operation that returned with an unobserved output certainly took effect",
                history: [
                    register(0, .write(1), 0, 1, .write),
                    .init(clientID: 1, input: .write(2), invokedAt: 2, output: nil, returnedAt: 3),
                    register(0, .read, 4, 5, .read(1)),
                ],
                expected: .notLinearizable(partition: 0, longestPrefix: 2)),
        ])
    func registerHistory(_ testCase: RegisterCase) {
        #expect(checkLinearizability(RegisterModel(), history: testCase.history) == testCase.expected)
    }

    @Test("the result does not depend on the order operations are listed in")
    func historyOrderIrrelevant() {
        let history = [
            register(0, .write(1), 0, 5, .write),
            register(1, .write(2), 0, 5, .write),
            register(0, .read, 6, 7, .read(2)),
            registerInfo(2, .cas(expected: 2, new: 3), 6),
            register(1, .read, 8, 9, .read(3)),
        ]
        #expect(checkLinearizability(RegisterModel(), history: history) == .linearizable)
        #expect(checkLinearizability(RegisterModel(), history: history.reversed()) == .linearizable)
    }

    @Test("an operation with unknown outcome may be left out even where no order admits it")
    func unknownOutcomeLeftOut() {
        let take = HistoryOperation<TicketModel.Input, TicketModel.Output>.unknownOutcome(
            clientID: 0, .take, invokedAt: 0)
        let count = HistoryOperation<TicketModel.Input, TicketModel.Output>.completed(
            clientID: 1, .count, invokedAt: 2, returnedAt: 3, output: 0)
        #expect(checkLinearizability(TicketModel(), history: [take, count]) == .linearizable)
        var completedTake = take
        completedTake.returnedAt = 1
        #expect(
            checkLinearizability(TicketModel(), history: [completedTake, count])
                == .notLinearizable(partition: 0, longestPrefix: 0))
    }

    @Test("keys are checked separately, in order of first appearance")
    func partitionByKey() {
        let model = KeyValueModel()
        let history = [
            kv(0, .put(key: "a", value: "1"), 0, 1, .put),
            kv(1, .put(key: "b", value: "2"), 0, 1, .put),
            kv(0, .get(key: "b"), 2, 3, .get("2")),
            kv(1, .get(key: "a"), 2, 3, .get("1")),
            kv(2, .get(key: "c"), 2, 3, .get(nil)),
        ]
        #expect(model.partition(history).map { $0.map(\.input.key) } == [["a", "a"], ["b", "b"], ["c"]])
        #expect(checkLinearizability(model, history: history) == .linearizable)

        let staleB = history + [kv(0, .get(key: "b"), 4, 5, .get(nil))]
        #expect(
            checkLinearizability(model, history: staleB) == .notLinearizable(partition: 1, longestPrefix: 2))
    }

    @Test("key-value semantics")
    func keyValueSemantics() {
        let sequential = [
            kv(0, .get(key: "k"), 0, 1, .get(nil)),
            kv(0, .append(key: "k", value: "x"), 2, 3, .append),
            kv(0, .append(key: "k", value: "y"), 4, 5, .append),
            kv(0, .get(key: "k"), 6, 7, .get("xy")),
            kv(0, .cas(key: "k", expected: "x", new: "z"), 8, 9, .cas(succeeded: false)),
            kv(0, .cas(key: "k", expected: "xy", new: "z"), 10, 11, .cas(succeeded: true)),
            kv(0, .put(key: "k", value: "p"), 12, 13, .put),
            kv(0, .delete(key: "k"), 14, 15, .delete),
            kv(0, .get(key: "k"), 16, 17, .get(nil)),
            kv(0, .cas(key: "k", expected: nil, new: "n"), 18, 19, .cas(succeeded: true)),
            kv(0, .get(key: "k"), 20, 21, .get("n")),
        ]
        #expect(checkLinearizability(KeyValueModel(), history: sequential) == .linearizable)
        let deleted = [
            kv(0, .put(key: "k", value: "p"), 0, 1, .put),
            kv(0, .delete(key: "k"), 2, 3, .delete),
            kv(0, .get(key: "k"), 4, 5, .get("p")),
        ]
        #expect(
            checkLinearizability(KeyValueModel(), history: deleted)
                == .notLinearizable(partition: 0, longestPrefix: 2))
    }

    @Test("the initial value of every key is a parameter")
    func initialValue() {
        let readsEmpty = [kv(0, .get(key: "k"), 0, 1, .get(""))]
        #expect(checkLinearizability(KeyValueModel(initialValue: ""), history: readsEmpty) == .linearizable)
        #expect(
            checkLinearizability(KeyValueModel(), history: readsEmpty)
                == .notLinearizable(partition: 0, longestPrefix: 0))
        let readsRegister = [register(0, .read, 0, 1, .read(7))]
        #expect(checkLinearizability(RegisterModel(initialValue: 7), history: readsRegister) == .linearizable)
    }

    @Test("maxSteps makes a hard history .unknown, the same every time")
    func stepBudget() {
        let history = hardHistory(writes: 10)
        #expect(
            checkLinearizability(RegisterModel(), history: history)
                == .notLinearizable(partition: 0, longestPrefix: 10))
        for _ in 0..<3 {
            #expect(checkLinearizability(RegisterModel(), history: history, maxSteps: 1_000) == .unknown)
        }
        #expect(checkLinearizability(RegisterModel(), history: history, maxSteps: 0) == .unknown)
        #expect(
            checkLinearizability(RegisterModel(), history: history, maxSteps: 1_000_000)
                == .notLinearizable(partition: 0, longestPrefix: 10))
    }

    @Test("maxSteps: a history that needs no step is decided with none")
    func zeroBudget() {
        #expect(checkLinearizability(RegisterModel(), history: [], maxSteps: 0) == .linearizable)
        let onlyUnknown = [registerInfo(0, .write(1), 0), registerInfo(1, .cas(expected: 1, new: 2), 1)]
        #expect(checkLinearizability(RegisterModel(), history: onlyUnknown, maxSteps: 0) == .linearizable)
    }

    @Test("maxSteps is per key: a later key's violation wins over an earlier key running out")
    func budgetPerPartition() {
        let hard = hardHistory(writes: 10).map { operation in
            let input: KeyValueModel.Input
            let output: KeyValueModel.Output
            switch operation.input {
            case .write(let value):
                (input, output) = (.put(key: "hard", value: "\(value)"), .put)
            default:
                (input, output) = (.get(key: "hard"), .get("99"))
            }
            return kv(operation.clientID, input, operation.invokedAt, operation.returnedAt!, output)
        }
        let easy = [
            kv(0, .put(key: "easy", value: "1"), 0, 1, .put),
            kv(0, .get(key: "easy"), 2, 3, .get(nil)),
        ]
        let easyOK = [kv(0, .put(key: "easy", value: "1"), 0, 1, .put)]
        #expect(
            checkLinearizability(KeyValueModel(), history: hard + easy, maxSteps: 100)
                == .notLinearizable(partition: 1, longestPrefix: 1))
        #expect(checkLinearizability(KeyValueModel(), history: hard + easyOK, maxSteps: 100) == .unknown)
    }

    @Test("operations describe themselves in one short line")
    func operationDescription() {
        #expect("\(register(3, .write(1), 10, 12, .write))" == "c3 write(1) → write [10, 12]")
        #expect(
            "\(registerInfo(1, .cas(expected: 1, new: 2), 4))" == "c1 cas(expected: 1, new: 2) → ? [4, ∞)")
    }
}

/// A model whose `take` is illegal in the initial state whatever its output: only leaving it out
/// makes a history with it linearizable.
private struct TicketModel: LinearizabilityModel {
    enum Input { case take, count }
    typealias Output = Int

    var initialState: Int { 0 }

    func step(_ state: Int, _ input: Input, _ output: Int?) -> (isLegal: Bool, next: Int) {
        switch input {
        case .take: (state > 0, state - 1)
        case .count: (output.map { $0 == state } ?? true, state)
        }
    }
}
