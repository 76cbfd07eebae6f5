/// A complete HTTP response as `HTTPClient` received it: the body is fully read (chunked transfer
/// decoded) and bounded by the client's `maxResponseBytes`.
public struct HTTPClientResponse: Sendable {
    /// The status code, e.g. 200.
    public var status: Int
    /// In the order received, names as the server spelled them.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first value of the header `name` (compared case-insensitively), if any.
    public func header(_ name: String) -> String? { headers.firstValue(of: name) }

    /// The body decoded as UTF-8, for logs and tests; invalid sequences become U+FFFD.
    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}
