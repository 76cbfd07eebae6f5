/// A key's value and the version (log index) that wrote it.
public struct StoredValue: Sendable, Equatable {
    public var value: String
    public var version: UInt64

    public init(value: String, version: UInt64) {
        self.value = value
        self.version = version
    }
}

/// A successful write: whether it created the key, the version it wrote, and how many members held
/// the entry when the leader answered (`Keyval-Replicas`, a lower bound; nil if not reported).
public struct WriteOutcome: Sendable, Equatable {
    public var created: Bool
    public var version: UInt64
    public var replicas: Int?

    public init(created: Bool, version: UInt64, replicas: Int?) {
        self.created = created
        self.version = version
        self.replicas = replicas
    }
}

public enum DeleteOutcome: Sendable, Equatable {
    case deleted
    case notFound
}

public enum CompareAndSetOutcome: Sendable, Equatable {
    case written(WriteOutcome)
    /// The key was not at the expected version: it is at `currentVersion`, or absent when nil.
    case conflict(currentVersion: UInt64?)
}
