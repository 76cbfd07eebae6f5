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

    public init(
        method: String = "GET", path: String, headers: [(name: String, value: String)] = [],
        body: [UInt8] = []
    ) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
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
