/// One integer register (`nil` = absent) with read, write and compare-and-set, as in Jepsen's
/// etcd tests. For an operation with unknown outcome any output is accepted.
public struct RegisterModel: LinearizabilityModel {
    public enum Input: Sendable, Hashable {
        case read
        case write(Int)
        /// Sets the register to `new` if and only if it holds `expected`.
        case cas(expected: Int, new: Int)
    }

    public enum Output: Sendable, Hashable {
        case read(Int?)
        case write
        case cas(succeeded: Bool)
    }

    public let initialState: Int?

    public init(initialValue: Int? = nil) {
        initialState = initialValue
    }

    public func step(_ state: Int?, _ input: Input, _ output: Output?) -> (isLegal: Bool, next: Int?) {
        switch (input, output) {
        case (.read, nil):
            return (true, state)
        case (.read, .read(let value)):
            return (value == state, state)
        case (.write(let value), nil), (.write(let value), .write):
            return (true, value)
        case (.cas(let expected, let new), nil):
            return (true, state == expected ? new : state)
        case (.cas(let expected, let new), .cas(let succeeded)):
            let matches = state == expected
            return (succeeded == matches, matches ? new : state)
        default:
            preconditionFailure("output \(String(describing: output)) does not answer input \(input)")
        }
    }
}
