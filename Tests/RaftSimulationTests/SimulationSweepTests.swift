import Foundation
import RaftCore
import RaftSimulation
import Testing

/// The seeded fault sweep: every seed runs a whole cluster through drops, duplicates, reorders,
/// partitions, crashes and restarts, checking safety after every step, liveness after healing
/// and linearizability of the client history at the end.
///
/// Environment: `RAFT_SWEEP_SEEDS` (seeds per cluster size, default 500);
/// `RAFT_SEED` with `RAFT_CLUSTER_SIZE` replays exactly one seed and prints its trace.
@Suite("Simulation: seeded fault sweep")
struct SimulationSweepTests {
    static let chunks = 5
    static let seedsPerSize = ProcessInfo.processInfo.environment["RAFT_SWEEP_SEEDS"].flatMap(Int.init) ?? 500

    static var sweepCases: [SweepCase] {
        if let replay = replayCase { return [replay] }
        let perChunk = max(1, seedsPerSize / chunks)
        return [3, 5, 7].flatMap { size in
            (0..<chunks).map { chunk in
                SweepCase(size: size, seeds: UInt64(chunk * perChunk)..<UInt64((chunk + 1) * perChunk))
            }
        }
    }

    static var replayCase: SweepCase? {
        let environment = ProcessInfo.processInfo.environment
        guard let seed = environment["RAFT_SEED"].flatMap(UInt64.init) else { return nil }
        let size = environment["RAFT_CLUSTER_SIZE"].flatMap(Int.init) ?? 3
        return SweepCase(size: size, seeds: seed..<(seed + 1))
    }

    @Test("safety, liveness and linearizability hold on every seed", arguments: sweepCases)
    func sweep(_ sweep: SweepCase) {
        var operations = 0
        for seed in sweep.seeds {
            var cluster = SimulatedCluster(options: SimulationOptions(clusterSize: sweep.size, seed: seed))
            switch cluster.run() {
            case .success(let stats):
                operations += stats.operationsOK
                if Self.replayCase != nil { print(cluster.recentTrace.joined(separator: "\n")) }
            case .failure(let failure):
                Issue.record("\(failure)")
                return
            }
        }
        // A sweep in which clients got nothing done would prove nothing.
        #expect(operations > sweep.seeds.count * 50, "clients completed only \(operations) operations")
    }

    @Test("a seed replays exactly: same trace, same statistics")
    func replayIsDeterministic() throws {
        var first = SimulatedCluster(options: SimulationOptions(clusterSize: 5, seed: 42))
        var second = SimulatedCluster(options: SimulationOptions(clusterSize: 5, seed: 42))
        let a = try first.run().get()
        let b = try second.run().get()
        #expect(a.events == b.events)
        #expect(a.messagesSent == b.messagesSent)
        #expect(a.operationsOK == b.operationsOK)
        #expect(first.recentTrace == second.recentTrace)
        var other = SimulatedCluster(options: SimulationOptions(clusterSize: 5, seed: 43))
        let c = try other.run().get()
        #expect(
            c.events != a.events || other.recentTrace != first.recentTrace, "different seeds ran identically")
    }

    @Test("the faults actually happen: drops, crashes, elections, unknown outcomes")
    func faultsAreExercised() throws {
        var totals = SimulationStats()
        for seed in UInt64(0)..<10 {
            var cluster = SimulatedCluster(options: SimulationOptions(clusterSize: 5, seed: seed))
            let stats = try cluster.run().get()
            totals.messagesDropped += stats.messagesDropped
            totals.crashes += stats.crashes
            totals.elections += stats.elections
            totals.operationsUnknown += stats.operationsUnknown
            totals.operationsOK += stats.operationsOK
            totals.snapshotsTaken += stats.snapshotsTaken
            totals.snapshotsInstalled += stats.snapshotsInstalled
        }
        #expect(totals.messagesDropped > 1000)
        #expect(totals.crashes >= 10)
        #expect(totals.elections >= 20)
        #expect(totals.operationsUnknown > 0)
        #expect(totals.operationsOK > 1000)
        #expect(totals.snapshotsTaken > 50)
        #expect(totals.snapshotsInstalled > 5)
    }

    @Test("harsher churn: a fifth of messages lost and frequent nemesis", arguments: [3, 5] as [Int])
    func unreliableChurn(size: Int) {
        for seed in UInt64(1000)..<1040 {
            var options = SimulationOptions(clusterSize: size, seed: seed)
            options.dropRate = 0.2
            options.duplicateRate = 0.1
            options.longDelayRate = 0.15
            options.nemesisEveryTicks = 10
            var cluster = SimulatedCluster(options: options)
            if case .failure(let failure) = cluster.run() {
                Issue.record("\(failure)")
                return
            }
        }
    }
}

struct SweepCase: Sendable, CustomTestStringConvertible {
    var size: Int
    var seeds: Range<UInt64>
    var testDescription: String { "\(size) nodes, seeds \(seeds.lowerBound)..<\(seeds.upperBound)" }
}
