/// Pure majority arithmetic over the voters of one configuration.
public enum Quorum {
    /// The highest index stored on a majority, given each voter's match index.
    /// With `quorumSize` of the voters, that is the `quorumSize`-th largest match.
    public static func committedIndex(matches: [LogIndex], quorumSize: Int) -> LogIndex {
        precondition(
            quorumSize >= 1 && quorumSize <= matches.count, "quorum \(quorumSize) of \(matches.count)")
        let sorted = matches.sorted(by: >)
        return sorted[quorumSize - 1]
    }
}
