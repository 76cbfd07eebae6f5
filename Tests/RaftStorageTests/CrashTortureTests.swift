import Foundation
import Raft
import TestSupport
import Testing
import storage_torture

/// SIGKILL the `storage-torture` child at random moments and check what `SQLiteLogStore` kept.
///
/// The check, and why it is sound. The child prints `begin <call>` before each mutating call and
/// `durable …` after the call returned; both with one `write(2)`, in program order, and it makes
/// one call at a time. So at the moment of the kill, the calls fall into three groups, read from
/// the transcript (only whole lines count):
/// 1. calls with a `durable` line: each returned, so by the `LogStore` contract each is on disk;
/// 2. at most one call with a `begin` line and no `durable` line: it may have run entirely or not
///    at all (it may also have returned just before the kill);
/// 3. calls without a `begin` line: never started, so none of their effect can be on disk.
/// Rebuilding group 1 on a `MemoryLogStore` (the reference semantics, started from what the
/// previous round loaded) gives `expected`; applying the call of group 2 to a copy gives
/// `expectedWithInFlight`. Because each call is atomic, the reopened store must load exactly one of
/// the two, entry bytes, hard state and compaction point included. This holds even when the
/// in-flight call rewrites entries that were reported durable (a follower truncating a conflicting
/// suffix): that call is named on its `begin` line, so both outcomes are known exactly, and
/// acknowledged entries may vanish only in the outcome where that call took effect. A partial
/// last line is dropped: a partial `begin` means the call never started; a partial `durable`
/// leaves the call in group 2, which allows both outcomes, so dropping it never turns a correct
/// store into a failure.
@Suite("SQLiteLogStore crash torture")
struct CrashTortureTests {
    static let rounds = 30

