import Foundation
import Raft
import TestSupport
import Testing
import node_torture

/// SIGKILL the `node-torture` child (a single-voter `RaftNode` on `SQLiteLogStore` and
/// `FileSnapshotStore`, taking a snapshot every 20 entries) at random moments, restart it on the
/// same directory, and check that no acknowledged write is lost, repeated or reordered.
///
/// The check, and why it is sound. The child proposes `w<c+1>`, `w<c+2>`, … in that order, where
/// `c` is the number of items it recovered, and prints `ack <n>` only after the proposal of `w<n>`
/// returned success, each line with one `write` system call. A proposal returns only once its
/// entry is applied; with one voter an entry is committed only once it is in this node's durable
/// log (the node persists a `Ready`'s entries before it advances the core, and the leader counts
/// itself at its stable index), so by the `LogStore` contract every acknowledged write was on
/// disk before its line was written. Hence:
/// 1. No loss: after each round, and at every later `recovered <c>` line, the count must be at
///    least every `n` acknowledged and every count recovered before. Writes a round did not
///    acknowledge may or may not survive: nothing is required of them.
/// 2. No repetition, gap or reordering: a correct node holds a prefix of the proposal sequence.
///    Proposals reach the node in order (the child checks that each answer, the list's length
///    after applying it, is `n`), a single node appends them to its log in that order, and on
///    restart it commits and applies its whole durable log before the read returns. A round
///    proposes from `c + 1` on, where `c` counts everything in the durable log, so no number is
///    proposed while an earlier proposal of it survives. So the items must be exactly
///    `w1 … w<c>`, both as the node recovers them (the child checks before printing `recovered`,
///    and exits with status 1 naming the first wrong item otherwise) and as the test reads the
///    stores itself after each round (newest snapshot plus the commands after it in the log,
///    through `RecoveredState.load`); the next node must then recover exactly that count. An entry
///    applied twice (from the snapshot and again from the log: the node keeps 3 entries behind
///    each snapshot, so the log overlaps it), one lost between snapshot and log, or an
///    unacknowledged write surviving while an earlier one is lost would each break this.
/// 3. Kills land anywhere: before the node leads (the round prints nothing), during a group
///    commit, a snapshot save or a compaction. Even rounds are killed at a random moment after
///    the child starts, odd ones at a random moment after it has recovered: how long a start takes
///    depends on the machine's load, and kills timed from the start alone once left too few
///    rounds that recovered at all. A last round is not killed: it prints `recovered <c>` and
///    exits. Snapshots must have been taken and the log compacted, and a good share of
///    rounds must have left both a snapshot and a log tail, so recovery really combined the two.
/// Only whole lines count: the kill may cut the last one, and dropping it only weakens rule 1.
/// NOTE: SIGKILL keeps what reached the kernel, so this tests the node's ordering of writes,
/// snapshots and compaction, not the disk's durability (a power cut); fsync is not exercised.
@Suite("RaftNode crash torture")
struct NodeCrashTests {
    static let rounds = 20

    @Test(
        "after SIGKILL at random moments, every acknowledged write is recovered once and in order, through snapshot and log tail"
    )
    func sigkillTorture() async throws {
        let executable = try locateExecutable(named: "node-torture")
        let seed = ProcessInfo.processInfo.environment["RAFT_NODE_SEED"].flatMap { UInt64($0) } ?? 20_261_208
        var random = SplitMix64(seed: seed)
        let clock = ContinuousClock()
        let started = clock.now
        let root = try makeTemporaryDirectory(prefix: "keyval-node")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let data = root + "/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: false)

        var history = TortureHistory()
        var withTail = 0  // rounds that left a snapshot and commands in the log after it
        for round in 0..<Self.rounds {
            let childSeed = random.next()
            let kill: KillMoment =
                round.isMultiple(of: 2)
                ? .afterStart(milliseconds: Int.random(in: 20...300, using: &random))
                : .afterRecovery(milliseconds: Int.random(in: 20...300, using: &random))
            let context = "round \(round), seed \(seed), child seed \(childSeed), killed \(kill)"
            let transcript = try await Self.runChild(
                executable, data: data, seed: childSeed, kill: kill, logs: root + "/round-\(round)")
            try history.check(transcript, context: context)
            let stored = try Self.readStores(data, context: context)
            try history.checkStores(stored, context: context)
            if stored.snapshotIndex != nil && stored.tailCount > 0 { withTail += 1 }
        }
        let transcript = try await Self.runChild(
            executable, data: data, seed: random.next(), kill: nil, logs: root + "/verify")
        let context = "verification round, seed \(seed)"
        let final = try #require(
            try history.check(transcript, context: context), "\(context): no recovered line")
        let stored = try Self.readStores(data, context: context)
        try history.checkStores(stored, context: context)

        let snapshotFiles = try FileManager.default.contentsOfDirectory(
            atPath: data + "/" + FileSnapshotStore.directoryName
        ).filter { $0.hasSuffix(".snap") }
        #expect(!snapshotFiles.isEmpty, "the snapshots directory holds no snapshot file")
        #expect(stored.snapshotIndex != nil, "no snapshot was taken")
        #expect(stored.compactedThrough > .zero, "the log was never compacted")
        #expect(withTail >= Self.rounds / 4, "too few rounds left a snapshot and a log tail to recover from")

