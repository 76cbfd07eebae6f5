/// One slot of the replicated log.
public struct Entry: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: UInt8, Sendable, Equatable {
        /// An opaque command for the state machine.
        case command = 1
        /// Appended by every new leader so it can commit an entry of its own term (Raft §5.4.2, §8).
        case noop = 2
        /// A new cluster configuration (`ClusterConfiguration.encoded()`), in effect as soon as it
        /// is in the log (thesis §4.1).
        case configuration = 3
    }

    public var term: Term
    public var index: LogIndex
    public var kind: Kind
    public var data: [UInt8]

    public init(term: Term, index: LogIndex, kind: Kind = .command, data: [UInt8] = []) {
        self.term = term
        self.index = index
        self.kind = kind
        self.data = data
    }

    /// Approximate encoded size, used to bound messages and batches.
    public var byteSize: Int { data.count + 24 }

    public var description: String {
        switch kind {
        case .command: "\(index)@\(term)"
        case .noop: "\(index)@\(term) noop"
        case .configuration: "\(index)@\(term) config"
        }
    }
}
