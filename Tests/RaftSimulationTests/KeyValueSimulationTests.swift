import KeyVal
import RaftCore
import RaftSimulation
import Testing

/// The real key-value state machine (`KVStore`, `KVCommand` and its codec, client sessions, the
/// store's snapshots) under the simulation's faults. The seeds themselves run in the sweep
/// (`SimulationSweepTests`, "real KVStore" cases); these tests show that those runs exercise what
/// they claim and that their checks can fail.
@Suite("Simulation: the real key-value store")
struct KeyValueSimulationTests {
    @Test(
        "retries are deduplicated, answers lost, sessions expire, nodes restore from the store's snapshots"
    )
    func retriesAndSnapshotsAreExercised() async throws {
        let results = try await runSimulations(
            (0..<10).map { SimulationOptions.keyValue(clusterSize: 5, seed: $0) }
        ).get()
        func total(_ field: (SimulationStats) -> Int) -> Int { results.reduce(0) { $0 + field($1.stats) } }
        #expect(total(\.operationsOK) > 1000)
        #expect(total(\.writeRetries) > 100)
        #expect(total(\.answersLost) > 100)
        #expect(total(\.retriesDeduplicated) > 100, "retries never met their remembered result")
        #expect(total(\.sessionsExpired) > 0, "no client ever found its session evicted")
        #expect(total(\.operationsUnknown) > 0)
        #expect(total(\.snapshotsTaken) > 50)
        #expect(total(\.snapshotsInstalled) > 5, "no follower installed the store's snapshot")
        #expect(total(\.restartsFromSnapshot) > 5, "no restart restored the store from its snapshot")
        #expect(total(\.followerReadsServed) > 100, "followers served too few linearizable reads")
    }

    @Test("a seed with the real store replays exactly: same trace, same statistics")
    func replayIsDeterministic() async throws {
        let results = try await runSimulations(
            [7, 7, 8].map { SimulationOptions.keyValue(clusterSize: 3, seed: $0) }
        ).get()
        let (a, b, c) = (results[0], results[1], results[2])
        #expect(a.stats.events == b.stats.events)
        #expect(a.stats.writeRetries == b.stats.writeRetries)
        #expect(a.stats.operationsOK == b.stats.operationsOK)
        #expect(a.trace == b.trace)
        #expect(c.stats.events != a.stats.events || c.trace != a.trace, "different seeds ran identically")
    }

    /// A store whose sessions are ignored applies every retry again. The direct check catches it
    /// at the first double application; with that check off, the linearizability check must catch
    /// it from the clients' answers alone (it does on each of the first 5 seeds, measured).
    @Test("a store that ignores client sessions is caught", arguments: [true, false])
    func ignoredSessionsAreCaught(checksAtMostOnce: Bool) async {
        let failure: SimulationFailure? = await offCooperativePool {
            for seed in UInt64(0)..<20 {
                var options = SimulationOptions.keyValue(clusterSize: 3, seed: seed)
                options.keyValueFault = .ignoreClientSessions
                options.checksAtMostOnce = checksAtMostOnce
                var cluster = SimulatedCluster(options: options)
                if case .failure(let failure) = cluster.run() { return failure }
            }
            return nil
        }
        let expected = checksAtMostOnce ? "at-most-once" : "linearizability"
        #expect(failure?.reason.hasPrefix(expected) == true, "\(failure.map { "\($0)" } ?? "no seed failed")")
    }

    /// Reads served by followers (thesis §6.4), broken in two ways, with the real store: its
    /// reads must be covered by the linearizability check too.
    @Test(
        "a follower serving reads without the leader's read index, or before applying it, is caught by linearizability",
        arguments: [TestingFault.followerReadWithoutReadIndex, .followerReadBeforeApply])
    func brokenFollowerReadsAreCaught(_ fault: TestingFault) async {
        let failure: SimulationFailure? = await offCooperativePool {
            for seed in UInt64(0)..<20 {
                var options = SimulationOptions.keyValue(clusterSize: 3, seed: seed)
                options.testingFault = fault
                var cluster = SimulatedCluster(options: options)
                if case .failure(let failure) = cluster.run() { return failure }
            }
            return nil
        }
        #expect(
            failure?.reason.hasPrefix("linearizability") == true,
            "\(failure.map { "\($0)" } ?? "no seed failed")")
    }

    @Test("a follower that was down while the log was compacted catches up through the store's snapshot")
    func laggingFollowerGetsStoreSnapshot() throws {
        var options = SimulationOptions.quiet(clusterSize: 3, seed: 3)
        options.machine = .keyValue
        options.snapshotEvery = 20
        options.snapshotKeepEntries = 2
        options.maxSnapshotChunkBytes = 32
        var cluster = SimulatedCluster(options: options)
        let elected = cluster.run(untilTrue: { $0.leader != nil }, maxTicks: 60)
        try #require(elected)
        cluster.run(ticks: 3)
        let leader = try #require(cluster.leader)
        let lagging = cluster.ids.first { $0 != leader }!
        cluster.crash(lagging)
        for k in 0..<100 { _ = cluster.propose(key: "k\(k % 7)", value: "v\(k)", at: leader) }
        cluster.run(ticks: 10)
        #expect(cluster.core(leader)!.log.snapshotIndex > .zero, "the leader never compacted its log")
        cluster.restart(lagging)
        cluster.run(ticks: 40)
        #expect(cluster.stats.snapshotsInstalled >= 1)
        #expect(cluster.core(lagging)?.log.applied == cluster.core(leader)!.log.committed)
        for k in 0..<7 {
            let value = cluster.value(of: "k\(k)", at: leader)
            #expect(value == "v\(93 + (k + 5) % 7)")
            #expect(cluster.value(of: "k\(k)", at: lagging) == value)
        }
        #expect(cluster.failure == nil, "\(cluster.failure.map { "\($0)" } ?? "")")
    }
}
