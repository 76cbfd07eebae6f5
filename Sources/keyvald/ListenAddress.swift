import Raft

/// Addresses as the flags take them, in the forms the hraftd example uses: `host:port`,
/// `[v6]:port`, or a bare `:port`, which means this machine (`localhost:port`). The normalized
/// form is what the node binds, advertises to its peers and records in the configuration.
enum ListenAddress {
    /// Normalizes `text` or throws a one-line reason naming the flag.
    static func normalize(_ text: String, flag: String) throws(DaemonError) -> NetworkAddress {
        let spelled = text.hasPrefix(":") ? "localhost" + text : text
        do {
            let address = try NetworkAddress(parsing: spelled)
            guard address.port != 0 else {
                throw DaemonError.usage("-\(flag) \(text): port 0 cannot be advertised to other nodes")
            }
            return address
        } catch let error as DaemonError {
            throw error
        } catch {
            throw .usage("-\(flag) \(text): \(error)")
        }
    }
}