    @Test(
        "after SIGKILL at a random moment, every acknowledged call is kept and the one in flight is all or nothing"
    )
    func sigkillTorture() async throws {
        let executable = try locateExecutable(named: "storage-torture")
        let seed =
            ProcessInfo.processInfo.environment["RAFT_STORAGE_SEED"].flatMap { UInt64($0) } ?? 20_261_121
        var random = SplitMix64(seed: seed)
        let clock = ContinuousClock()
        let started = clock.now
        var totals = (calls: 0, inFlightKept: 0, inFlightLost: 0, truncatedAcknowledged: 0)
        try await withTemporaryDirectory { root in
            let data = root + "/data"
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: false)
            var verified = PersistedLog()  // what the last round loaded: the child starts from it
            for round in 0..<Self.rounds {
                let childSeed = random.next()
                let killAfter = Int.random(in: 5...150, using: &random)
                let context =
                    "round \(round), seed \(seed), child seed \(childSeed), killed after \(killAfter) ms"
                let transcript = try await Self.runAndKill(
                    executable, data: data, seed: childSeed, milliseconds: killAfter,
                    logs: root + "/round-\(round)")
                let expected = try Self.replay(transcript, from: verified, context: context)
                // A temporary store: closed again, releasing its lock, before the next child starts.
                let loaded = try SQLiteLogStore(directory: data).load()
                totals.calls += expected.durableCalls
                totals.truncatedAcknowledged += expected.truncatesAcknowledged ? 1 : 0
                if loaded == expected.withoutInFlight {
                    totals.inFlightLost += expected.withInFlight == nil ? 0 : 1
                } else if let withInFlight = expected.withInFlight, loaded == withInFlight {
                    totals.inFlightKept += 1
                } else {
                    Issue.record(
                        """
                        \(context): the reopened store holds neither allowed state.
                        loaded:              \(Self.describe(loaded))
                        expected:            \(Self.describe(expected.withoutInFlight))
                        with in-flight call: \(expected.withInFlight.map(Self.describe) ?? "no call in flight")
                        in-flight call:      \(expected.inFlight.map { "\($0)" } ?? "none")
                        first difference from expected: \(Self.firstDifference(loaded, expected.withoutInFlight))
                        """)
                    return
                }
                verified = loaded
            }
        }
        let elapsed = clock.now - started
        print(
            "crash torture: \(Self.rounds) kills, \(totals.calls) acknowledged calls checked; in-flight call kept \(totals.inFlightKept)×, lost \(totals.inFlightLost)×; \(totals.truncatedAcknowledged) kills during a rewrite of acknowledged entries; \(elapsed)"
        )
        #expect(totals.calls >= Self.rounds, "the child made too few calls to test anything")
        #expect(elapsed < .seconds(30))
    }

    /// The two states a correct store may hold after the kill.
    struct Expectation {
        var withoutInFlight: PersistedLog
        var inFlight: TortureOperation?
        var withInFlight: PersistedLog?
        var durableCalls: Int
        /// The in-flight call would truncate entries that earlier calls reported durable.
        var truncatesAcknowledged: Bool
    }

    /// Rebuilds, on the reference store, what the transcript says must and may be on disk.
    static func replay(_ transcript: String, from verified: PersistedLog, context: String) throws
        -> Expectation
    {
        let model = MemoryLogStore(verified)
        var inFlight: TortureOperation?
        var durableCalls = 0
        // Only whole lines: a line without its newline was cut by the kill.
        let lines = transcript.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        for line in lines {
            if line.hasPrefix("start ") {
                let summary = TortureSummary.of(model.persisted)
                guard line.dropFirst("start ".count) == summary else {
                    throw TestFailure(
                        "\(context): the child loaded \(line), but the last round left \(summary)")
                }
            } else if line.hasPrefix("begin ") {
                guard inFlight == nil, let operation = TortureOperation(line.dropFirst("begin ".count)) else {
                    throw TestFailure("\(context): unexpected line \(line)")
                }
                inFlight = operation
            } else if line.hasPrefix("durable ") {
                guard let operation = inFlight else { throw TestFailure("\(context): \(line) without begin") }
                try apply(operation, to: model)
                durableCalls += 1
                inFlight = nil
                let summary = TortureSummary.of(model.persisted)
                guard line.dropFirst("durable ".count) == summary else {
                    throw TestFailure(
                        "\(context): the child reported \(line) after \(operation), the model has \(summary)")
                }
            } else {
                throw TestFailure("\(context): unexpected line \(line)")
            }
        }
        let withoutInFlight = model.persisted
        var withInFlight: PersistedLog?
        var truncates = false
        if let inFlight {
            let copy = MemoryLogStore(withoutInFlight)
            try apply(inFlight, to: copy)
            withInFlight = copy.persisted
            if case .persist(_, let first, let count, _) = inFlight, count > 0,
                let last = withoutInFlight.entries.last
            {
                truncates = first <= last.index
            }
        }
        return Expectation(
            withoutInFlight: withoutInFlight, inFlight: inFlight, withInFlight: withInFlight,
            durableCalls: durableCalls, truncatesAcknowledged: truncates)
    }

    static func apply(_ operation: TortureOperation, to store: MemoryLogStore) throws {
        switch operation {
        case .persist(let hardState, _, _, _):
            try store.persist(hardState: hardState, entries: operation.entries)
        case .compact(let index): try store.compact(through: index)
        }
    }

    /// Starts the child with its stdout and stderr in files, kills it after `milliseconds`, and
    /// returns its stdout. A child that exited by itself failed: its stderr says why.
    static func runAndKill(_ executable: String, data: String, seed: UInt64, milliseconds: Int, logs: String)
        async throws -> String
    {
        let child = try ChildProcess(executable, [data, String(seed)], logPrefix: logs)
        try await Task.sleep(for: .milliseconds(milliseconds))
        child.signal(SIGKILL)
        let ended = await child.wait()
        guard ended == .signal(SIGKILL) else {
            throw TestFailure("storage-torture ended with \(ended) before the kill: \(child.errorOutput)")
        }
        return child.output
    }

    static func describe(_ log: PersistedLog) -> String {
        var runs: [String] = []
        var start = 0
        for index in log.entries.indices
        where index == log.entries.count - 1 || log.entries[index + 1].term != log.entries[index].term {
            runs.append(
                "\(log.entries[start].index)...\(log.entries[index].index)@\(log.entries[index].term)")
            start = index + 1
        }
        return
            "\(log.hardState), compacted through \(log.compactedThrough), entries [\(runs.joined(separator: ", "))]"
    }

    static func firstDifference(_ loaded: PersistedLog, _ expected: PersistedLog) -> String {
        if loaded.hardState != expected.hardState {
            return "hard state \(loaded.hardState) ≠ \(expected.hardState)"
        }
        if loaded.compactedThrough != expected.compactedThrough {
            return "compacted through \(loaded.compactedThrough) ≠ \(expected.compactedThrough)"
        }
        for (got, want) in zip(loaded.entries, expected.entries) where got != want {
            return "entry \(got) ≠ \(want)\(got.data != want.data ? " (data differs)" : "")"
        }
        return "entry count \(loaded.entries.count) ≠ \(expected.entries.count)"
    }
}
