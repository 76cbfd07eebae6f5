/// One HTTP/1.1 request as `HTTPClient` sends it. Plain values rather than NIO types, so callers
/// (the HTTP layer's forwarding, `keyvald -join`, the CLI) need not import NIOHTTP1.
public struct HTTPClientRequest: Sendable {
    /// `GET`, `POST`, … as sent on the request line.
    public var method: String
    /// Origin form: the path with its query, e.g. `/key/a%2Fb?consistency=stale`.
    public var path: String
    /// In order; `Host` and `Content-Length` are added by the client unless present.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// Whether the server may safely receive it twice. Only such a request is resent when a
    /// pooled connection closes after it may have been written; any request is resent when it
    /// provably was not written (the connection was seen closed first). Default: GET and HEAD.
    /// A write stamped with a client session (`Keyval-Client-Id`, `Keyval-Sequence`) is
    /// idempotent too: the state machine answers a second copy from its session table.
    public var isIdempotent: Bool

    public init(
        method: String = "GET", path: String, headers: [(name: String, value: String)] = [],
        body: [UInt8] = [], isIdempotent: Bool? = nil
    ) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.isIdempotent = isIdempotent ?? (method == "GET" || method == "HEAD")
    }

    /// The first value of the header `name` (compared case-insensitively), if any.
    public func header(_ name: String) -> String? { headers.firstValue(of: name) }
}

extension Array where Element == (name: String, value: String) {
    /// The first value of the header `name`, compared as HTTP does: without regard to ASCII case.
    func firstValue(of name: String) -> String? {
        first { $0.name.equalsIgnoringASCIICase(name) }?.value
    }
}

extension String {
    /// HTTP header names are case-insensitive ASCII; this avoids allocating lowercased copies.
    func equalsIgnoringASCIICase(_ other: String) -> Bool {
        let a = utf8
        let b = other.utf8
        guard a.count == b.count else { return false }
        return zip(a, b).allSatisfy { x, y in
            x == y || (x | 0x20 == y | 0x20 && (0x61...0x7A).contains(x | 0x20))
        }
    }
}
