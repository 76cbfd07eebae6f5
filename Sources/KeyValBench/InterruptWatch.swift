import Dispatch

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Ctrl-C (SIGINT) during a run: the first stops it early, with a summary of the time so far; a
/// second quits at once with exit code 130. Made and cancelled by the run's task; only the
/// handler, which captures nothing but `Sendable` values, runs elsewhere.
final class InterruptWatch {
    private let source: any DispatchSourceSignal

    init(stop: StopFlag, live: LineWriter) {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler {
            guard stop.set() else { exit(130) }
            live.write("interrupted: finishing the requests in flight (Ctrl-C again quits at once)")
        }
        source.resume()
    }

    /// Back to the default: Ctrl-C ends the process.
    func cancel() {
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }
}
