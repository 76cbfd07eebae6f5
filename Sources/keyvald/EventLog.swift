import Logging
import Raft
import Synchronization

/// Turns the node's events into the log lines a person watching a cluster wants, in plain words:
/// `node1 became leader (term 3)`, `lost contact with leader node0`, `node2 joined`, `snapshot
/// taken at index 10240`. Called on the node's loop, so it only formats and logs.
final class EventLog: Sendable {
    private let id: NodeID
    private let logger: Logger
    /// What the previous events said, to word the next ones (who led, who was a member).
    private let memory: Mutex<(leader: NodeID?, members: [Member]?)>

    init(id: NodeID, logger: Logger) {
        self.id = id
        self.logger = logger
        self.memory = Mutex((nil, nil))
    }

    /// The configuration the node started with, so changes are described against it.
    func start(with configuration: ClusterConfiguration) {
        memory.withLock { $0.members = configuration.members }
    }

    func record(_ event: NodeEvent) {
        switch event {
        case .raft(let event): record(event)
        case .snapshotTaken(let index, let bytes):
            logger.info("snapshot taken at index \(index.value) (\(bytes) bytes)")
        case .snapshotInstalled(let index, let bytes):
            logger.info("installed the leader's snapshot at index \(index.value) (\(bytes) bytes)")
        case .storageFailed(let reason):
            logger.critical("storage failed, stopping: \(reason)")
        case .slowPass(let timings):
            logger.warning("the node's loop was busy for \(timings) (no heartbeat sent meanwhile)")
        }
    }

    private func record(_ event: RaftEvent) {
        switch event {
        case .becameLeader(let term):
            remember(leader: id)
            logger.notice("\(id) became leader (term \(term.value))")
        case .becameFollower(let term, let leader):
            let previous = remember(leader: leader)
            if previous == id {
                logger.notice("\(id) stepped down (term \(term.value))")
            }
            if let leader, leader != previous {
                logger.info("following leader \(leader) (term \(term.value))")
            }
        case .leaderChanged(let term, let leader):
            remember(leader: leader)
            logger.info("following leader \(leader) (term \(term.value))")
        case .becamePreCandidate(let term):
            let previous = remember(leader: nil)
            if let previous, previous != id {
                logger.warning(
                    "lost contact with leader \(previous); asking for votes for term \(term.value + 1)")
            } else {
                logger.info("no leader; asking for votes for term \(term.value + 1)")
            }
        case .becameCandidate(let term):
            remember(leader: nil)
            logger.info("standing for election in term \(term.value)")
        case .lostQuorum(let term):
            logger.warning("lost contact with a majority of voters; stepping down (term \(term.value))")
        case .sendingSnapshot(let peer, let index):
            logger.info(
                "\(peer) is too far behind for the log; sending it the snapshot at index \(index.value)")
        case .snapshotDelivered(let peer, let index):
            logger.info("\(peer) installed the snapshot at index \(index.value)")
        case .receivedSnapshot(let index):
            logger.info("received the leader's snapshot at index \(index.value)")
        case .configurationChanged(let index, let configuration):
            describeChange(to: configuration, at: index)
        case .transferringLeadership(let target):
            logger.notice("\(id) is handing leadership to \(target)")
        case .leadershipTransferAbandoned(let target):
            logger.warning("leadership transfer to \(target) did not complete in time; \(id) still leads")
        case .removedFromVoters(let index):
            logger.notice(
                "\(id) was removed from the cluster's voters (index \(index.value)); it will not stand for election"
            )
        }
    }

    @discardableResult
    private func remember(leader: NodeID?) -> NodeID? {
        memory.withLock { memory in
            defer { memory.leader = leader }
            return memory.leader
        }
    }

    /// One line per member that joined, left or changed.
    private func describeChange(to configuration: ClusterConfiguration, at index: LogIndex) {
        let previous = memory.withLock { memory in
            defer { memory.members = configuration.members }
            return memory.members ?? []
        }
        if previous.isEmpty {
            // A joining node learning the cluster: one line with everyone rather than a "joined" each.
            let everyone = configuration.members.map {
                "\($0.id) (\($0.isVoter ? "voter" : "learner"), raft \($0.raftAddress))"
            }
            logger.info("cluster members as of index \(index.value): \(everyone.joined(separator: ", "))")
            return
        }
        let before = Dictionary(uniqueKeysWithValues: previous.map { ($0.id, $0) })
        let after = Dictionary(uniqueKeysWithValues: configuration.members.map { ($0.id, $0) })
        for member in configuration.members {
            guard let old = before[member.id] else {
                logger.notice(
                    "\(member.id) joined as a \(member.isVoter ? "voter" : "learner") (raft \(member.raftAddress), index \(index.value))"
                )
                continue
            }
            if old.isVoter != member.isVoter {
                logger.notice(
                    "\(member.id) is now a \(member.isVoter ? "voter" : "learner") (index \(index.value))")
            }
            if old.raftAddress != member.raftAddress || old.httpAddress != member.httpAddress {
                logger.notice(
                    "\(member.id) moved to raft \(member.raftAddress), http \(member.httpAddress) (index \(index.value))"
                )
            }
        }
        for member in previous where after[member.id] == nil {
            logger.notice("\(member.id) left the cluster (index \(index.value))")
        }
    }
}
