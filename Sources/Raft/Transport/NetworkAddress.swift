/// A "host:port" as operators write it (`-raddr`, a member's `raftAddress`): the host is a name
/// (`localhost`), an IPv4 address, or an IPv6 address in brackets (`[::1]:7000`).
public struct NetworkAddress: Sendable, Hashable, CustomStringConvertible {
    /// Without brackets.
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses "host:port"; throws `.invalidAddress` naming what is wrong. A bare IPv6 address
    /// without brackets is refused: its last colon is not a port separator.
    public init(parsing text: String) throws(TCPTransportError) {
        func invalid(_ reason: String) -> TCPTransportError { .invalidAddress(text, reason: reason) }
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw invalid("no closing bracket") }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw invalid("expected ':' and a port after the bracket") }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw invalid("expected host:port") }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            guard !host.contains(":") else {
                throw invalid("an IPv6 address needs brackets, as in [::1]:7000")
            }
        }
        guard !host.isEmpty else { throw invalid("empty host") }
        guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
            let port = Int(portText), port <= 65535
        else { throw invalid("port must be a number from 0 to 65535") }
        self.init(host: String(host), port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
