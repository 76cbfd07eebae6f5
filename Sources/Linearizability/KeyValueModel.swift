/// A map of independent string registers (`nil` = absent), checked one key at a time.
///
/// `State` is the value of a single key: `partition(_:)` splits a history by key, and `step`
/// relies on that, so do not call `step` directly on a multi-key history. For an operation with
/// unknown outcome any output is accepted.
public struct KeyValueModel: LinearizabilityModel {
    public enum Input: Sendable, Hashable {
        case get(key: String)
        case put(key: String, value: String)
        /// Appends to the current value; an absent key counts as "".
        case append(key: String, value: String)
        case delete(key: String)
        /// Sets `key` to `new` if and only if it holds `expected` (`nil`: is absent).
        case cas(key: String, expected: String?, new: String)

        public var key: String {
            switch self {
            case .get(let key), .put(let key, _), .append(let key, _), .delete(let key),
                .cas(let key, _, _):
                key
            }
        }
    }

    public enum Output: Sendable, Hashable {
        case get(String?)
        case put
        case append
        case delete
        case cas(succeeded: Bool)
    }

    /// The value of every key before any operation. Our store starts with every key absent
    /// (`nil`); Porcupine's kv histories start every key at "" and a get of an untouched key
    /// returns "".
    public let initialState: String?

    public init(initialValue: String? = nil) {
        initialState = initialValue
    }

    public func step(_ state: String?, _ input: Input, _ output: Output?) -> (isLegal: Bool, next: String?) {
        switch (input, output) {
        case (.get, nil):
            return (true, state)
        case (.get, .get(let value)):
            return (value == state, state)
        case (.put(_, let value), nil), (.put(_, let value), .put):
            return (true, value)
        case (.append(_, let value), nil), (.append(_, let value), .append):
            return (true, (state ?? "") + value)
        case (.delete, nil), (.delete, .delete):
            return (true, nil)
        case (.cas(_, let expected, let new), nil):
            return (true, state == expected ? new : state)
        case (.cas(_, let expected, let new), .cas(let succeeded)):
            let matches = state == expected
            return (succeeded == matches, matches ? new : state)
        default:
            preconditionFailure("output \(String(describing: output)) does not answer input \(input)")
        }
    }

    /// One sub-history per key, in order of each key's first appearance.
    public func partition(_ history: [Operation]) -> [[Operation]] {
        partition(history, byKey: \.key)
    }
}
