/// Why the daemon cannot start or had to stop. Each is one line for a person; `usage` errors exit
/// with code 2 like any bad flag.
enum DaemonError: Error, CustomStringConvertible {
    /// A flag or argument is wrong (exit code 2).
    case usage(String)
    /// The data directory cannot be used as asked (exit code 2: the operator must act).
    case dataDirectory(String)
    /// Joining the cluster failed for good (exit code 1).
    case joinFailed(String)
    /// The node could not start or stopped on its own: storage, ports (exit code 1).
    case failed(String)

    var description: String {
        switch self {
        case .usage(let message), .dataDirectory(let message), .joinFailed(let message), .failed(let message):
            message
        }
    }

    var exitCode: Int32 {
        switch self {
        case .usage, .dataDirectory: 2
        case .joinFailed, .failed: 1
        }
    }
}
