import RaftCore
import RaftSimulation
import Testing

/// Snapshots, compaction and InstallSnapshot in scripted scenarios (Raft §7).
@Suite("Simulation: snapshots and compaction")
struct SnapshotScenarioTests {
    func cluster(size: Int = 3, snapshotEvery: Int = 20, chunk: Int = 16) -> SimulatedCluster {
        var options = SimulationOptions.quiet(clusterSize: size, seed: 3)
        options.snapshotEvery = snapshotEvery
        options.snapshotKeepEntries = 2
        options.maxSnapshotChunkBytes = chunk
        return SimulatedCluster(options: options)
    }

    func leader(_ cluster: inout SimulatedCluster) throws -> NodeID {
        let elected = cluster.run(untilTrue: { $0.leader != nil }, maxTicks: 60)
        try #require(elected)
        cluster.run(ticks: 3)
        return cluster.leader!
    }

    @Test("a follower that was down while the log was compacted catches up through a snapshot")
    func laggingFollowerGetsSnapshot() throws {
        var cluster = cluster()
        let leader = try leader(&cluster)
        let lagging = cluster.ids.first { $0 != leader }!
        cluster.crash(lagging)
        for k in 0..<100 { _ = cluster.propose(key: "k\(k % 7)", value: "v\(k)", at: leader) }
        cluster.run(ticks: 10)
        let compacted = cluster.core(leader)!.log.snapshotIndex
        #expect(compacted > .zero, "the leader never compacted its log")
        cluster.restart(lagging)
        cluster.run(ticks: 30)
        let follower = try #require(cluster.core(lagging))
        #expect(follower.log.snapshotIndex >= compacted, "the follower did not install a snapshot")
        #expect(follower.log.applied == cluster.core(leader)!.log.committed)
        for k in 0..<7 {
            #expect(cluster.value(of: "k\(k)", at: lagging) == cluster.value(of: "k\(k)", at: leader))
        }
        #expect(cluster.stats.snapshotsInstalled >= 1)
        #expect(cluster.failure == nil, "\(cluster.failure.map { "\($0)" } ?? "")")
    }

    @Test("a snapshot transfer survives lost chunks and resumes where it stopped")
    func transferSurvivesLostChunks() throws {
        var options = SimulationOptions.quiet(clusterSize: 3, seed: 11)
        options.snapshotEvery = 20
        options.snapshotKeepEntries = 2
        options.maxSnapshotChunkBytes = 8
        var cluster = SimulatedCluster(options: options)
        let leader = try leader(&cluster)
        let lagging = cluster.ids.first { $0 != leader }!
        cluster.crash(lagging)
        for k in 0..<60 { _ = cluster.propose(key: "key\(k % 5)", value: "value-\(k)", at: leader) }
        cluster.run(ticks: 10)
        cluster.restart(lagging)
        // Let the transfer start, then cut the follower off for a while: chunks in flight are lost.
        let started = cluster.run(untilTrue: { $0.core(lagging)?.incomingSnapshot != nil }, maxTicks: 20)
        try #require(started)
        cluster.partition([[lagging], cluster.ids.filter { $0 != lagging }])
        cluster.run(ticks: 3)
        let partial = cluster.core(lagging)!.incomingSnapshot
        #expect(
            partial != nil && partial!.data.count < Int(partial!.totalBytes),
            "the transfer was not cut midway")
        cluster.healNetwork()
        cluster.run(ticks: 30)
        #expect(cluster.core(lagging)!.log.applied == cluster.core(leader)!.log.committed)
        #expect(cluster.value(of: "key4", at: lagging) == "value-59")
        #expect(cluster.failure == nil, "\(cluster.failure.map { "\($0)" } ?? "")")
    }

    @Test("memory stays bounded: the log holds no more than the snapshot threshold however long it runs")
    func compactionBoundsTheLog() throws {
        var cluster = cluster(snapshotEvery: 25)
        let leader = try leader(&cluster)
        for round in 0..<20 {
            for k in 0..<20 { _ = cluster.propose(key: "k\(k)", value: "r\(round)", at: leader) }
            cluster.run(ticks: 5)
        }
        for id in cluster.ids {
            let log = cluster.core(id)!.log
            #expect(log.entries.count <= 25 + 2 + 20, "\(id) holds \(log.entries.count) entries")
        }
    }
}
