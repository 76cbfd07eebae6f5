/// The one place each negative control (`RaftConfig.negativeControls`) is asked about. Production
/// cores have none set, so each of these is a test of a bit that is never set. Every use reads as
/// "the broken variant does this", so the correct rule beside it stays plain.
extension RaftCore {
    /// The Figure 8 bug: commit an earlier term's entry by counting its replicas (§5.4.2).
    var commitsEarlierTermsByCounting: Bool { config.negativeControls.contains(.commitEarlierTermByCounting) }
    /// Commits and elections without a majority.
    var takesOneNodeForAQuorum: Bool { config.negativeControls.contains(.quorumOfOne) }
    /// Reads served at once, without ReadIndex (thesis §6.4).
    var servesReadsWithoutReadIndex: Bool { config.negativeControls.contains(.readWithoutReadIndex) }
    /// Snapshot chunks appended whatever their offset.
    var ignoresSnapshotChunkOffsets: Bool { config.negativeControls.contains(.ignoreSnapshotChunkOffsets) }
    /// Membership changes accepted while another is in flight (thesis §4.1).
    var allowsConcurrentMembershipChanges: Bool {
        config.negativeControls.contains(.allowConcurrentMembershipChanges)
    }
    /// Every `Ready` may send before it is persisted, not only a leader's.
    var letsEveryNodeSendBeforePersisting: Bool {
        config.negativeControls.contains(.everyNodeSendsBeforePersisting)
    }
    /// A follower serves a read at its own commit index without asking the leader (thesis §6.4).
    var servesFollowerReadsAtOwnCommit: Bool {
        config.negativeControls.contains(.followerReadWithoutReadIndex)
    }
    /// A follower serves when the leader's read index arrives, before applying up to it (thesis §6.4).
    var servesFollowerReadsBeforeApply: Bool { config.negativeControls.contains(.followerReadBeforeApply) }
    /// Whether any control is set: what only a broken variant can reach is then reported by the
    /// simulation's checks rather than trapped.
    var isBrokenOnPurpose: Bool { !config.negativeControls.isEmpty }
}
