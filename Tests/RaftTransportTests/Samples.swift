import Raft
import Testing

/// Envelopes covering every `Message` case and every branch inside one (optional present and
/// absent, both result cases, entry kinds, empty and non-empty byte strings, extreme values).
enum Samples {
    static let configuration = ClusterConfiguration(members: [
        Member(id: "n1", raftAddress: "127.0.0.1:7001", httpAddress: "127.0.0.1:8001"),
        Member(id: "n2", raftAddress: "[::1]:7002", httpAddress: "localhost:8002"),
        Member(id: "nœud-3", raftAddress: "host3:7003", httpAddress: "host3:8003", isVoter: false),
    ])

    static let messages: [(name: String, message: Message)] = [
        (
            "vote",
            .requestVote(RequestVote(isPreVote: false, lastLogIndex: LogIndex(41), lastLogTerm: Term(3)))
        ),
        ("pre-vote", .requestVote(RequestVote(isPreVote: true, lastLogIndex: .zero, lastLogTerm: .zero))),
        (
            "vote for a leadership transfer",
            .requestVote(
                RequestVote(
                    isPreVote: false, lastLogIndex: LogIndex(9), lastLogTerm: Term(2),
                    isLeadershipTransfer: true))
        ),
        ("timeout now", .timeoutNow),
        ("vote granted", .requestVoteResponse(RequestVoteResponse(isPreVote: false, granted: true))),
        ("pre-vote rejected", .requestVoteResponse(RequestVoteResponse(isPreVote: true, granted: false))),
        (
            "append probe",
            .appendEntries(
                AppendEntries(
                    prevLogIndex: LogIndex(9), prevLogTerm: Term(2), entries: [], leaderCommit: LogIndex(7)))
        ),
        (
            "append entries",
            .appendEntries(
                AppendEntries(
                    prevLogIndex: LogIndex(10), prevLogTerm: Term(2),
                    entries: [
                        Entry(term: Term(3), index: LogIndex(11), kind: .noop),
                        Entry(term: Term(3), index: LogIndex(12), data: Array("set x=1".utf8)),
                        Entry(term: Term(3), index: LogIndex(13), data: (0..<300).map { UInt8($0 % 251) }),
                    ], leaderCommit: LogIndex(10)))
        ),
        (
            "append accepted",
            .appendEntriesResponse(AppendEntriesResponse(.accepted(matchIndex: LogIndex(13))))
        ),
        (
            "append rejected with conflict term",
            .appendEntriesResponse(
                AppendEntriesResponse(
                    .rejected(
                        rejectedIndex: LogIndex(20), conflictTerm: Term(4), firstIndexOfConflict: LogIndex(15)
                    )))
        ),
        (
            "append rejected, log too short",
            .appendEntriesResponse(
                AppendEntriesResponse(
                    .rejected(
                        rejectedIndex: LogIndex(20), conflictTerm: nil, firstIndexOfConflict: LogIndex(6))))
        ),
        ("heartbeat", .heartbeat(Heartbeat(commit: LogIndex(UInt64.max), readContext: 77))),
        ("heartbeat response", .heartbeatResponse(HeartbeatResponse(readContext: 0))),
        (
            "snapshot chunk",
            .installSnapshot(
                InstallSnapshot(
                    metadata: SnapshotMetadata(
                        index: LogIndex(1000), term: Term(5), configuration: configuration),
                    totalBytes: 4096, offset: 1024, chunk: [UInt8](repeating: 0xAB, count: 512)))
        ),
        (
            "empty snapshot, empty configuration",
            .installSnapshot(
                InstallSnapshot(
                    metadata: SnapshotMetadata(
                        index: .zero, term: .zero, configuration: ClusterConfiguration(members: [])),
                    totalBytes: 0, offset: 0, chunk: []))
        ),
        (
            "snapshot receiving",
            .installSnapshotResponse(
                InstallSnapshotResponse(snapshotIndex: LogIndex(1000), result: .receiving(nextOffset: 1536)))
        ),
        (
            "snapshot installed",
            .installSnapshotResponse(
                InstallSnapshotResponse(
                    snapshotIndex: LogIndex(1000), result: .installed(matchIndex: LogIndex(1000))))
        ),
        ("read index request", .readIndex(ReadIndexRequest(context: UInt64.max))),
        (
            "read index answered",
            .readIndexResponse(ReadIndexResponse(context: 0x0102_0304_0506_0708, readIndex: LogIndex(42)))
        ),
        ("read index refused", .readIndexResponse(ReadIndexResponse(context: 0, readIndex: nil))),
    ]

    static func envelopes(from: NodeID, to: NodeID, term: Term = Term(3)) -> [Envelope] {
        messages.map { Envelope(from: from, to: to, term: term, message: $0.message) }
    }
}

/// A frame with a name, so parameterized tests read well.
struct CodecCase: Sendable, CustomTestStringConvertible {
    var name: String
    var frame: WireCodec.Frame
    var testDescription: String { name }

    static let all: [CodecCase] =
        [
            CodecCase(name: "hello", frame: .hello(WireCodec.Hello(clusterID: "prod-eu", sender: "n1"))),
            CodecCase(
                name: "hello with the sender's address",
                frame: .hello(
                    WireCodec.Hello(clusterID: "prod-eu", sender: "n1", senderAddress: "[::1]:12000"))),
            CodecCase(
                name: "hello, empty and non-ASCII names",
                frame: .hello(WireCodec.Hello(clusterID: "", sender: "nœud-ü", protocolVersion: 65535))),
        ]
        + Samples.messages.map { sample in
            CodecCase(
                name: sample.name,
                frame: .envelope(
                    Envelope(from: "n1", to: "nœud-3", term: Term(UInt64.max), message: sample.message)))
        }
}
