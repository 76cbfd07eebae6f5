import Raft
import Synchronization

/// Waits for `operation` at most `timeout`. The node's calls cannot be cancelled (a proposal in
/// the log stays there), so on timeout the caller stops waiting and the operation finishes on
/// its own; its outcome is then unknown to the caller (thesis §6.3), which is what the API says.
///
/// The operation runs in a task of its own (it may outlive the wait); the timer is a child task
/// of the caller's, cancelled as soon as the operation finishes, so under load no timer sleeps
/// beyond the request it belongs to (at 8k writes/s with a 10 s timeout, uncancelled timers
/// would be some 80k sleeping tasks).
func waiting<T: Sendable, C: Clock>(
    atMost timeout: Duration, clock: C = ContinuousClock(),
    for operation: @escaping @Sendable () async throws(NodeError) -> T
) async -> Result<T, NodeError>? where C.Duration == Duration {
    // Whichever of the operation and the timer finishes first resumes the caller, once; a result
    // that comes before the caller waits (a very short timeout) is kept for it.
    let state = Mutex<WaitState<T>>(.idle)
    let finish: @Sendable (Result<T, NodeError>?) -> Void = { result in
        let waiter: CheckedContinuation<Result<T, NodeError>?, Never>? = state.withLock { state in
            switch state {
            case .idle:
                state = .finished(result)
                return nil
            case .waiting(let continuation):
                state = .resumed
                return continuation
            case .finished, .resumed:
                return nil
            }
        }
        waiter?.resume(returning: result)
    }
    return await withTaskGroup(of: Void.self) { timer in
        timer.addTask {
            // Cancelled: the operation finished first and has resumed the continuation.
            guard (try? await clock.sleep(for: timeout)) != nil else { return }
            finish(nil)
        }
        Task {
            do throws(NodeError) {
                finish(.success(try await operation()))
            } catch {
                finish(.failure(error))
            }
        }
        let result = await withCheckedContinuation { continuation in
            let early: Result<T, NodeError>?? = state.withLock { state in
                guard case .finished(let result) = state else {
                    state = .waiting(continuation)
                    return nil
                }
                state = .resumed
                return .some(result)
            }
            if let early { continuation.resume(returning: early) }
        }
        timer.cancelAll()
        return result
    }
}

private enum WaitState<T: Sendable> {
    case idle
    case waiting(CheckedContinuation<Result<T, NodeError>?, Never>)
    /// The timer (nil) or the operation finished before the caller waited.
    case finished(Result<T, NodeError>?)
    case resumed
}
