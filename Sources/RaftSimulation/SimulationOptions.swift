import RaftCore

/// What one simulated run does: the cluster, how hostile the world is, and for how long.
/// Time is in simulated microseconds-like units; a node ticks every `tickInterval` units.
public struct SimulationOptions: Sendable {
    public var clusterSize: Int
    public var seed: UInt64
    /// Ticks of the faulty phase, then ticks allowed for the healed cluster to elect a leader
    /// and commit every client's last write (the liveness check).
    public var faultyTicks: Int = 400
    public var healTicks: Int = 300

    public var tickInterval: Int64 = 100
    public var electionTicks = 10
    public var heartbeatTicks = 1
    public var maxAppendBytes = 512
    public var maxInflightAppends = 4
    /// A node snapshots its state machine after this many applied entries (0: never), then
    /// compacts its log through that snapshot less `snapshotKeepEntries`.
    public var snapshotEvery = 40
    public var snapshotKeepEntries = 5
    /// Small, so a snapshot travels in several chunks that can be lost, duplicated and reordered.
    public var maxSnapshotChunkBytes = 8
    public var preVote = true
    public var checkQuorum = true

    // Network faults, as probabilities per message.
    public var dropRate = 0.05
    public var duplicateRate = 0.03
    /// A message delayed far beyond the usual few units, so it arrives out of order.
    public var longDelayRate = 0.05
    /// Mean time between nemesis actions (partition, heal, crash, restart), in ticks; 0 disables them.
    public var nemesisEveryTicks = 30

    // Membership changes (thesis §4.1), made through the leader's `proposeMembershipChange`.
    /// Node ids beyond the initial voters `n1...nN`, which start empty and wait to be added.
    public var spareNodes = 2
    /// Mean time between membership actions (add a voter or learner, promote, remove a follower or
    /// the leader, re-add a removed node, retire one), in ticks; 0 disables them.
    public var membershipEveryTicks = 25
    /// The membership actions keep the number of voters within `1...maxVoters`.
    public var maxVoters = 7
    /// Retiring a removed node wipes its disk and replaces it with a fresh id; at most this many
    /// ids are ever used in one run, so a run stays bounded.
    public var maxNodeIDs: Int { clusterSize + spareNodes + 3 }
    /// The direct check that a leader's log holds at most one uncommitted configuration entry.
    /// Only a scenario that wants to show what a second one leads to turns it off.
    public var checksOneChangeAtATime = true

    public var clients = 4
    public var keys = ["a", "b", "c"]
    /// A client gives up on an operation after this many ticks and records its outcome as unknown.
    public var clientTimeoutTicks = 40
    /// Fraction of client operations that are linearizable reads (the rest are writes).
    public var readRatio = 0.4
    /// Fraction of reads sent to a node picked at random, follower or learner as often as not,
    /// rather than the one the client believes leads: followers serve them after a ReadIndex
    /// round with the leader (thesis §6.4).
    public var followerReadRatio = 0.5

    /// What the nodes replicate: the simulation's own stand-in register map, or the real
    /// `KVStore` with client sessions (see `SimulatedCluster+KeyValue.swift`).
    public var machine = StateMachineKind.register
    /// With the real store: its session capacity. A little above the number of clients, and
    /// clients now and then start a new session (as a restarted client process would), so idle
    /// sessions are evicted and a client slowed by faults can find its own session gone.
    public var sessionCapacity = 5
    /// With the real store: chance that a client starts a new session before a write.
    public var newSessionRate = 0.05
    /// With the real store, in the faulty phase: chance that the answer to a write that applied
    /// is lost on its way to the client, which then retries it with the same stamp.
    public var lostAnswerRate = 0.1
    /// With the real store: attempts per write (a retry after a timeout, a crash, a lost answer
    /// or a lost leadership) before the client gives up and records the outcome as unknown.
    public var maxWriteAttempts = 6
    /// With the real store: whether a session's first write (sequence 1) is retried. Off by
    /// default, because the store cannot deduplicate it once the session was evicted: an unknown
    /// client at sequence 1 is taken for a new session (`ClientSessions.lookup`), so such a retry
    /// applies again. `raft-sim --machine kv --retry-first-writes` shows it.
    public var retriesFirstWrites = false
    /// With the real store: the direct at-most-once checks (at every first application, and of
    /// every answer against the request's first result). Only the negative control that shows
    /// the linearizability check catching a double apply on its own turns them off.
    public var checksAtMostOnce = true
    /// A known-wrong variant of the key-value state machine, for negative controls.
    public var keyValueFault: KeyValueFault?

