/// One client call in a history: what was asked, when, and (if known) what came back.
/// (Not named `Operation`, which would clash with Foundation's in any file importing both; each
/// model offers it as `Model.Operation`.)
///
/// Times are in any unit, as long as one history uses one clock; only their order matters.
/// Intervals are closed: `a` precedes `b` only if `a.returnedAt < b.invokedAt`, so an operation
/// that returns at `t` overlaps one invoked at `t` and the checker may order them either way.
public struct HistoryOperation<Input, Output> {
    /// The client (process) that made the call. Not used by the search; kept for diagnostics.
    public var clientID: Int
    public var input: Input
    public var invokedAt: Int64
    /// What the call returned, or `nil` when it was not observed. `nil` is passed to the model's
    /// `step`, which then accepts any output the operation could have had.
    public var output: Output?
    /// When the call returned, or `nil` when the outcome is unknown (Jepsen `:info`, a client
    /// timeout): the operation may have taken effect at any point after `invokedAt`, or never.
    /// An operation with a return time certainly took effect, between its invocation and return.
    /// If not `nil`, it must be `>= invokedAt`.
    public var returnedAt: Int64?

    public init(clientID: Int, input: Input, invokedAt: Int64, output: Output?, returnedAt: Int64?) {
        self.clientID = clientID
        self.input = input
        self.invokedAt = invokedAt
        self.output = output
        self.returnedAt = returnedAt
    }

    /// An operation that completed at `returnedAt` with `output`.
    public static func completed(
        clientID: Int, _ input: Input, invokedAt: Int64, returnedAt: Int64, output: Output
    ) -> Self {
        Self(clientID: clientID, input: input, invokedAt: invokedAt, output: output, returnedAt: returnedAt)
    }

    /// An operation whose outcome is unknown: it may take effect at any time after `invokedAt`,
    /// or never.
    public static func unknownOutcome(clientID: Int, _ input: Input, invokedAt: Int64) -> Self {
        Self(clientID: clientID, input: input, invokedAt: invokedAt, output: nil, returnedAt: nil)
    }
}

extension HistoryOperation: Sendable where Input: Sendable, Output: Sendable {}
extension HistoryOperation: Equatable where Input: Equatable, Output: Equatable {}
extension HistoryOperation: Hashable where Input: Hashable, Output: Hashable {}

extension HistoryOperation: CustomStringConvertible {
    /// `c3 write(1) → write [10, 12]`; `?` for an output not observed, `∞` for an unknown return.
    public var description: String {
        let output = output.map { "\($0)" } ?? "?"
        let returnedAt = returnedAt.map { "\($0)]" } ?? "∞)"
        return "c\(clientID) \(input) → \(output) [\(invokedAt), \(returnedAt)"
    }
}
