/// Why a `TCPTransport` could not start. Failures after that (a peer down, a bad frame) are not
/// thrown: sends are best-effort, and the transport logs and reports unreachable peers instead.
public enum TCPTransportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The text is not a "host:port" (see `NetworkAddress`).
    case invalidAddress(String, reason: String)
    /// The listener could not bind: the port is in use, the host does not resolve or is not local.
    case bindFailed(address: String, reason: String)
    case alreadyStarted
    /// `shutdown()` was called; a transport is not restarted.
    case shutDown

    public var description: String {
        switch self {
        case .invalidAddress(let text, let reason): "invalid address \"\(text)\": \(reason)"
        case .bindFailed(let address, let reason): "cannot listen on \(address): \(reason)"
        case .alreadyStarted: "the transport is already started"
        case .shutDown: "the transport is shut down"
        }
    }
}
