import RaftCore
import Testing

// A large snapshot is assembled in one buffer (Raft §7, Figure 13): each chunk's bytes are copied
// once, into a buffer reserved for the whole snapshot, and the installed snapshot is that buffer.

@Suite("Snapshots: a large snapshot is assembled without copying what arrived before")
struct SnapshotAssemblyTests {
    /// The address of an array's storage: it changes exactly when the array is reallocated or
    /// copied (copy-on-write), which is what these tests count.
    static func storage(of bytes: [UInt8]) -> UnsafeRawPointer? {
        bytes.withUnsafeBytes { $0.baseAddress }
    }

    @Test("a 64 MiB snapshot in 1 MiB chunks fills one buffer, never copied or regrown, and installs it")
    func largeSnapshotOneBuffer() throws {
        let chunkBytes = 1 << 20
        let chunks = 64
        let total = chunkBytes * chunks
        let metadata = SnapshotMetadata(
            index: LogIndex(5), term: Term(1), configuration: ClusterConfiguration(voters: three))
        var n2 = try makeSnapshotFollower(terms: [1, 1])
        let clock = ContinuousClock()
        let started = clock.now

        var buffer: UnsafeRawPointer?
        var installed: Snapshot?
        for k in 0..<chunks {
            // Chunk k is all byte k, so the assembled bytes show where each chunk landed.
            let chunk = InstallSnapshot(
                metadata: metadata, totalBytes: UInt64(total), offset: UInt64(k * chunkBytes),
                chunk: [UInt8](repeating: UInt8(k), count: chunkBytes))
            let ready = try n2.stepAndTakeReady(envelope("n1", "n2", 2, .installSnapshot(chunk)))
            if k == chunks - 1 {
                installed = ready.snapshotToInstall
                break
            }
            let incoming = try #require(n2.incomingSnapshot, "chunk \(k) was not kept")
            #expect(incoming.data.count == (k + 1) * chunkBytes)
            // Bounded allocation: the buffer holds the whole snapshot from the first chunk on, and
            // little more.
            #expect(incoming.data.capacity >= total && incoming.data.capacity < total + chunkBytes)
            let address = Self.storage(of: incoming.data)
            if k == 0 { buffer = address }
            try #require(
                address == buffer,
                "chunk \(k) moved the buffer: what arrived before was copied (capacity \(incoming.data.capacity))"
            )
        }

        let snapshot = try #require(installed, "the last chunk installed nothing")
        #expect(snapshot.metadata == metadata)
        #expect(snapshot.data.count == total)
        #expect(Self.storage(of: snapshot.data) == buffer, "the installed snapshot is a copy of the buffer")
        for k in 0..<chunks {
            let first = k * chunkBytes
            let last = first + chunkBytes - 1
            #expect(snapshot.data[first] == UInt8(k) && snapshot.data[last] == UInt8(k), "chunk \(k)")
        }
        #expect(n2.incomingSnapshot == nil)
        #expect(n2.log.snapshotIndex == LogIndex(5))
        // A sanity bound only (the check above is the buffer's); copying 64 MiB once is milliseconds.
        let elapsed = clock.now - started
        #expect(elapsed < .seconds(30), "installing 64 MiB took \(elapsed)")
    }

    @Test("a leader announcing an absurd size reserves a bounded buffer, and the transfer still works")
    func absurdTotalIsNotReserved() throws {
        let metadata = SnapshotMetadata(
            index: LogIndex(5), term: Term(1), configuration: ClusterConfiguration(voters: three))
        var n2 = try makeSnapshotFollower(terms: [1, 1])
        let chunk = InstallSnapshot(
            metadata: metadata, totalBytes: UInt64.max, offset: 0, chunk: snapshotBytes(8))
        let ready = try n2.stepAndTakeReady(envelope("n1", "n2", 2, .installSnapshot(chunk)))
        #expect(ready.messages == [envelope("n2", "n1", 2, .snapshotReceiving(index: 5, next: 8))])
        let incoming = try #require(n2.incomingSnapshot)
        #expect(incoming.data == snapshotBytes(8))
        // The allocator may round up a little.
        #expect(incoming.data.capacity < RaftCore.maxSnapshotReservationBytes + (1 << 16))
    }
}
