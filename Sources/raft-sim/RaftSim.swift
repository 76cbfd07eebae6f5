import ArgumentParser
import RaftCore
import RaftSimulation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs the seeded whole-cluster simulation over many seeds: the long sweep that complements the
/// CI sweep in the test suite. A failing seed prints its trace and how to replay it.
@main
struct RaftSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "raft-sim",
        abstract: "Sweep seeds of the deterministic Raft cluster simulation and report seeds/s.")

    @Option(help: "How many seeds to run per cluster size.")
    var seeds = 1000

    @Option(help: "The first seed.")
    var firstSeed: UInt64 = 0

    @Option(help: "Cluster sizes, comma-separated.")
    var sizes = "3,5,7"

    @Option(help: "Ticks of the faulty phase of each run.")
    var faultyTicks = 400

    @Option(
        help:
            "Run a deliberately broken core variant (negative control): \(TestingFault.allCases.map(\.rawValue).joined(separator: ", "))."
    )
    var fault: String?

    @Option(help: "Snapshot every this many applied entries (0: never).")
    var snapshotEvery = SimulationOptions(clusterSize: 3, seed: 0).snapshotEvery

    @Option(help: "Lines of trace printed with a failure.")
    var traceLength = 60

    @Option(help: "Stop after this many failing seeds.")
    var maxFailures = 1

    func run() throws {
        let clusterSizes = sizes.split(separator: ",").compactMap { Int($0) }
        guard !clusterSizes.isEmpty, clusterSizes.allSatisfy({ $0 >= 1 && $0 <= 9 }) else {
            throw ValidationError("--sizes must list cluster sizes from 1 to 9, e.g. 3,5,7")
        }
        var testingFault: TestingFault?
        if let fault {
            guard let parsed = TestingFault(rawValue: fault) else {
                throw ValidationError("unknown --fault \(fault)")
            }
            testingFault = parsed
        }
        var failures = 0
        var total = 0
        let clock = ContinuousClock()
        let started = clock.now
        for size in clusterSizes {
            let sizeStarted = clock.now
            var events = 0
            var snapshotsInstalled = 0
            for seed in firstSeed..<(firstSeed + UInt64(seeds)) {
                var options = SimulationOptions(clusterSize: size, seed: seed)
                options.faultyTicks = faultyTicks
                options.snapshotEvery = snapshotEvery
                options.traceLength = traceLength
                options.testingFault = testingFault
                var cluster = SimulatedCluster(options: options)
                total += 1
                switch cluster.run() {
                case .success(let stats):
                    events += stats.events
                    snapshotsInstalled += stats.snapshotsInstalled
                case .failure(let failure):
                    failures += 1
                    printNow(failure.description)
                    if failures >= maxFailures {
                        return finish(total: total, failures: failures, since: started)
                    }
                }
            }
            let seconds = (clock.now - sizeStarted).seconds
            printNow(
                "\(size) nodes: \(seeds) seeds in \(format(seconds)) s, \(format(Double(seeds) / seconds)) seeds/s, \(events) events, \(snapshotsInstalled) snapshots installed"
            )
        }
        finish(total: total, failures: failures, since: started)
    }

    func finish(total: Int, failures: Int, since started: ContinuousClock.Instant) {
        let seconds = (ContinuousClock.now - started).seconds
        printNow("\(total) seeds, \(failures) failed, \(format(Double(total) / seconds)) seeds/s overall")
        if failures > 0 { Glibc.exit(1) }
    }

    func format(_ value: Double) -> String {
        let scaled = (value * 10).rounded() / 10
        return "\(scaled)"
    }
}

extension Duration {
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}

/// Writes a line straight to standard output, so a long sweep shows progress even through a pipe.
func printNow(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { bytes in _ = write(1, bytes.baseAddress, bytes.count) }
}
