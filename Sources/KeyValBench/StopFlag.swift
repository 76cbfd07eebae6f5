import Synchronization

/// Set when the user interrupts the run (SIGINT): clients stop after their current request and the
/// summary covers the time until then.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    private let when = Mutex<ContinuousClock.Instant?>(nil)

    var isSet: Bool { flag.load(ordering: .relaxed) }
    /// When it was first set.
    var instant: ContinuousClock.Instant? { when.withLock { $0 } }

    /// Sets the flag; true the first time.
    @discardableResult
    func set() -> Bool {
        let first = when.withLock { when in
            guard when == nil else { return false }
            when = .now
            return true
        }
        flag.store(true, ordering: .relaxed)
        return first
    }
}
