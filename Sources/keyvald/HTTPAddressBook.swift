import KeyValClient
import Raft
import Synchronization

/// HTTP addresses of members learned outside the Raft log: a joiner asks its `-join` target's
/// `/status` before anything else, which names every member and the leader. The configuration in
/// the log is preferred whenever it names an address; this only fills the gap until it does.
final class HTTPAddressBook: Sendable {
    private let addresses = Mutex<[NodeID: String]>([:])

    func learn(from report: StatusReport) {
        addresses.withLock { addresses in
            for member in report.members where !member.haddr.isEmpty {
                addresses[NodeID(member.id)] = member.haddr
            }
            if let leader = report.leader, !leader.haddr.isEmpty {
                addresses[NodeID(leader.id)] = leader.haddr
            }
        }
    }

    func address(of id: NodeID) -> String? { addresses.withLock { $0[id] } }
}
