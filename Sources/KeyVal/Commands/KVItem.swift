import RaftCore

/// A key's current value and the index of the log entry that last wrote it. The version is what
/// clients send back in `If-Match` for a compare-and-set.
public struct KVItem: Sendable, Equatable, CustomStringConvertible {
    public var value: String
    public var version: LogIndex

    public init(value: String, version: LogIndex) {
        self.value = value
        self.version = version
    }

    public var description: String { "\(value)@\(version)" }
}
