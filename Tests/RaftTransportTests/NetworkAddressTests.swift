import Raft
import Testing

@Suite("NetworkAddress")
struct NetworkAddressTests {
    @Test(
        "parses host:port with a name, an IPv4 address or a bracketed IPv6 address",
        arguments: [
            ("localhost:7000", "localhost", 7000),
            ("127.0.0.1:0", "127.0.0.1", 0),
            ("[::1]:65535", "::1", 65535),
            ("node-3.example:80", "node-3.example", 80),
        ])
    func parses(_ text: String, _ host: String, _ port: Int) throws {
        let address = try NetworkAddress(parsing: text)
        #expect(address == NetworkAddress(host: host, port: port))
        #expect(address.description == text)
    }

    @Test(
        "refuses what is not host:port",
        arguments: [
            "", "localhost", ":7000", "host:", "host:65536", "host:-1", "host:7x", "::1:7000", "[::1]7000",
            "[::1", "[]:1", "host:123456",
        ])
    func refuses(_ text: String) {
        #expect {
            try NetworkAddress(parsing: text)
        } throws: { error in
            guard case .invalidAddress(text, _) = error as? TCPTransportError else { return false }
            return true
        }
    }
}
