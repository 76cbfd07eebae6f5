import Foundation
import KeyValClient
import TestSupport
import Testing

/// A keyvald that cannot start says why in exactly one line on stderr, with its exit code, and
/// nothing else (no log lines of the steps that went well before it).
@Suite("keyvald startup errors", .serialized, .timeLimit(.minutes(3)))
struct StartupErrorTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        /// Prepares the data directory (which does not exist yet) under `root`.
        var prepare: @Sendable (_ data: String) throws -> Void
        var exitCode: Int32
        var message: String
        var testDescription: String { name }
    }

    @Test(
        "a bad data directory is one line on stderr and exit code 2",
        arguments: [
            Case(
                name: "not a directory", prepare: { try Data().write(to: URL(fileURLWithPath: $0)) },
                exitCode: 2, message: "is not a directory"),
            Case(
                name: "damaged keyvald.json",
                prepare: { data in
                    try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
                    try Data("{\n not json".utf8).write(to: URL(fileURLWithPath: data + "/keyvald.json"))
                }, exitCode: 2, message: "keyvald.json is damaged"),
            Case(
                name: "damaged raft.db",
                prepare: { data in
                    try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
                    try Data(repeating: 0x5A, count: 5000).write(to: URL(fileURLWithPath: data + "/raft.db"))
                }, exitCode: 2, message: "raft.db"),
            Case(
                name: "unreadable raft.db (a directory)",
                prepare: { data in
                    try FileManager.default.createDirectory(
                        atPath: data + "/raft.db", withIntermediateDirectories: true)
                }, exitCode: 2, message: "raft.db"),
        ])
    func badDataDirectory(_ c: Case) async throws {
        let root = try makeTemporaryDirectory(prefix: "keyvald-startup")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try c.prepare(root + "/data")
        let process = try ChildProcess(
            try locateExecutable(named: "keyvald"),
            [
                "-haddr", "127.0.0.1:\(try freeLoopbackPort())", "-raddr",
                "127.0.0.1:\(try freeLoopbackPort())",
                root + "/data",
            ], logPrefix: root + "/run")
        #expect(await process.wait(timeout: .seconds(30)) == .exit(c.exitCode))
        expectOneLine(process.errorOutput, containing: c.message)
    }

    @Test(
        "a port in use is exactly one line naming the port and which one, exit code 2",
        arguments: ["HTTP", "Raft"])
    func portInUse(_ which: String) async throws {
        let root = try makeTemporaryDirectory(prefix: "keyvald-startup")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let taken = try SilentListener()
        let free = "127.0.0.1:\(try freeLoopbackPort())"
        let (haddr, raddr) = which == "HTTP" ? (taken.address, free) : (free, taken.address)
        let process = try ChildProcess(
            try locateExecutable(named: "keyvald"), ["-haddr", haddr, "-raddr", raddr, root + "/data"],
            logPrefix: root + "/run")
        #expect(await process.wait(timeout: .seconds(30)) == .exit(2))
        #expect(
            process.errorOutput == "keyvald: port \(taken.port) is already in use (\(which))\n",
            "\(process.errorOutput)")
        // No identity, so no bootstrap happened (an empty raft.db, opened to take its lock, holds no state).
        #expect(!FileManager.default.fileExists(atPath: root + "/data/keyvald.json"))
    }

    @Test("a join the cluster refuses is one line on stderr and exit code 1")
    func joinRefused() async throws {
        let cluster = try KeyvaldCluster(size: 2)
        let (leader, impostor) = (cluster.nodes[0], cluster.nodes[1])
        try leader.start()
        let up = await eventually { await cluster.api.status(leader)?.role == "leader" }
        try #require(up, "\(cluster.logs)")
        // Another process that calls itself node0, the leader's own id, at other addresses.
        let process = try ChildProcess(
            try locateExecutable(named: "keyvald"),
            [
                "-id", "node0", "-haddr", impostor.httpAddress, "-raddr", impostor.raftAddress, "-join",
                leader.httpAddress, impostor.dataDirectory,
            ], logPrefix: cluster.root + "/impostor")
        #expect(await process.wait(timeout: .seconds(60)) == .exit(1))
        expectOneLine(process.errorOutput, containing: "node0")
        let members = await cluster.api.status(leader)?.members ?? []
        #expect(members.map(\.raddr) == [leader.raftAddress], "\(members)")
        await cluster.stop()
    }

    private func expectOneLine(_ output: String, containing message: String) {
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 2 && lines[1].isEmpty, "one line ending in a newline: \(output)")
        #expect(output.hasPrefix("keyvald: ") && output.contains(message), "\(output)")
    }
}
