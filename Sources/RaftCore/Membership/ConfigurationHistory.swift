/// The configurations one node knows, by log index: the one its snapshot (or its starting state)
/// carries, and one per configuration entry in its log after that.
///
/// The latest one is in effect as soon as its entry is in the log, committed or not (thesis §4.1):
/// that is what lets a single-server change be safe without joint consensus. The price is that a
/// follower whose log is truncated must fall back to the configuration before the removed entry,
/// which is why the earlier ones are kept until compaction folds them into the base.
struct ConfigurationHistory: Sendable, Equatable {
    /// The configuration as of `baseIndex` (a snapshot's, or the one a node started with at 0).
    private(set) var base: ClusterConfiguration
    private(set) var baseIndex: LogIndex
    /// Configuration entries after `baseIndex`, in ascending index order.
    private(set) var entries: [(index: LogIndex, configuration: ClusterConfiguration)] = []

    init(base: ClusterConfiguration, at index: LogIndex) {
        self.base = base
        self.baseIndex = index
    }

    /// The configuration in effect: the last one in the log.
    var latest: ClusterConfiguration { entries.last?.configuration ?? base }
    /// The index of the entry that made `latest` (the base index if no entry did).
    var latestIndex: LogIndex { entries.last?.index ?? baseIndex }

    /// The configuration in effect once the log reaches `index` (at or after the base).
    func configuration(at index: LogIndex) -> ClusterConfiguration {
        entries.last { $0.index <= index }?.configuration ?? base
    }

    /// Records a configuration entry appended to the log after every known one.
    mutating func append(_ entry: Entry) {
        guard entry.kind == .configuration else { return }
        precondition(entry.index > latestIndex, "configuration at \(entry.index) after \(latestIndex)")
        entries.append((entry.index, Self.decode(entry)))
    }

    /// The log lost `index` and everything after it (a conflicting suffix was replaced).
    mutating func truncate(from index: LogIndex) {
        entries.removeAll { $0.index >= index }
    }

    /// The log through `index` is compacted: fold what it held into the base.
    mutating func compact(through index: LogIndex) {
        guard index > baseIndex else { return }
        base = configuration(at: index)
        baseIndex = index
        entries.removeAll { $0.index <= index }
    }

    /// A snapshot replaced the log through `index`; its metadata carries the configuration there.
    mutating func restore(_ configuration: ClusterConfiguration, at index: LogIndex) {
        base = configuration
        baseIndex = index
        entries.removeAll { $0.index <= index }
    }

    /// A configuration entry's payload. Entries reach the log only through the leader's own
    /// validated encoder and checksummed disks and frames, so bytes that do not decode mean a bug
    /// or a foreign format: stopping is safer than guessing who the voters are.
    static func decode(_ entry: Entry) -> ClusterConfiguration {
        do {
            return try ClusterConfiguration(decoding: entry.data)
        } catch {
            preconditionFailure("configuration entry \(entry.index) does not decode: \(error)")
        }
    }

    static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.base == rhs.base && lhs.baseIndex == rhs.baseIndex
            && lhs.entries.map(\.index) == rhs.entries.map(\.index)
            && lhs.entries.map(\.configuration) == rhs.entries.map(\.configuration)
    }
}
