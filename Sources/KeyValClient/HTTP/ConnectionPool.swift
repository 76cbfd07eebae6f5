import NIOCore

/// The state of `HTTPClient`'s connection pool: idle keep-alive connections per host and port, and
/// every open connection so `shutdown()` can close them. Kept under the client's mutex; no I/O here.
struct ConnectionPool {
    struct Key: Hashable, Sendable {
        var host: String
        var port: Int
    }

    /// Idle connections per key, most recently used last.
    private var idle: [Key: [any Channel]] = [:]
    /// Every connection opened and not yet closed, idle or leased.
    private var open: [ObjectIdentifier: any Channel] = [:]
    private(set) var isShutDown = false

    /// The most recently used idle connection for `key` that is still open, if any; closed ones
    /// found on the way are dropped.
    mutating func takeIdle(for key: Key) throws(HTTPClientError) -> (any Channel)? {
        guard !isShutDown else { throw .shutDown }
        while let channel = idle[key]?.popLast() {
            if channel.isActive { return channel }
        }
        return nil
    }

    /// Puts a leased connection back; false when it must be closed instead (pool full or shut down).
    mutating func release(_ channel: any Channel, for key: Key, maxIdle: Int) -> Bool {
        guard !isShutDown, idle[key, default: []].count < maxIdle else { return false }
        idle[key, default: []].append(channel)
        return true
    }

    /// Records a new connection; false after shutdown (the caller closes it).
    mutating func register(_ channel: any Channel) -> Bool {
        guard !isShutDown else { return false }
        open[ObjectIdentifier(channel)] = channel
        return true
    }

    /// Drops a closed connection.
    mutating func forget(_ channel: any Channel, for key: Key) {
        open[ObjectIdentifier(channel)] = nil
        idle[key]?.removeAll { $0 === channel }
        if idle[key]?.isEmpty == true { idle[key] = nil }
    }

    /// Marks the pool shut down and returns every open connection, for the caller to close.
    mutating func shutDown() -> [any Channel] {
        isShutDown = true
        idle = [:]
        defer { open = [:] }
        return Array(open.values)
    }
}
