import Linearizability
import RaftSimulation
import Testing

/// `KeyValueStoreModel`, the specification the real-store runs are checked against: each answer
/// the store can give must be legal exactly in the states where the store gives it.
@Suite("KeyValueStoreModel: the store's answers as a sequential specification")
struct KeyValueStoreModelTests {
    typealias Input = KeyValueStoreModel.Input
    typealias Output = KeyValueStoreModel.Output

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        /// One operation after another; a nil output is an operation whose outcome is unknown.
        var operations: [(Input, Output?)]
        var isLinearizable: Bool
        var testDescription: String { name }

        var history: [KeyValueStoreModel.Operation] {
            operations.enumerated().map { i, operation in
                let invokedAt = Int64(2 * i)
                guard let output = operation.1 else {
                    return .unknownOutcome(clientID: i, operation.0, invokedAt: invokedAt)
                }
                return .completed(
                    clientID: i, operation.0, invokedAt: invokedAt, returnedAt: invokedAt + 1, output: output)
            }
        }
    }

    static let cases: [Case] = [
        Case(
            name: "created, read, updated, deleted, not found, read absent",
            operations: [
                (.set(key: "k", value: "1"), .set(created: true)), (.get(key: "k"), .value("1")),
                (.set(key: "k", value: "2"), .set(created: false)), (.delete(key: "k"), .deleted),
                (.delete(key: "k"), .notFound), (.get(key: "k"), .value(nil)),
            ], isLinearizable: true),
        Case(
            name: "a set reported created while the key exists",
            operations: [
                (.set(key: "k", value: "1"), .set(created: true)),
                (.set(key: "k", value: "2"), .set(created: true)),
            ], isLinearizable: false),
        Case(
            name: "a multi-key set's part is legal whether or not the key existed",
            operations: [
                (.set(key: "k", value: "1"), .set(created: nil)),
                (.set(key: "k", value: "2"), .set(created: nil)),
                (.get(key: "k"), .value("2")),
            ], isLinearizable: true),
        Case(
            name: "a delete reported deleted on an absent key",
            operations: [(.delete(key: "k"), .deleted)], isLinearizable: false),
        Case(
            name: "a delete reported not found on a present key",
            operations: [(.set(key: "k", value: "1"), .set(created: true)), (.delete(key: "k"), .notFound)],
            isLinearizable: false),
        Case(
            name: "compare-and-set on the value seen, then create-only refused with the key present",
            operations: [
                (.set(key: "k", value: "1"), .set(created: true)),
                (.compareAndSet(key: "k", condition: .equals("1"), value: "2"), .written(created: false)),
                (.compareAndSet(key: "k", condition: .absent, value: "3"), .conditionFailed(isPresent: true)),
                (.get(key: "k"), .value("2")),
            ], isLinearizable: true),
        Case(
            name: "compare-and-set written on a value the key no longer holds",
            operations: [
                (.set(key: "k", value: "1"), .set(created: true)),
                (.set(key: "k", value: "2"), .set(created: false)),
                (.compareAndSet(key: "k", condition: .equals("1"), value: "3"), .written(created: false)),
            ], isLinearizable: false),
        Case(
            name: "create-only refused on an absent key",
            operations: [
                (.compareAndSet(key: "k", condition: .absent, value: "1"), .conditionFailed(isPresent: false))
            ],
            isLinearizable: false),
        Case(
            name: "update-only refused, claiming the absent key is present",
            operations: [
                (.compareAndSet(key: "k", condition: .present, value: "1"), .conditionFailed(isPresent: true))
            ],
            isLinearizable: false),
        Case(
            name: "a written compare-and-set that says it created an existing key",
            operations: [
                (.set(key: "k", value: "1"), .set(created: true)),
                (.compareAndSet(key: "k", condition: .present, value: "2"), .written(created: true)),
            ], isLinearizable: false),
        Case(
            name: "a write of unknown outcome may have applied",
            operations: [(.set(key: "k", value: "1"), nil), (.get(key: "k"), .value("1"))],
            isLinearizable: true),
        Case(
            name: "a write of unknown outcome may not have applied",
            operations: [(.set(key: "k", value: "1"), nil), (.get(key: "k"), .value(nil))],
            isLinearizable: true),
        Case(
            name: "a read of a value nobody wrote",
            operations: [(.set(key: "k", value: "1"), .set(created: true)), (.get(key: "k"), .value("0"))],
            isLinearizable: false),
        Case(
            name: "a write applied twice: set, overwritten, and back without a second set",
            operations: [
                (.set(key: "k", value: "1"), .set(created: true)),
                (.set(key: "k", value: "2"), .set(created: false)),
                (.get(key: "k"), .value("1")),
            ], isLinearizable: false),
    ]

    @Test("the model accepts exactly the answers the store can give", arguments: cases)
    func verdict(_ c: Case) {
        let result = checkLinearizability(KeyValueStoreModel(), history: c.history)
        #expect((result == .linearizable) == c.isLinearizable, "\(result)")
    }
}