        let elapsed = clock.now - started
        print(
            "node crash torture: \(Self.rounds) kills, \(history.recoveries) recoveries checked, \(history.acks) acknowledged writes, \(withTail) rounds left snapshot + log tail; \(final) items at the end (\(stored.count - stored.tailCount) from \(stored.snapshotIndex.map { "snapshot \($0)" } ?? "no snapshot"), \(stored.tailCount) from the log tail, compacted through \(stored.compactedThrough)); \(elapsed)"
        )
        #expect(history.acks >= 200, "the child acknowledged too few writes to test anything")
        #expect(history.recoveries >= Self.rounds / 4, "too few rounds recovered before the kill")
        #expect(elapsed < .seconds(30))
    }

    /// What a restarted node will start from, read from the stores without a node: the newest
    /// snapshot's items, then the commands in the log after it (with one voter, a restarted node
    /// commits and applies its whole log before it answers a read).
    struct StoredItems {
        var count: Int
        var tailCount: Int
        var snapshotIndex: LogIndex?
        var compactedThrough: LogIndex
    }

    /// Reads the stores as a restarting node does, and requires `w1 … w<count>`. Opened and closed
    /// here (releasing the database's lock) before the next child starts.
    static func readStores(_ data: String, context: String) throws -> StoredItems {
        let logStore = try SQLiteLogStore(directory: data)
        let compactedThrough = try logStore.load().compactedThrough
        let recovered = try RecoveredState.load(
            logStore: logStore, snapshotStore: FileSnapshotStore(directory: data))
        let tail = recovered.log.entries.filter { $0.kind == .command }.map {
            String(decoding: $0.data, as: UTF8.self)
        }
        let items = (recovered.snapshot.map { TortureList.decode($0.data) } ?? []) + tail
        if let wrong = TortureList.firstDeviation(items) {
            throw TortureFailure("\(context): the stores hold \(items.count) items, but \(wrong)")
        }
        return StoredItems(
            count: items.count, tailCount: tail.count, snapshotIndex: recovered.snapshot?.metadata.index,
            compactedThrough: compactedThrough)
    }

    /// Starts the child with its stdout and stderr in files and returns its stdout: after
    /// SIGKILLing it `killAfter` ms later, or, when nil, once it exited by itself with status 0.
    /// A child that exits otherwise failed: its stderr says why.
    /// When a round's child is killed.
    enum KillMoment: CustomStringConvertible {
        case afterStart(milliseconds: Int)
        /// After its `recovered` line (or after 10 s without one, when the round fails anyway).
        case afterRecovery(milliseconds: Int)

        var description: String {
            switch self {
            case .afterStart(let ms): "\(ms) ms after it started"
            case .afterRecovery(let ms): "\(ms) ms after it recovered"
            }
        }
    }

    static func runChild(_ executable: String, data: String, seed: UInt64, kill: KillMoment?, logs: String)
        async throws -> String
    {
        let child = try ChildProcess(
            executable, [data, String(seed)] + (kill == nil ? ["verify"] : []), logPrefix: logs)
        let expected: ChildProcess.Termination
        if let kill {
            switch kill {
            case .afterStart(let milliseconds):
                try await Task.sleep(for: .milliseconds(milliseconds))
            case .afterRecovery(let milliseconds):
                _ = await eventually(timeout: .seconds(10)) { child.output.contains("\n") }
                try await Task.sleep(for: .milliseconds(milliseconds))
            }
            child.signal(SIGKILL)
            expected = .signal(SIGKILL)
        } else {
            expected = .exit(0)
        }
        // `wait` SIGKILLs a child still running after 10 s, which then fails the check below.
        let ended = await child.wait(timeout: .seconds(10))
        guard ended == expected else {
            throw TortureFailure(
                "node-torture ended with \(ended), expected \(expected): \(child.errorOutput)")
        }
        return child.output
    }
}

/// What the rounds so far require of the next one (see `NodeCrashTests`).
struct TortureHistory {
    /// Every write through this one was acknowledged or recovered, so must be recovered again.
    var mustRecover = 0
    /// What the stores held after the last round: the next node must recover exactly this many.
    var stored: Int?
    var acks = 0
    var recoveries = 0

    /// Checks one round's whole lines; returns its recovered count, nil when it printed none.
    @discardableResult
    mutating func check(_ transcript: String, context: String) throws -> Int? {
        // Only whole lines: a line without its newline was cut by the kill.
        let lines = transcript.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        guard let first = lines.first else { return nil }
        guard first.hasPrefix("recovered "), let count = Int(first.dropFirst("recovered ".count)) else {
            throw TortureFailure("\(context): the first line is \(first), expected recovered <count>")
        }
        guard count >= mustRecover, count == stored ?? count else {
            throw TortureFailure(
                "\(context): recovered \(count) items, but w1 … w\(mustRecover) were acknowledged or recovered before and the stores held \(stored.map(String.init) ?? "?")"
            )
        }
        recoveries += 1
        mustRecover = count
        var acknowledged = Set<Int>()
        for line in lines.dropFirst() {
            guard line.hasPrefix("ack "), let n = Int(line.dropFirst("ack ".count)) else {
                throw TortureFailure("\(context): unexpected line \(line)")
            }
            // The round proposes each of w<count+1>, w<count+2>, … once.
            guard n > count, acknowledged.insert(n).inserted else {
                throw TortureFailure("\(context): ack \(n) after recovered \(count), or twice")
            }
            mustRecover = max(mustRecover, n)
        }
        acks += acknowledged.count
        return count
    }

    /// Checks what the stores hold after a round (already checked to be `w1 … w<count>`).
    mutating func checkStores(_ items: NodeCrashTests.StoredItems, context: String) throws {
        guard items.count >= mustRecover else {
            throw TortureFailure(
                "\(context): the stores hold w1 … w\(items.count), but w\(mustRecover) was acknowledged or recovered"
            )
        }
        stored = items.count
    }
}

struct TortureFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
