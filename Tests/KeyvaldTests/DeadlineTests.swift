import Raft
import Synchronization
import Testing

@testable import keyvald

/// `waiting(atMost:for:)`: the per-request deadline of every write and membership change.
@Suite("the request deadline")
struct DeadlineTests {
    /// A continuous clock that counts the sleeps in progress on it.
    final class CountingClock: Clock, Sendable {
        typealias Duration = Swift.Duration
        typealias Instant = ContinuousClock.Instant
        private let base = ContinuousClock()
        let sleeping = Atomic<Int>(0)
        let started = Atomic<Int>(0)

        var now: Instant { base.now }
        var minimumResolution: Duration { base.minimumResolution }

        func sleep(until deadline: Instant, tolerance: Duration?) async throws {
            started.add(1, ordering: .sequentiallyConsistent)
            sleeping.add(1, ordering: .sequentiallyConsistent)
            defer { sleeping.subtract(1, ordering: .sequentiallyConsistent) }
            try await base.sleep(until: deadline, tolerance: tolerance)
        }
    }

    @Test("an operation that finishes first returns its result and leaves no timer sleeping")
    func timerEndsWithTheOperation() async throws {
        let clock = CountingClock()
        for k in 0..<200 {
            let result = await waiting(atMost: .seconds(60), clock: clock) { () async throws(NodeError) in k }
            #expect(result == .success(k))
        }
        let failed = await waiting(atMost: .seconds(60), clock: clock) { () async throws(NodeError) -> Int in
            throw .stopped
        }
        #expect(failed == .failure(.stopped))
        // The timers were started (so the count can see them) and none is still asleep: each was
        // cancelled when its operation finished, not left for the 60 s.
        let (started, sleeping) = (
            clock.started.load(ordering: .sequentiallyConsistent),
            clock.sleeping.load(ordering: .sequentiallyConsistent)
        )
        #expect(started >= 1)
        #expect(sleeping == 0, "\(sleeping) of \(started) timers still asleep")
    }

    @Test("a deadline shorter than it takes to start waiting still ends the wait")
    func tinyDeadline() async throws {
        for _ in 0..<50 {
            let result = await waiting(atMost: .nanoseconds(1)) { () async throws(NodeError) -> Int in
                try? await Task.sleep(for: .seconds(2))
                return 1
            }
            #expect(result == nil)
        }
    }

    @Test("an operation that outlasts the deadline: nil at the deadline, and the operation still finishes")
    func deadlinePasses() async throws {
        let clock = CountingClock()
        let finished = Atomic<Bool>(false)
        let started = ContinuousClock.now
        let result = await waiting(atMost: .milliseconds(50), clock: clock) {
            () async throws(NodeError) -> Int in
            try? await Task.sleep(for: .milliseconds(300))
            finished.store(true, ordering: .sequentiallyConsistent)
            return 1
        }
        #expect(result == nil)
        #expect(
            ContinuousClock.now - started < .seconds(5), "returned at the deadline, not after the operation")
        let finishedEarly = finished.load(ordering: .sequentiallyConsistent)
        #expect(!finishedEarly)
        var done = false
        for _ in 0..<500 where !done {
            try await Task.sleep(for: .milliseconds(10))
            done = finished.load(ordering: .sequentiallyConsistent)
        }
        #expect(done, "the operation was not cancelled by the deadline")
        let sleeping = clock.sleeping.load(ordering: .sequentiallyConsistent)
        #expect(sleeping == 0)
    }
}
