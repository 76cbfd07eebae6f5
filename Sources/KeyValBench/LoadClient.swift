import KeyValClient
import RaftCore

/// What one client knows of its compare-and-set increments, for the counter check.
package struct Increments: Sendable, Equatable {
    /// Acknowledged: the write was applied.
    package var acknowledged = 0
    /// Failed with an error that says the write may have been applied.
    package var uncertain = 0

    package init(acknowledged: Int = 0, uncertain: Int = 0) {
        self.acknowledged = acknowledged
        self.uncertain = uncertain
    }

    package static func + (lhs: Increments, rhs: Increments) -> Increments {
        Increments(
            acknowledged: lhs.acknowledged + rhs.acknowledged, uncertain: lhs.uncertain + rhs.uncertain)
    }
}

/// One simulated client: its own `KeyValSession` (its own client id and write sequence), one
/// request at a time until the deadline, each counted in its shard. Errors are counted, never
/// fatal: the session has already failed over and waited out elections as long as it could.
struct LoadClient: Sendable {
    let session: KeyValSession
    let shard: LoadShard
    let keys: KeySpace
    let workload: Workload
    let stale: Bool
    var random: SplitMix64
    private(set) var increments = Increments()
    private var failuresInARow = 0
    private let clock = ContinuousClock()

    init(
        session: KeyValSession, shard: LoadShard, keys: KeySpace, workload: Workload, stale: Bool,
        random: SplitMix64
    ) {
        self.session = session
        self.shard = shard
        self.keys = keys
        self.workload = workload
        self.stale = stale
        self.random = random
    }

    /// Runs operations until `deadline` or `stop`; the one in flight then is finished (its own
    /// timeout bounds it).
    mutating func run(until deadline: ContinuousClock.Instant, stop: StopFlag) async -> Increments {
        let single = workload.single
        while clock.now < deadline, !stop.isSet {
            let succeeded: Bool
            switch single ?? workload.pick(random.next()) {
            case .read: succeeded = await read()
            case .write: succeeded = await write()
            case .cas: succeeded = await increment()
            }
            if succeeded {
                failuresInARow = 0
            } else {
                failuresInARow += 1
                await pause(until: deadline)
            }
        }
        return increments
    }

    private mutating func read() async -> Bool {
        let key = keys.plainKeys[Int.random(in: 0..<keys.plainKeys.count, using: &random)]
        let started = clock.now
        shard.attempt()
        do throws(KeyValClientError) {
            _ = try await session.get(key, stale: stale)
        } catch {
            shard.failed(error)
            return false
        }
        shard.read((clock.now - started).wholeMicroseconds)
        return true
    }

    private mutating func write() async -> Bool {
        let key = keys.plainKeys[Int.random(in: 0..<keys.plainKeys.count, using: &random)]
        let started = clock.now
        shard.attempt()
        do throws(KeyValClientError) {
            _ = try await session.set(key, keys.value)
        } catch {
            shard.failed(error)
            return false
        }
        shard.wrote((clock.now - started).wholeMicroseconds)
        return true
    }

    /// Reads a counter, then writes its value + 1 only if it is still at the version read. A
    /// conflict (another client got there first) is an answer, not an error: the client moves on.
    private mutating func increment() async -> Bool {
        let key = keys.counterKeys[Int.random(in: 0..<keys.counterKeys.count, using: &random)]
        let readStarted = clock.now
        shard.attempt()
        let current: StoredValue?
        do throws(KeyValClientError) {
            current = try await session.get(key, stale: stale)
        } catch {
            shard.failed(error)
            return false
        }
        let writeStarted = clock.now
        shard.read((writeStarted - readStarted).wholeMicroseconds)

        let next = KeySpace.counterValue(current?.value) &+ 1
        shard.attempt()
        let outcome: CompareAndSetOutcome
        do throws(KeyValClientError) {
            outcome = try await session.compareAndSet(
                key, expectedVersion: current?.version, value: String(next))
        } catch {
            if error.mayHaveApplied { increments.uncertain += 1 }
            shard.failed(error)
            return false
        }
        let microseconds = (clock.now - writeStarted).wholeMicroseconds
        switch outcome {
        case .written:
            increments.acknowledged += 1
            shard.wrote(microseconds)
        case .conflict:
            shard.wrote(microseconds, conflict: true)
        }
        return true
    }

    /// After a failed request: 10 ms, doubling with each failure in a row up to 320 ms, so a client
    /// facing a cluster that is entirely down does not spin on refused connections.
    private func pause(until deadline: ContinuousClock.Instant) async {
        let delay = Duration.milliseconds(10 << min(failuresInARow - 1, 5))
        let remaining = deadline - clock.now
        guard remaining > .zero else { return }
        try? await Task.sleep(for: min(delay, remaining))
    }
}
