/// A sequential specification that `checkLinearizability(_:history:maxSteps:)` checks histories
/// against: the object as it would behave if every operation ran alone, one after another.
///
/// The model must be deterministic: `step` returns the one state an operation leads to. For an
/// operation whose outcome is unknown (`output == nil`) it must accept and return the state the
/// input leads to whatever the output would have been; for a deterministic object (a register, a
/// key-value map) the output is a function of the state and the input, so nothing is lost.
public protocol LinearizabilityModel: Sendable {
    associatedtype State: Hashable & Sendable
    associatedtype Input: Sendable
    associatedtype Output: Sendable

    /// The state before any operation.
    var initialState: State { get }

    /// Whether applying `input` in `state` may produce `output`, and the state after it.
    ///
    /// `output == nil` means the caller never saw the result (a timed-out call, Jepsen `:info`):
    /// return `isLegal: true` unless `input` could not be applied in `state` with any output.
    /// `next` is ignored when `isLegal` is false. Called in the checker's innermost loop, so it
    /// should be cheap.
    func step(_ state: State, _ input: Input, _ output: Output?) -> (isLegal: Bool, next: State)

    /// Splits a history into independent sub-histories (for example one per key) that are
    /// checked separately: a history is linearizable if and only if each sub-history is
    /// (P-compositionality, Horn & Kroening 2015). The search is exponential in the number of
    /// concurrent operations, so splitting is the largest speed-up there is.
    ///
    /// Every operation must land in exactly one sub-history, and the order of the sub-histories
    /// must be deterministic: `LinearizabilityResult.notLinearizable(partition:longestPrefix:)`
    /// names a sub-history by its index. The default returns the whole history as one.
    func partition(_ history: [HistoryOperation<Input, Output>]) -> [[HistoryOperation<Input, Output>]]
}

extension LinearizabilityModel {
    /// The operations of this model's histories, e.g. `RegisterModel.Operation`.
    public typealias Operation = HistoryOperation<Input, Output>

    public func partition(_ history: [Operation]) -> [[Operation]] {
        [history]
    }

    /// One sub-history per key, in order of each key's first appearance: the partition of models
    /// whose operations each touch one key (operations on different keys commute).
    public func partition(_ history: [Operation], byKey key: (Input) -> String) -> [[Operation]] {
        var indexByKey: [String: Int] = [:]
        var partitions: [[Operation]] = []
        for operation in history {
            let key = key(operation.input)
            if let index = indexByKey[key] {
                partitions[index].append(operation)
            } else {
                indexByKey[key] = partitions.count
                partitions.append([operation])
            }
        }
        return partitions
    }
}
