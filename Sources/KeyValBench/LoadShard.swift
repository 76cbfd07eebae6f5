import Histogram
import KeyValClient
import Synchronization

/// The figures of a group of clients, which they update after every request and the progress
/// reporter reads once a second: counts, the slowest request of the current second, latency
/// histograms and errors. Clients are spread over a few shards so that the histograms (about
/// 190 KB each) do not grow with the number of clients, and one lock is rarely contended.
final class LoadShard: Sendable {
    struct State: Sendable {
        var tally = Tally()
        /// The slowest request that ended since the reporter last looked, in µs.
        var secondMaximum: UInt64 = 0
        /// Successful reads (the first half of an increment included), in µs.
        var readLatency = LoadShard.makeHistogram()
        /// Successful writes and conflicts, in µs.
        var writeLatency = LoadShard.makeHistogram()
        var errors = ErrorTally()
    }

    /// Attempts are counted as requests start, apart from the lock.
    private let attempts = Atomic<Int>(0)
    private let state = Mutex(State())

    /// Latencies up to an hour, to three significant digits; longer ones are recorded as an hour.
    static let highestMicroseconds: UInt64 = 3_600_000_000

    static func makeHistogram() -> Histogram<UInt64> {
        Histogram(highestTrackableValue: highestMicroseconds, numberOfSignificantValueDigits: .three)
    }

    func attempt() { attempts.wrappingAdd(1, ordering: .relaxed) }

    func read(_ microseconds: UInt64) {
        state.withLock { state in
            state.tally.reads += 1
            state.readLatency.record(min(microseconds, Self.highestMicroseconds))
            state.secondMaximum = max(state.secondMaximum, microseconds)
        }
    }

    /// A compare-and-set that found another version counts as a conflict, not a write.
    func wrote(_ microseconds: UInt64, conflict: Bool = false) {
        state.withLock { state in
            if conflict { state.tally.conflicts += 1 } else { state.tally.writes += 1 }
            state.writeLatency.record(min(microseconds, Self.highestMicroseconds))
            state.secondMaximum = max(state.secondMaximum, microseconds)
        }
    }

    func failed(_ error: KeyValClientError) {
        state.withLock { state in
            state.tally.errors += 1
            state.errors.record(error)
        }
    }

    /// The counts so far, and the slowest request since the last call (which starts a new second).
    /// Attempts are read under the lock, after the outcomes: every outcome seen then has its attempt
    /// counted, so attempts never fall below reads + writes + conflicts + errors.
    func progress() -> (tally: Tally, secondMaximum: UInt64) {
        state.withLock { state in
            defer { state.secondMaximum = 0 }
            var tally = state.tally
            tally.attempts = attempts.load(ordering: .relaxed)
            return (tally, state.secondMaximum)
        }
    }

    /// Everything, once the clients are done.
    func final() -> State {
        state.withLock { state in
            var copy = state
            copy.tally.attempts = attempts.load(ordering: .relaxed)
            return copy
        }
    }
}
