import Linearizability

/// The sequential specification of the real `KVStore`, as the simulation's key-value clients see
/// it, for the linearizability check: one register per key (`nil` = absent), checked one key at a
/// time.
///
/// Versions are not part of the state. Every write in the simulation writes a value no other
/// request writes to that key, so a key's value names the write that produced it, and with it that
/// write's version: a compare-and-set on `versionEquals(v)` is checked as one on "the value the
/// client saw at version v". Answers carry what the store said about the state before the write
/// (created or updated, deleted or not found, why a condition failed), and the model holds the
/// store to each of them.
public struct KeyValueStoreModel: LinearizabilityModel {
    /// What a compare-and-set requires of the key's current value.
    public enum Condition: Sendable, Hashable, CustomStringConvertible {
        case absent
        case present
        /// The key holds this value (the write it names is the key's latest).
        case equals(String)

        public var description: String {
            switch self {
            case .absent: "absent"
            case .present: "present"
            case .equals(let value): "=\(value)"
            }
        }
    }

    public enum Input: Sendable, Hashable, CustomStringConvertible {
        case get(key: String)
        /// One key of a `set` (a multi-key set is one of these per key, all with the same times).
        case set(key: String, value: String)
        case delete(key: String)
        case compareAndSet(key: String, condition: Condition, value: String)

        public var key: String {
            switch self {
            case .get(let key), .set(let key, _), .delete(let key), .compareAndSet(let key, _, _): key
            }
        }

        public var description: String {
            switch self {
            case .get(let key): "get \(key)"
            case .set(let key, let value): "set \(key)=\(value)"
            case .delete(let key): "delete \(key)"
            case .compareAndSet(let key, let condition, let value): "cas \(key)=\(value) if \(condition)"
            }
        }
    }

    public enum Output: Sendable, Hashable, CustomStringConvertible {
        case value(String?)
        /// Whether the key was created (nil: not known per key, as for a multi-key set's counts).
        case set(created: Bool?)
        case deleted
        case notFound
        case written(created: Bool)
        case conditionFailed(isPresent: Bool)

        public var description: String {
            switch self {
            case .value(let value): value ?? "absent"
            case .set(let created): created.map { $0 ? "created" : "updated" } ?? "set"
            case .deleted: "deleted"
            case .notFound: "not found"
            case .written(let created): created ? "written (created)" : "written (updated)"
            case .conditionFailed(let isPresent): "condition failed (\(isPresent ? "present" : "absent"))"
            }
        }
    }

    public var initialState: String? { nil }

    public init() {}

    public func step(_ state: String?, _ input: Input, _ output: Output?) -> (isLegal: Bool, next: String?) {
        switch input {
        case .get:
            guard let output else { return (true, state) }
            return (output == .value(state), state)
        case .set(_, let value):
            switch output {
            case nil, .set(nil): return (true, value)
            case .set(let created?): return (created == (state == nil), value)
            default: return (false, state)
            }
        case .delete:
            switch output {
            case nil: return (true, nil)
            case .deleted: return (state != nil, nil)
            case .notFound: return (state == nil, nil)
            default: return (false, state)
            }
        case .compareAndSet(_, let condition, let value):
            let holds =
                switch condition {
                case .absent: state == nil
                case .present: state != nil
                case .equals(let expected): state == expected
                }
            switch output {
            case nil: return (true, holds ? value : state)
            case .written(let created): return (holds && created == (state == nil), value)
            case .conditionFailed(let isPresent): return (!holds && isPresent == (state != nil), state)
            default: return (false, state)
            }
        }
    }

    /// One sub-history per key, in order of each key's first appearance.
    public func partition(_ history: [Operation]) -> [[Operation]] {
        partition(history, byKey: \.key)
    }
}
