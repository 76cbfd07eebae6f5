import Raft
import Synchronization

/// Waits for `operation` at most `timeout`. The node's calls cannot be cancelled (a proposal in
/// the log stays there), so on timeout the caller stops waiting and the operation finishes on
/// its own; its outcome is then unknown to the caller (thesis §6.3), which is what the API says.
func waiting<T: Sendable>(
    atMost timeout: Duration, for operation: @escaping @Sendable () async throws(NodeError) -> T
) async -> Result<T, NodeError>? {
    let outcome = Mutex<CheckedContinuation<Result<T, NodeError>?, Never>?>(nil)
    return await withCheckedContinuation { continuation in
        outcome.withLock { $0 = continuation }
        let finish: @Sendable (Result<T, NodeError>?) -> Void = { result in
            outcome.withLock { pending in
                pending?.resume(returning: result)
                pending = nil
            }
        }
        Task {
            do throws(NodeError) {
                finish(.success(try await operation()))
            } catch {
                finish(.failure(error))
            }
        }
        Task {
            try? await Task.sleep(for: timeout)
            finish(nil)
        }
    }
}
