import Foundation
import RaftCore
import RaftSimulation
import Testing

/// The seeded fault sweep: every seed runs a whole cluster through drops, duplicates, reorders,
/// partitions, crashes, restarts and membership changes (nodes added, promoted, demoted, removed,
/// the leader too, re-added or retired), checking safety after every step, liveness after healing
/// and linearizability of the client history at the end.
///
/// Each seed runs with the simulation's stand-in register machine; a smaller sweep runs the real
/// `KVStore` with client sessions and retries (`SimulationOptions.keyValue`).
///
/// Environment: `RAFT_SWEEP_SEEDS` (seeds per cluster size, default 500) and `RAFT_KV_SWEEP_SEEDS`
/// (seeds per cluster size with the real store, default 100); `RAFT_SEED` with `RAFT_CLUSTER_SIZE`
/// (and `RAFT_MACHINE=kv` for the real store) replays exactly one seed and prints its trace.
@Suite("Simulation: seeded fault sweep")
struct SimulationSweepTests {
    static let chunks = 5
    static let seedsPerSize = ProcessInfo.processInfo.environment["RAFT_SWEEP_SEEDS"].flatMap(Int.init) ?? 500
    /// The real store costs about as much per seed as the stand-in; 100 seeds each of 3 and 5
    /// nodes add about 40 s of one core in a debug build.
    static let keyValueSeedsPerSize =
        ProcessInfo.processInfo.environment["RAFT_KV_SWEEP_SEEDS"].flatMap(Int.init) ?? 100
    static let keyValueChunks = 2

    static var sweepCases: [SweepCase] {
        if let replay = replayCase { return [replay] }
        let perChunk = max(1, seedsPerSize / chunks)
        let register = [3, 5, 7].flatMap { size in
            (0..<chunks).map { chunk in
                SweepCase(size: size, seeds: UInt64(chunk * perChunk)..<UInt64((chunk + 1) * perChunk))
            }
        }
        let perKeyValueChunk = max(1, keyValueSeedsPerSize / keyValueChunks)
        let keyValue = [3, 5].flatMap { size in
            (0..<keyValueChunks).map { chunk in
                SweepCase(
                    size: size,
                    seeds: UInt64(chunk * perKeyValueChunk)..<UInt64((chunk + 1) * perKeyValueChunk),
                    machine: .keyValue)
            }
        }
        return register + keyValue
    }

    static var replayCase: SweepCase? {
        let environment = ProcessInfo.processInfo.environment
        guard let seed = environment["RAFT_SEED"].flatMap(UInt64.init) else { return nil }
        let size = environment["RAFT_CLUSTER_SIZE"].flatMap(Int.init) ?? 3
        let machine = environment["RAFT_MACHINE"].flatMap(StateMachineKind.init) ?? .register
        return SweepCase(size: size, seeds: seed..<(seed + 1), machine: machine)
    }

    @Test("safety, liveness and linearizability hold on every seed", arguments: sweepCases)
    func sweep(_ sweep: SweepCase) async {
        let runs = sweep.seeds.map { sweep.options(seed: $0) }
        switch await runSimulations(runs) {
        case .failure(let failure):
            Issue.record("\(failure)")
        case .success(let results):
            if Self.replayCase != nil, let trace = results.last?.trace {
                print(trace.joined(separator: "\n"))
            }
            // A sweep in which clients got nothing done would prove nothing.
            let operations = results.reduce(0) { $0 + $1.stats.operationsOK }
            #expect(operations > sweep.seeds.count * 50, "clients completed only \(operations) operations")
        }
    }

    @Test("a seed replays exactly: same trace, same statistics")
    func replayIsDeterministic() async throws {
        let seeds: [UInt64] = [42, 42, 43]
        let results = try await runSimulations(seeds.map { SimulationOptions(clusterSize: 5, seed: $0) })
            .get()
        let (a, b, c) = (results[0], results[1], results[2])
        #expect(a.stats.events == b.stats.events)
        #expect(a.stats.messagesSent == b.stats.messagesSent)
        #expect(a.stats.operationsOK == b.stats.operationsOK)
        #expect(a.trace == b.trace)
        #expect(c.stats.events != a.stats.events || c.trace != a.trace, "different seeds ran identically")
    }

    @Test(
        "the faults actually happen: drops, crashes, elections, unknown outcomes, snapshots, membership changes"
    )
    func faultsAreExercised() async throws {
        let results = try await runSimulations((0..<10).map { SimulationOptions(clusterSize: 5, seed: $0) })
            .get()
        func total(_ field: (SimulationStats) -> Int) -> Int { results.reduce(0) { $0 + field($1.stats) } }
        #expect(total(\.messagesDropped) > 1000)
        #expect(total(\.crashes) >= 10)
        #expect(total(\.elections) >= 20)
        #expect(total(\.operationsUnknown) > 0)
        #expect(total(\.operationsOK) > 1000)
        #expect(total(\.snapshotsTaken) > 50)
        #expect(total(\.snapshotsInstalled) > 5)
        #expect(total(\.followerReadsServed) > 100, "followers served too few linearizable reads")
        #expect(total(\.membershipChanges) > 50)
        #expect(total(\.membershipChangesDeferred) > 0, "no change ever met one in progress")
        #expect(total(\.nodesRetired) > 0)
        #expect(
            results.contains { $0.stats.fewestVoters < 5 } && results.contains { $0.stats.mostVoters > 5 })
    }

    @Test("membership changes can be turned off: a fixed voter set, no spares")
    func fixedMembership() async throws {
        let results = try await runSimulations(
            (UInt64(0)..<10).map { seed in
                var options = SimulationOptions(clusterSize: 3, seed: seed)
                options.disableMembershipChanges()
                return options
            }
        ).get()
        #expect(results.allSatisfy { $0.stats.membershipChanges == 0 && $0.stats.mostVoters == 3 })
        #expect(results.allSatisfy { $0.stats.fewestVoters == 3 })
    }

    @Test("harsher churn: a fifth of messages lost and frequent nemesis", arguments: [3, 5] as [Int])
    func unreliableChurn(size: Int) async {
        let runs = (UInt64(1000)..<1040).map { seed in
            var options = SimulationOptions(clusterSize: size, seed: seed)
            options.dropRate = 0.2
            options.duplicateRate = 0.1
            options.longDelayRate = 0.15
            options.nemesisEveryTicks = 10
            return options
        }
        if case .failure(let failure) = await runSimulations(runs) { Issue.record("\(failure)") }
    }
}

struct SweepCase: Sendable, CustomTestStringConvertible {
    var size: Int
    var seeds: Range<UInt64>
    var machine = StateMachineKind.register

    func options(seed: UInt64) -> SimulationOptions {
        switch machine {
        case .register: SimulationOptions(clusterSize: size, seed: seed)
        case .keyValue: SimulationOptions.keyValue(clusterSize: size, seed: seed)
        }
    }

    var testDescription: String {
        let store = machine == .keyValue ? " (real KVStore)" : ""
        return "\(size) nodes\(store), seeds \(seeds.lowerBound)..<\(seeds.upperBound)"
    }
}
