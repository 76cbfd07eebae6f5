/// Why `HTTPClient.execute` produced no response. Each case says whether the request may have
/// reached the server: only `.connectFailed` guarantees it did not.
public enum HTTPClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No TCP connection could be made (refused, unreachable, name not resolved). The request was
    /// not sent.
    case connectFailed(host: String, port: Int, reason: String)
    /// The deadline passed before the whole response arrived; the connection was closed. The
    /// request may have been applied.
    case timedOut
    /// The server closed the connection before the response was complete. The request may have
    /// been applied.
    case connectionClosed
    /// The response body is over the client's `maxResponseBytes`; the connection was closed.
    case responseTooLarge
    /// The server's bytes are not a valid HTTP/1.1 response.
    case invalidResponse(String)
    /// The request cannot be encoded (e.g. a header name or value with forbidden characters).
    case invalidRequest(String)
    /// The calling task was cancelled; the connection was closed.
    case cancelled
    /// `shutdown()` was called; the client makes no more requests.
    case shutDown

    public var description: String {
        switch self {
        case .connectFailed(let host, let port, let reason):
            "cannot connect to \(Self.address(host, port)): \(reason)"
        case .timedOut: "no complete response before the deadline"
        case .connectionClosed: "the server closed the connection before the response was complete"
        case .responseTooLarge: "the response is larger than the client accepts"
        case .invalidResponse(let reason): "invalid HTTP response: \(reason)"
        case .invalidRequest(let reason): "invalid HTTP request: \(reason)"
        case .cancelled: "the request was cancelled"
        case .shutDown: "the HTTP client is shut down"
        }
    }

    static func address(_ host: String, _ port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
