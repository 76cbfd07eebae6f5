import ArgumentParser
import RaftCore

/// Measures the Raft algorithm alone: three `RaftCore`s in one thread, storage that is durable at
/// once, and a network that delivers every message in order at the next step. What it reports is
/// the cost of the protocol's own bookkeeping (appends, acknowledgements, commit, apply) per
/// proposal, with 1, 64 or 256 proposals in flight, so that changes to the core can be measured
/// without disks, sockets or threads in the way.
///
/// Each round: the benchmark tops the leader's proposals up to the window, then every node takes
/// its `Ready`, "persists" it (nothing to do), queues its messages and applies its entries, and
/// the queued messages are delivered. A proposal completes when the leader applies it. Logical
/// time advances one tick every `tickEvery` rounds, so heartbeats and check-quorum run as they
/// would; the log is compacted behind a snapshot every `compactEvery` entries so memory stays flat.
@main
struct RaftCoreBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "raft-core-bench",
        abstract: "Proposals per second of three RaftCores in one process (no disk, no network).")

    @Option(help: "Proposals in flight, comma-separated: one run for each.")
    var inFlight = "1,64,256"

    @Option(help: "Seconds to measure each run (after a short warm-up).")
    var seconds = 3.0

    @Option(help: "Bytes of each proposed command.")
    var payload = 100

    @Option(help: "Rounds between two ticks of logical time.")
    var tickEvery = 100

    @Option(help: "Compact the log behind a snapshot every this many applied entries.")
    var compactEvery = 10_000

    mutating func run() throws {
        let windows = inFlight.split(separator: ",").compactMap { Int($0) }
        guard !windows.isEmpty, windows.allSatisfy({ $0 >= 1 }) else {
            throw ValidationError("--in-flight takes positive whole numbers, e.g. 1,64,256")
        }
        guard seconds > 0, payload >= 0, tickEvery >= 1, compactEvery >= 1 else {
            throw ValidationError("--seconds, --tick-every and --compact-every must be positive")
        }
        print("three RaftCores, one thread, \(payload)-byte commands, \(seconds) s per run")
        print("in flight   proposals/s   rounds/s   proposals/round")
        for window in windows {
            var cluster = CoreCluster(payload: payload, tickEvery: tickEvery, compactEvery: compactEvery)
            cluster.electLeader()
            _ = cluster.run(window: window, for: .milliseconds(200))  // warm-up
            let result = cluster.run(window: window, for: .milliseconds(Int64(seconds * 1000)))
            let perSecond = Double(result.completed) / result.elapsed
            let roundsPerSecond = Double(result.rounds) / result.elapsed
            print(
                pad(window, 9) + pad(Int(perSecond), 14) + pad(Int(roundsPerSecond), 11)
                    + "   " + String(Double(Int(perSecond / roundsPerSecond * 10)) / 10))
        }
    }

    private func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: " ", count: max(0, width - text.count)) + text
    }
}

/// Three cores wired together by an in-order message queue.
struct CoreCluster {
    private var cores: [RaftCore]
    private var queue: [Envelope] = []
    private let ids: [NodeID] = ["n1", "n2", "n3"]
    private let command: [UInt8]
    private let tickEvery: Int
    private let compactEvery: Int
    private var leader = 0
    private var inFlight = 0
    private var completed = 0
    private var rounds = 0

    init(payload: Int, tickEvery: Int, compactEvery: Int) {
        let configuration = ClusterConfiguration(voters: ids)
        cores = ids.enumerated().map { k, id in
            RaftCore(
                config: RaftConfig(id: id, randomSeed: UInt64(k + 1)), configuration: configuration)
        }
        command = [UInt8](repeating: 0x6B, count: payload)
        self.tickEvery = tickEvery
        self.compactEvery = compactEvery
    }

    mutating func electLeader() {
        for _ in 0..<10_000 {
            for k in cores.indices { cores[k].tick() }
            round()
            if let found = cores.firstIndex(where: \.isLeader) {
                leader = found
                // Let the new leader commit its no-op before proposals start.
                for _ in 0..<10 { round() }
                return
            }
        }
        fatalError("no leader elected")
    }

    /// Proposes with `window` in flight until `duration` has passed.
    mutating func run(window: Int, for duration: Duration) -> (completed: Int, rounds: Int, elapsed: Double) {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + duration
        let (completedBefore, roundsBefore) = (completed, rounds)
        while clock.now < deadline {
            for _ in 0..<64 {
                while inFlight < window {
                    do {
                        _ = try cores[leader].propose(command)
                        inFlight += 1
                    } catch {
                        fatalError("n\(leader + 1) refused a proposal: \(error)")
                    }
                }
                round()
                if rounds % tickEvery == 0 {
                    for k in cores.indices { cores[k].tick() }
                }
            }
        }
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return (completed - completedBefore, rounds - roundsBefore, seconds)
    }

    /// Every node processes its `Ready`, then the messages they sent are delivered.
    private mutating func round() {
        rounds += 1
        for k in cores.indices {
            while let ready = cores[k].takeReady() {
                queue.append(contentsOf: ready.messages)
                if k == leader {
                    for entry in ready.entriesToApply where entry.kind == .command {
                        inFlight -= 1
                        completed += 1
                    }
                }
                cores[k].advance(ready)
                compactIfDue(k)
            }
        }
        let delivering = queue
        queue.removeAll(keepingCapacity: true)
        for envelope in delivering {
            guard let k = ids.firstIndex(of: envelope.to) else { continue }
            cores[k].step(envelope)
        }
    }

    private mutating func compactIfDue(_ k: Int) {
        let applied = cores[k].log.applied
        let snapshotIndex = cores[k].snapshot?.metadata.index ?? .zero
        guard applied.value >= snapshotIndex.value + UInt64(compactEvery),
            let metadata = cores[k].snapshotMetadata(at: applied)
        else { return }
        cores[k].snapshotTaken(
            Snapshot(metadata: metadata, data: []),
            compactingThrough: LogIndex(applied.value - UInt64(compactEvery / 10)))
    }
}