    /// A known-wrong core variant, for negative controls.
    public var testingFault: TestingFault?
    /// Lines of recent trace printed with a failure.
    public var traceLength = 60

    public init(clusterSize: Int, seed: UInt64) {
        self.clusterSize = clusterSize
        self.seed = seed
    }

    /// No faults and no clients: for scripted scenarios.
    public static func quiet(clusterSize: Int, seed: UInt64) -> SimulationOptions {
        var options = SimulationOptions(clusterSize: clusterSize, seed: seed)
        options.dropRate = 0
        options.duplicateRate = 0
        options.longDelayRate = 0
        options.nemesisEveryTicks = 0
        options.clients = 0
        options.spareNodes = 0
        options.membershipEveryTicks = 0
        return options
    }

    /// The sweep's options with the real key-value store and client sessions.
    public static func keyValue(clusterSize: Int, seed: UInt64) -> SimulationOptions {
        var options = SimulationOptions(clusterSize: clusterSize, seed: seed)
        options.machine = .keyValue
        // The real store's snapshots are some hundred bytes: bigger chunks keep transfers to a
        // few dozen messages, and snapshots every 30 entries make restarts and lagging
        // followers restore from them.
        options.maxSnapshotChunkBytes = 64
        options.snapshotEvery = 30
        return options
    }

    /// Turns membership changes off: a fixed voter set, no spare nodes (the sweep before §4.1).
    public mutating func disableMembershipChanges() {
        spareNodes = 0
        membershipEveryTicks = 0
    }
}

/// The state machine a simulated cluster replicates.
public enum StateMachineKind: String, Sendable, CaseIterable {
    /// A map of registers with its own minimal command and snapshot format: cheap, for the big sweep.
    case register
    /// The real `KVStore`: `KVCommand`s through its codec, client sessions, its snapshot format.
    case keyValue = "kv"
}

/// Known-wrong variants of the key-value state machine, which the checks must catch.
public enum KeyValueFault: String, Sendable, CaseIterable {
    /// Every command is applied without its client stamp, so a retried write applies again.
    case ignoreClientSessions
}

/// Why a run failed: an invariant broke, the healed cluster did not make progress, or the client
/// history is not linearizable.
public struct SimulationFailure: Error, Sendable, CustomStringConvertible {
    public var seed: UInt64
    public var clusterSize: Int
    public var machine: StateMachineKind
    public var time: Int64
    public var reason: String
    public var recentTrace: [String]

    public var description: String {
        """
        simulation failed: \(reason)
          seed \(seed), \(clusterSize) nodes, at time \(time); replay with RAFT_SEED=\(seed) RAFT_CLUSTER_SIZE=\(clusterSize)\(machine == .keyValue ? " RAFT_MACHINE=kv" : "")
          recent trace:
        \(recentTrace.map { "    " + $0 }.joined(separator: "\n"))
        """
    }
}

/// What a completed run saw, for sweeps and for tests that want the simulation to have done something.
public struct SimulationStats: Sendable {
    public var events = 0
    public var messagesSent = 0
    public var messagesDropped = 0
    public var elections = 0
    public var crashes = 0
    public var committedEntries = 0
    public var snapshotsTaken = 0
    public var snapshotsInstalled = 0
    /// Membership changes the leader accepted, and attempts refused because one was in progress.
    public var membershipChanges = 0
    public var leadershipTransfers = 0
    public var membershipChangesDeferred = 0
    /// Removed nodes whose disks were wiped, each replaced by a fresh id.
    public var nodesRetired = 0
    /// The largest and smallest number of voters any committed configuration had.
    public var mostVoters = 0
    public var fewestVoters = Int.max
    public var operationsOK = 0
    public var operationsUnknown = 0
    public var operationsFailed = 0
    /// Linearizable reads answered by a node that was not leading when it answered.
    public var followerReadsServed = 0
    /// With the real store: write attempts after the first, answers lost on the way to a client,
    /// retries answered with the remembered result of an earlier application, answers that the
    /// client's session had expired, and sessions started.
    public var writeRetries = 0
    public var answersLost = 0
    public var retriesDeduplicated = 0
    public var sessionsExpired = 0
    public var sessionsStarted = 0
    /// Restarts that rebuilt the state machine from the snapshot on the node's disk.
    public var restartsFromSnapshot = 0
    /// Ticks from healing the cluster to a leader that committed every client's final write.
    public var ticksToRecover = 0
    public var messagesByKind: [String: Int] = [:]

    public init() {}
}
