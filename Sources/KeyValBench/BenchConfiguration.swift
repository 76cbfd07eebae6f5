import KeyValClient

/// A run's settings, checked: what `BenchCommand`'s flags turn into.
package struct BenchConfiguration: Sendable, Equatable {
    package var nodes: [ServerAddress]
    package var clients: Int
    package var keys: Int
    package var workload: Workload
    package var duration: Duration
    package var valueSize: Int
    package var stale: Bool
    package var json: Bool
    package var seed: UInt64
    /// One operation's limit, retries and failovers included (`KeyValSession`'s `operationTimeout`).
    package var timeout: Duration
    package var prefix: String

    package init(
        nodes: [ServerAddress], clients: Int, keys: Int, workload: Workload, duration: Duration,
        valueSize: Int,
        stale: Bool, json: Bool, seed: UInt64, timeout: Duration, prefix: String
    ) {
        self.nodes = nodes
        self.clients = clients
        self.keys = keys
        self.workload = workload
        self.duration = duration
        self.valueSize = valueSize
        self.stale = stale
        self.json = json
        self.seed = seed
        self.timeout = timeout
        self.prefix = prefix
    }

    /// `cas, 8 clients, 100 keys, 10s, linearizable reads`: the run in a few words.
    package var description: String {
        var text = "\(workload), \(clients) clients, \(keys) keys, \(DurationText.describe(duration))"
        if workload.includes(.read) || workload.includes(.cas) {
            text += stale ? ", stale reads" : ", linearizable reads"
        }
        return text
    }

    /// `127.0.0.1:11000,127.0.0.1:11001` → addresses, in order.
    package static func nodes(_ text: String) throws(UsageError) -> [ServerAddress] {
        let nodes: [ServerAddress]
        do {
            nodes = try ServerAddress.list(text)
        } catch {
            throw UsageError("--nodes: \(error)")
        }
        for (index, node) in nodes.enumerated() where nodes[..<index].contains(node) {
            throw UsageError("--nodes: \(node) is listed twice")
        }
        return nodes
    }
}
