/// A node's HTTP address as a client names it: `host:port`, `[v6]:port`, or `:port` for this
/// machine (as `keyvald`'s flags accept).
public struct ServerAddress: Hashable, Sendable, CustomStringConvertible {
    /// Without brackets.
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `text`, or nil when it is not an address: the reason is for the caller to phrase, as
    /// it knows which flag or field the text came from.
    public init?(_ text: String) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[close...].hasPrefix("]:") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") { return nil }
        }
        guard portText.utf8.count <= 5, portText.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            let port = Int(portText), (1...65535).contains(port)
        else { return nil }
        self.init(host: host.isEmpty ? "localhost" : String(host), port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// A comma-separated list as flags take it (`127.0.0.1:11000, 127.0.0.1:11001`), in order,
    /// with spaces around items ignored. Throws the first item that is not an address (an empty
    /// one included); repeats are the caller's to judge.
    public static func list(_ text: String) throws(InvalidAddress) -> [ServerAddress] {
        var addresses: [ServerAddress] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let item = String(part.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
            guard let address = ServerAddress(item) else { throw InvalidAddress(text: item) }
            addresses.append(address)
        }
        return addresses
    }

    /// Text that is not `host:port`.
    public struct InvalidAddress: Error, Equatable, CustomStringConvertible {
        public var text: String
        public var description: String {
            text.isEmpty ? "an empty address" : "\(text) is not host:port"
        }
    }
}
