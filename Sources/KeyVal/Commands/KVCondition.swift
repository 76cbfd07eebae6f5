import RaftCore

/// The precondition of a compare-and-set, in HTTP conditional-request terms.
///
/// Equality and hashing compare raw version numbers: the version comes straight from a client's
/// `If-Match`, and `LogIndex`'s `==` (Strideable's default, through `distance(to:)`) traps above
/// `Int.max`.
public enum KVCondition: Hashable, Sendable, CustomStringConvertible {
    /// The key exists and was last written at this index (`If-Match: <version>`).
    case versionEquals(LogIndex)
    /// The key does not exist (`If-None-Match: *`): create-only.
    case absent
    /// The key exists, whatever its version (`If-Match: *`): update-only.
    case exists

    public static func == (lhs: KVCondition, rhs: KVCondition) -> Bool {
        switch (lhs, rhs) {
        case (.versionEquals(let a), .versionEquals(let b)): a.value == b.value
        case (.absent, .absent), (.exists, .exists): true
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .versionEquals(let version):
            hasher.combine(0)
            hasher.combine(version.value)
        case .absent: hasher.combine(1)
        case .exists: hasher.combine(2)
        }
    }

    public var description: String {
        switch self {
        case .versionEquals(let version): "version=\(version.value)"
        case .absent: "absent"
        case .exists: "exists"
        }
    }
}
