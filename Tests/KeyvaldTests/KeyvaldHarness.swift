import Foundation
import KeyValClient
import TestSupport
import Testing

/// One `keyvald` process of a test cluster: its ports, data directory and flags stay the same
/// across restarts, as an operator's would.
final class KeyvaldNode: @unchecked Sendable {
    // @unchecked: a test drives its nodes from one task at a time.
    let id: String
    private(set) var httpPort: Int
    private(set) var raftPort: Int
    let dataDirectory: String
    let logDirectory: String
    private(set) var process: ChildProcess?
    private var starts = 0

    init(id: String, root: String) throws {
        self.id = id
        httpPort = try freeLoopbackPort()
        raftPort = try freeLoopbackPort()
        dataDirectory = root + "/" + id
        logDirectory = root + "/logs"
        try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)
    }

    /// New ports for the next start, as if the node had moved.
    func move() throws {
        httpPort = try freeLoopbackPort()
        raftPort = try freeLoopbackPort()
    }

    var httpAddress: String { "127.0.0.1:\(httpPort)" }
    var raftAddress: String { "127.0.0.1:\(raftPort)" }

    /// Starts the process (again); `join` is passed as `-join` when given. With `bareAddresses`
    /// the addresses are given as the example does, `:port` (localhost).
    func start(join: KeyvaldNode? = nil, extra: [String] = [], bareAddresses: Bool = false) throws {
        starts += 1
        var arguments =
            bareAddresses
            ? ["-id", id, "-haddr", ":\(httpPort)", "-raddr", ":\(raftPort)"]
            : ["-id", id, "-haddr", httpAddress, "-raddr", raftAddress]
        if let join { arguments += ["-join", join.httpAddress] }
        arguments += extra + [dataDirectory]
        process = try ChildProcess(
            try locateExecutable(named: "keyvald"), arguments, logPrefix: "\(logDirectory)/\(id).\(starts)")
    }

    /// SIGKILL: no chance to flush or say goodbye.
    func kill9() async {
        process?.signal(SIGKILL)
        await process?.wait()
    }

    /// SIGTERM and wait; returns how it ended.
    @discardableResult
    func terminate() async -> ChildProcess.Termination? {
        process?.signal(SIGTERM)
        return await process?.wait(timeout: .seconds(15))
    }

    /// Everything every start of this node wrote to stderr, for failure reports.
    var logs: String {
        (1...max(starts, 1)).map { start in
            let path = "\(logDirectory)/\(id).\(start).err"
            return "--- \(id) start \(start) ---\n"
                + ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "")
        }.joined(separator: "\n")
    }
}

/// HTTP calls a test makes against its nodes, with the API's JSON decoded.
struct KeyvaldAPI {
    let client = HTTPClient()

    func request(
        _ node: KeyvaldNode, _ method: String, _ path: String, body: String? = nil,
        headers: [(name: String, value: String)] = [], timeout: Duration = .seconds(5)
    ) async -> HTTPClientResponse? {
        var headers = headers
        if body != nil { headers.append(("Content-Type", "application/json")) }
        return try? await client.execute(
            HTTPClientRequest(method: method, path: path, headers: headers, body: Array((body ?? "").utf8)),
            host: "127.0.0.1", port: node.httpPort, timeout: timeout)
    }

    func status(_ node: KeyvaldNode) async -> StatusReport? {
        guard let response = await request(node, "GET", "/status", timeout: .seconds(2)),
            response.status == 200
        else {
            return nil
        }
        return try? JSONDecoder().decode(StatusReport.self, from: Data(response.body))
    }

    /// Sets `key` through `node` (forwarded to the leader if needed); true when acknowledged (200).
    func set(_ key: String, _ value: String, via node: KeyvaldNode) async -> Bool {
        let body = String(decoding: try! JSONEncoder().encode([key: value]), as: UTF8.self)
        return await request(node, "POST", "/key", body: body)?.status == 200
    }

    /// The value of `key` as `node` answers it: nil when missing or on any error.
    func get(_ key: String, via node: KeyvaldNode, stale: Bool = false) async -> String? {
        let escaped = key.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? key
        let path = "/key/\(escaped)" + (stale ? "?consistency=stale" : "")
        guard let response = await request(node, "GET", path), response.status == 200,
            let object = try? JSONDecoder().decode([String: String].self, from: Data(response.body))
        else { return nil }
        return object[key]
    }

    /// The node every running node in `nodes` agrees leads, once they do.
    func agreedLeader(among nodes: [KeyvaldNode], timeout: Duration = .seconds(15)) async -> KeyvaldNode? {
        var found: KeyvaldNode?
        _ = await eventually(timeout: timeout) {
            var leaders: Set<String> = []
            for node in nodes {
                guard let status = await status(node), let leader = status.leader else { return false }
                leaders.insert(leader.id)
            }
            guard leaders.count == 1, let id = leaders.first,
                let leader = nodes.first(where: { $0.id == id }),
                await status(leader)?.role == "leader"
            else { return false }
            found = leader
            return true
        }
        return found
    }

    func shutdown() async { await client.shutdown() }
}

/// A cluster of `keyvald` processes in a temporary directory, stopped (SIGKILL) at the end.
final class KeyvaldCluster: @unchecked Sendable {
    // @unchecked: a test drives its cluster from one task at a time.
    let root: String
    let nodes: [KeyvaldNode]
    let api = KeyvaldAPI()

    init(size: Int) throws {
        let root = try makeTemporaryDirectory(prefix: "keyvald-test")
        self.root = root
        nodes = try (0..<size).map { try KeyvaldNode(id: "node\($0)", root: root) }
    }

    /// node0 bootstraps; the others (the first `only` nodes, or all) join through it.
    func startAll(only count: Int? = nil, extra: [String] = []) async throws {
        let started = Array(nodes.prefix(count ?? nodes.count))
        try started[0].start(extra: extra)
        for node in started.dropFirst() { try node.start(join: started[0], extra: extra) }
        let exited = { started.filter { $0.process?.isRunning == false }.map(\.id) }
        let joined = await eventually(timeout: .seconds(30)) {
            if !exited().isEmpty { return true }  // no use waiting: say so now
            guard let status = await api.status(started[0]) else { return false }
            return status.members.count == started.count && status.members.allSatisfy(\.voter)
        }
        try #require(exited().isEmpty, "\(exited()) exited while the cluster formed:\n\(logs)")
        try #require(joined, "the cluster did not form:\n\(logs)")
        // The last to join may not have heard from the leader yet: until it has, it answers 503.
        _ = try #require(
            await api.agreedLeader(among: started), "the nodes do not agree on a leader:\n\(logs)")
    }

    var logs: String { nodes.map(\.logs).joined(separator: "\n") }

    func stop() async {
        for node in nodes { await node.kill9() }
        await api.shutdown()
        try? FileManager.default.removeItem(atPath: root)
    }
}
