/// The verdict of `checkLinearizability(_:history:maxSteps:)`.
public enum LinearizabilityResult: Sendable, Equatable {
    /// Some order of the operations, consistent with real time, is legal for the model.
    case linearizable
    /// Sub-history `partition` (an index into the model's `partition(_:)` result) has no legal
    /// order. `longestPrefix` is the most operations of it the search managed to linearize in any
    /// branch before getting stuck: the failure is near the operations that follow.
    case notLinearizable(partition: Int, longestPrefix: Int)
    /// The step budget ran out before any sub-history was found not linearizable and before all
    /// were proven linearizable.
    case unknown
}
