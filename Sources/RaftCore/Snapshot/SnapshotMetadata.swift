/// What a snapshot stands for: the state machine after applying every entry through `index`,
/// whose term is `term`, under `configuration` (Raft §7).
public struct SnapshotMetadata: Sendable, Equatable, CustomStringConvertible {
    public var index: LogIndex
    public var term: Term
    public var configuration: ClusterConfiguration

    public init(index: LogIndex, term: Term, configuration: ClusterConfiguration) {
        self.index = index
        self.term = term
        self.configuration = configuration
    }

    public var description: String { "snapshot \(index)@\(term) \(configuration)" }
}
