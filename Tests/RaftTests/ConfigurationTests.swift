import RaftCore
import Testing

@Suite("Cluster configuration")
struct ConfigurationTests {
    static let sample = ClusterConfiguration(members: [
        Member(id: "node2", raftAddress: "127.0.0.1:12002", httpAddress: "127.0.0.1:11002", isVoter: false),
        Member(id: "node0", raftAddress: "127.0.0.1:12000", httpAddress: "127.0.0.1:11000"),
        Member(id: "nöde1", raftAddress: "[::1]:12001", httpAddress: ""),
    ])

    @Test("members are kept sorted, voters and learners derived from them")
    func derivedViews() {
        #expect(Self.sample.members.map(\.id) == ["node0", "node2", "nöde1"])
        #expect(Self.sample.voters == ["node0", "nöde1"])
        #expect(Self.sample.learners == ["node2"])
        #expect(Self.sample.quorum == 2)
        #expect(Self.sample.member("node2")?.httpAddress == "127.0.0.1:11002")
    }

    @Test("the binary form round-trips members, addresses and voter flags")
    func roundTrip() throws {
        let staged = ClusterConfiguration(members: [
            Member(id: "a"), Member(id: "b", raftAddress: "b:1", isVoter: false, promotesWhenCaughtUp: true),
        ])
        for configuration in [
            Self.sample, ClusterConfiguration(voters: []), ClusterConfiguration(voters: ["a", "b", "c"]),
            staged,
        ] {
            #expect(try ClusterConfiguration(decoding: configuration.encoded()) == configuration)
        }
    }

    @Test("every proper prefix of the binary form is refused as truncated")
    func truncation() {
        let bytes = Self.sample.encoded()
        for length in 0..<bytes.count {
            #expect(throws: ConfigurationDecodingError.truncated) {
                try ClusterConfiguration(decoding: bytes.prefix(length))
            }
        }
    }

    @Test(
        "malformed configurations are refused with the reason",
        arguments: [
            ([2, 0, 0, 0, 0], ConfigurationDecodingError.unsupportedVersion(2)),
            ([1, 0, 0, 0, 0, 7], .trailingBytes(1)),
            ([1, 1, 0, 0, 0, 4, 1, 0, 0x61, 0, 0, 0, 0], .unknownFlags(4)),
            // A voter cannot also be waiting for promotion.
            ([1, 1, 0, 0, 0, 3, 1, 0, 0x61, 0, 0, 0, 0], .unknownFlags(3)),
            ([1, 1, 0, 0, 0, 1, 1, 0, 0xFF, 0, 0, 0, 0], .invalidUTF8),
            ([1, 2, 0, 0, 0, 1, 1, 0, 0x61, 0, 0, 0, 0, 1, 1, 0, 0x61, 0, 0, 0, 0], .duplicateMember("a")),
        ] as [([UInt8], ConfigurationDecodingError)])
    func malformed(_ bytes: [UInt8], _ expected: ConfigurationDecodingError) {
        #expect(throws: expected) { try ClusterConfiguration(decoding: bytes) }
    }
}
