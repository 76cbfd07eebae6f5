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
            "Run a deliberately broken core variant (negative control): \(TestingFault.allCases.map(\.rawValue).joined(separator: ", ")); with --machine kv also \(KeyValueFault.allCases.map(\.rawValue).joined(separator: ", "))."
    )
    var fault: String?

    @Option(
        help:
            "The replicated state machine: register (the simulation's stand-in) or kv (the real KVStore with client sessions, retries and its snapshots)."
    )
    var machine = "register"

    @Flag(
        help:
            "With --machine kv: skip the direct at-most-once checks, to see whether the linearizability check catches --fault ignoreClientSessions on its own."
    )
    var skipAtMostOnceCheck = false

    @Option(help: "With --machine kv: the store's session capacity.")
    var sessionCapacity = SimulationOptions(clusterSize: 3, seed: 0).sessionCapacity

    @Flag(
        help:
            "With --machine kv: retry a session's first write too, which the store cannot deduplicate once the session was evicted."
    )
    var retryFirstWrites = false

    @Flag(
        inversion: .prefixedNo,
        help:
            "Membership changes (add, promote, demote and remove nodes, the leader too) during the faulty phase."
    )
    var membership = true

    @Option(help: "With membership changes: node ids beyond the initial voters, which start empty.")
    var spareNodes = SimulationOptions(clusterSize: 3, seed: 0).spareNodes

    @Option(help: "With membership changes: mean ticks between membership actions.")
    var membershipEvery = SimulationOptions(clusterSize: 3, seed: 0).membershipEveryTicks

    @Flag(
        help:
            "Skip the direct one-change-at-a-time check, to see whether the other safety checks catch --fault allowConcurrentMembershipChanges on their own."
    )
    var skipOneChangeCheck = false

    @Option(help: "Stop after this many seconds (checked between seeds); 0: no limit.")
    var maxSeconds = 0

    @Option(help: "Snapshot every this many applied entries (0: never; default 40, 30 with --machine kv).")
    var snapshotEvery: Int?

    @Option(help: "Lines of trace printed with a failure.")
    var traceLength = 60

    @Option(help: "Stop after this many failing seeds.")
    var maxFailures = 1

    func run() throws {
        let clusterSizes = sizes.split(separator: ",").compactMap { Int($0) }
        guard !clusterSizes.isEmpty, clusterSizes.allSatisfy({ $0 >= 1 && $0 <= 9 }) else {
            throw ValidationError("--sizes must list cluster sizes from 1 to 9, e.g. 3,5,7")
        }
        guard let machineKind = StateMachineKind(rawValue: machine) else {
            throw ValidationError("--machine must be register or kv")
        }
        var testingFault: TestingFault?
        var keyValueFault: KeyValueFault?
        if let fault {
            if let parsed = TestingFault(rawValue: fault) {
                testingFault = parsed
            } else if let parsed = KeyValueFault(rawValue: fault), machineKind == .keyValue {
                keyValueFault = parsed
            } else {
                throw ValidationError("unknown --fault \(fault) for --machine \(machine)")
            }
        }
        var failures = 0
        var total = 0
        let clock = ContinuousClock()
        let started = clock.now
        for size in clusterSizes {
            let sizeStarted = clock.now
            var events = 0
            var snapshotsInstalled = 0
            var followerReads = 0
            var membershipChanges = 0
            var transfers = 0
            var retired = 0
            var keyValue = (retries: 0, lost: 0, deduplicated: 0, expired: 0, unknown: 0, restored: 0)
            var voterRange = (fewest: Int.max, most: 0)
            var ran = 0
            for seed in firstSeed..<(firstSeed + UInt64(seeds)) {
                if maxSeconds > 0 && (clock.now - started) > .seconds(maxSeconds) {
                    printNow("time limit of \(maxSeconds) s reached")
                    break
                }
                var options =
                    machineKind == .keyValue
                    ? SimulationOptions.keyValue(clusterSize: size, seed: seed)
                    : SimulationOptions(clusterSize: size, seed: seed)
                options.keyValueFault = keyValueFault
                options.retriesFirstWrites = retryFirstWrites
                options.sessionCapacity = sessionCapacity
                options.checksAtMostOnce = !skipAtMostOnceCheck
                options.faultyTicks = faultyTicks
                if let snapshotEvery { options.snapshotEvery = snapshotEvery }
                options.traceLength = traceLength
                options.testingFault = testingFault
                options.spareNodes = spareNodes
                options.membershipEveryTicks = membershipEvery
                options.checksOneChangeAtATime = !skipOneChangeCheck
                if !membership { options.disableMembershipChanges() }
                var cluster = SimulatedCluster(options: options)
                total += 1
                ran += 1
                switch cluster.run() {
                case .success(let stats):
                    events += stats.events
                    snapshotsInstalled += stats.snapshotsInstalled
                    followerReads += stats.followerReadsServed
                    membershipChanges += stats.membershipChanges
                    transfers += stats.leadershipTransfers
                    retired += stats.nodesRetired
                    keyValue.retries += stats.writeRetries
                    keyValue.lost += stats.answersLost
                    keyValue.deduplicated += stats.retriesDeduplicated
                    keyValue.expired += stats.sessionsExpired
                    keyValue.unknown += stats.operationsUnknown
                    keyValue.restored += stats.restartsFromSnapshot
                    voterRange.fewest = min(voterRange.fewest, stats.fewestVoters)
                    voterRange.most = max(voterRange.most, stats.mostVoters)
                case .failure(let failure):
                    failures += 1
                    printNow(failure.description)
                    if failures >= maxFailures {
                        return finish(total: total, failures: failures, since: started)
                    }
                }
            }
            let seconds = (clock.now - sizeStarted).seconds
            var line =
                "\(size) nodes: \(ran) seeds in \(format(seconds)) s, \(format(Double(ran) / seconds)) seeds/s, \(events) events, \(snapshotsInstalled) snapshots installed, \(followerReads) reads served by followers"
            if membership && ran > 0 {
                line +=
                    ", \(membershipChanges) membership changes, \(transfers) leadership transfers, \(retired) nodes retired, voters \(voterRange.fewest)...\(voterRange.most)"
            }
            if machineKind == .keyValue && ran > 0 {
                line +=
                    ", \(keyValue.retries) write retries, \(keyValue.lost) answers lost, \(keyValue.deduplicated) retries deduplicated, \(keyValue.expired) sessions expired, \(keyValue.unknown) outcomes unknown, \(keyValue.restored) restarts from a snapshot"
            }
            printNow(line)
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
