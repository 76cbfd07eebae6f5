import Dispatch
import RaftSimulation

/// Runs CPU-bound simulation work on a thread of its own rather than the cooperative pool.
///
/// Swift's cooperative pool has one thread per core (two here). A sweep that computed on those
/// threads for minutes would starve every other test's tasks, and the tests that wait on real
/// time (node elections, crash torture) would miss their deadlines depending only on how the
/// tests happened to be scheduled. On their own threads, the OS shares the cores fairly.
func offCooperativePool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        DispatchQueue.global(qos: .utility).async { continuation.resume(returning: body()) }
    }
}

/// Runs one simulation per option set, in order, off the cooperative pool; stops at the first
/// failure. Returns each run's statistics and recent trace.
func runSimulations(_ runs: [SimulationOptions]) async -> Result<
    [(stats: SimulationStats, trace: [String])], SimulationFailure
> {
    await offCooperativePool {
        var results: [(stats: SimulationStats, trace: [String])] = []
        for options in runs {
            var cluster = SimulatedCluster(options: options)
            switch cluster.run() {
            case .success(let stats): results.append((stats, cluster.recentTrace))
            case .failure(let failure): return .failure(failure)
            }
        }
        return .success(results)
    }
}
