import Raft
import Testing

/// The shell's persist-before-send order (`Ready`; Figure 2, "persistent state"), checked under
/// crashes by `CrashHarness`: three real `RaftNode`s whose processes die at random moments and at
/// the moment they send a granted vote or an accepted append, losing what they had not persisted.
@Suite("RaftNode: persist before send, under crashes")
struct CrashSafetyTests {
    static let steps = 150

    @Test(
        "crashes at random moments and at acknowledgements: no vote given twice in a term, no applied entry changed, no acknowledged write lost",
        arguments: [11, 12, 13] as [UInt64])
    func safeUnderCrashes(seed: UInt64) async throws {
        let run = try await CrashHarness.run(seed: seed, steps: Self.steps, sendsBeforePersisting: false)
        #expect(run.violations.isEmpty, "seed \(seed): \(run.violations)")
        // The run must have done what it checks: writes acknowledged across restarts.
        #expect(run.acknowledged >= 10, "seed \(seed): only \(run.acknowledged) writes acknowledged")
        #expect(run.restarts >= 3, "seed \(seed): only \(run.restarts) restarts")
    }

    @Test("negative control: a shell that sends before persisting breaks a safety check")
    func sendingBeforePersistingIsCaught() async throws {
        var caught: (seed: UInt64, violations: [String])?
        for seed in 11..<21 as Range<UInt64> where caught == nil {
            let run = try await CrashHarness.run(seed: seed, steps: Self.steps, sendsBeforePersisting: true)
            if !run.violations.isEmpty { caught = (seed, run.violations) }
        }
        #expect(caught != nil, "no seed of 10 caught a shell that sends before persisting")
        if let caught {
            print("sending before persisting caught at seed \(caught.seed): \(caught.violations[0])")
        }
    }
}
