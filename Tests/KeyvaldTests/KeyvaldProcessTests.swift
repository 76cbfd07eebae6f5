import Foundation
import KeyValClient
import Synchronization
import TestSupport
import Testing

/// Real `keyvald` processes on loopback ports, killed with SIGKILL; every wait is bounded.
@Suite("keyvald processes", .serialized, .timeLimit(.minutes(3)))
struct KeyvaldProcessTests {
    @Test("a single node bootstraps, serves writes and reads, and keeps them across a graceful restart")
    func singleNode() async throws {
        let cluster = try KeyvaldCluster(size: 1)
        let node = cluster.nodes[0]
        let api = cluster.api
        try node.start(bareAddresses: true)  // `-haddr :port` means localhost, as in the example
        let led = await eventually { await api.status(node)?.role == "leader" }
        try #require(led, "node0 never led:\n\(cluster.logs)")
        #expect(await api.status(node)?.members.first?.raddr == "localhost:\(node.raftPort)")
        #expect(await api.set("user1", "batman", via: node))
        #expect(await api.get("user1", via: node) == "batman")
        let clusterID = await api.status(node)?.clusterID

        #expect(await node.terminate() == .exit(0), "SIGTERM is a clean exit:\n\(cluster.logs)")
        try node.start(join: node)  // -join is ignored once there is state
        let back = await eventually { await api.get("user1", via: node) == "batman" }
        #expect(back, "the write did not survive the restart:\n\(cluster.logs)")
        #expect(await api.status(node)?.clusterID == clusterID)
        #expect(node.logs.contains("ignoring -join"))
        await cluster.stop()
    }

    @Test("-inmem serves like a durable node but writes no Raft state to the data directory")
    func inMemory() async throws {
        let cluster = try KeyvaldCluster(size: 1)
        let node = cluster.nodes[0]
        let api = cluster.api
        try node.start(extra: ["-inmem"])
        let led = await eventually { await api.status(node)?.role == "leader" }
        try #require(led, "node0 never led:\n\(cluster.logs)")
        #expect(await api.set("k", "v", via: node))
        #expect(await api.get("k", via: node) == "v")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: node.dataDirectory)) ?? []
        #expect(files.isEmpty, "-inmem wrote \(files)")
        #expect(await node.terminate() == .exit(0))
        await cluster.stop()
    }

    @Test("a leader cut off from its followers answers a write 503 after -write-timeout, and recovers")
    func writeTimeout() async throws {
        let cluster = try KeyvaldCluster(size: 3)
        let api = cluster.api
        // A long election timeout keeps the leader leading (check-quorum would otherwise make it
        // step down after one) while the write waits.
        try await cluster.startAll(extra: ["-write-timeout", "1s", "-election-timeout", "3s"])
        let leader = try #require(await api.agreedLeader(among: cluster.nodes), "\(cluster.logs)")
        let followers = cluster.nodes.filter { $0 !== leader }
        for follower in followers { follower.process?.signal(SIGSTOP) }
        let started = ContinuousClock.now
        let response = await api.request(
            leader, "POST", "/key", body: #"{"cut":"off"}"#, timeout: .seconds(10))
        let waited = ContinuousClock.now - started
        #expect(response?.status == 503, "\(response.map { "\($0.status) \($0.bodyText)" } ?? "no answer")")
        #expect(waited >= .milliseconds(900) && waited < .seconds(5), "answered after \(waited)")
        for follower in followers { follower.process?.signal(SIGCONT) }
        // The cluster comes back and takes writes again.
        let writes = await eventually(timeout: .seconds(15)) {
            await api.set("after", "ok", via: followers[0])
        }
        #expect(writes, "\(cluster.logs)")
        await cluster.stop()
    }

    @Test(
        "bad input is a one-line error and exit code 2",
        arguments: [
            ([], "Missing expected argument"),
            (["-haddr", "nonsense", "DATA"], "-haddr nonsense"),
            (["-raddr", "localhost:99999", "DATA"], "-raddr localhost:99999"),
            (["-hadr", "x", "DATA"], "Unknown option '-hadr'"),
            (["-election-timeout", "fast", "DATA"], "-election-timeout fast"),
            (["-heartbeat-interval", "1s", "DATA"], "-heartbeat-interval 1s"),
        ])
    func badFlags(arguments: [String], message: String) async throws {
        let root = try makeTemporaryDirectory(prefix: "keyvald-flags")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let process = try ChildProcess(
            try locateExecutable(named: "keyvald"), arguments.map { $0 == "DATA" ? root + "/data" : $0 },
            logPrefix: root + "/run")
        #expect(await process.wait() == .exit(2))
        let lines = process.errorOutput.split(separator: "\n")
        #expect(lines.count == 1, "\(process.errorOutput)")
        #expect(process.errorOutput.contains(message), "\(process.errorOutput)")
        #expect(
            !FileManager.default.fileExists(atPath: root + "/data/raft.db"), "nothing written on bad flags")
    }

    @Test("a port in use is a one-line error, exit code 2, and leaves no state behind")
    func portInUse() async throws {
        let cluster = try KeyvaldCluster(size: 2)
        let (first, second) = (cluster.nodes[0], cluster.nodes[1])
        try first.start()
        let up = await eventually { await cluster.api.status(first) != nil }
        try #require(up, "\(cluster.logs)")
        let process = try ChildProcess(
            try locateExecutable(named: "keyvald"),
            [
                "-id", "node1", "-haddr", first.httpAddress, "-raddr", second.raftAddress,
                second.dataDirectory,
            ],
            logPrefix: cluster.root + "/clash")
        #expect(await process.wait() == .exit(2))
        #expect(
            process.errorOutput == "keyvald: port \(first.httpPort) is already in use (HTTP)\n",
            "\(process.errorOutput)")
        #expect(!FileManager.default.fileExists(atPath: second.dataDirectory + "/keyvald.json"))
        await cluster.stop()
    }

    @Test(
        "three nodes: writes through every node, the leader killed, a new one elected, nothing acknowledged lost"
    )
    func failover() async throws {
        let cluster = try KeyvaldCluster(size: 3)
        let api = cluster.api
        try await cluster.startAll()
        // Joined as learners, promoted once caught up: /status says so.
        let committed = await eventually {
            await api.status(cluster.nodes[2])?.configurationCommitted == true
        }
        #expect(committed, "node2 learns that the last promotion committed")
        let status = try #require(await api.status(cluster.nodes[2]))
        #expect(status.voters == ["node0", "node1", "node2"] && status.learners.isEmpty)
        #expect(status.configurationIndex > 1)
        #expect(status.members.allSatisfy { !$0.promoting })
        #expect(cluster.nodes[0].logs.contains("node2 joined as a learner"), "\(cluster.logs)")
        #expect(cluster.nodes[0].logs.contains("node2 is now a voter"), "\(cluster.logs)")

        // Every node accepts writes: followers forward them to the leader.
        var acknowledged: [String: String] = [:]
        for (k, node) in cluster.nodes.enumerated() {
            let key = "through-\(node.id)"
            let written = await api.set(key, "v\(k)", via: node)
            #expect(written, "write through \(node.id) failed:\n\(cluster.logs)")
            if written { acknowledged[key] = "v\(k)" }
        }

        // A writer keeps going through any live node while the leader dies.
        let oldLeader = try #require(await api.agreedLeader(among: cluster.nodes), "\(cluster.logs)")
        let survivors = cluster.nodes.filter { $0 !== oldLeader }
        let writer = Task {
            var written: [String: String] = [:]
            for k in 0..<60 {
                let key = "during-\(k)"
                for attempt in 0..<50 {
                    if await api.set(key, "w\(k)", via: survivors[(k + attempt) % survivors.count]) {
                        written[key] = "w\(k)"
                        break
                    }
                    try? await Task.sleep(for: .milliseconds(20))
                }
            }
            return written
        }
        try await Task.sleep(for: .milliseconds(200))
        await oldLeader.kill9()
        let newLeader = try #require(
            await api.agreedLeader(among: survivors), "no new leader after the kill:\n\(cluster.logs)")
        #expect(newLeader !== oldLeader)
        acknowledged.merge(await writer.value) { $1 }
        #expect(acknowledged.count == 63, "every write eventually succeeded through a survivor")

        // The killed node comes back with its data and catches up with everything it missed.
        try oldLeader.start()
        let caughtUp = await eventually(timeout: .seconds(20)) {
            guard let leader = await api.status(newLeader), let back = await api.status(oldLeader) else {
                return false
            }
            return back.appliedIndex >= leader.commitIndex && back.leader?.id == newLeader.id
        }
        #expect(caughtUp, "the restarted node did not catch up:\n\(cluster.logs)")
        for node in cluster.nodes {
            for (key, value) in acknowledged.sorted(by: { $0.key < $1.key }) {
                let local = await api.get(key, via: node, stale: true)
                #expect(local == value, "\(node.id) has \(key)=\(local ?? "nil"), expected \(value)")
            }
        }

        // A whole-cluster restart loses nothing either.
        for node in cluster.nodes { await node.terminate() }
        for node in cluster.nodes { try node.start() }
        _ = try #require(
            await api.agreedLeader(among: cluster.nodes), "no leader after restart:\n\(cluster.logs)")
        for (key, value) in acknowledged.sorted(by: { $0.key < $1.key }) {
            let read = await api.get(key, via: cluster.nodes[key.count % 3])
            #expect(read == value, "after a full restart \(key)=\(read ?? "nil"), expected \(value)")
        }
        await cluster.stop()
    }

    @Test(
        "joining again with the same id and addresses changes nothing; a node restarted elsewhere is updated")
    func rejoinAndMove() async throws {
        let cluster = try KeyvaldCluster(size: 3)
        let api = cluster.api
        try await cluster.startAll()
        let moved = cluster.nodes[2]
        let before = try #require(await api.status(cluster.nodes[0]))

        // The same join again (what a restarted node's -join would send) is a no-op.
        let again = #"{"id":"node2","addr":"\#(moved.raftAddress)","haddr":"\#(moved.httpAddress)"}"#
        #expect(await api.request(cluster.nodes[1], "POST", "/join", body: again)?.status == 200)
        #expect(await api.status(cluster.nodes[0])?.configurationIndex == before.configurationIndex)

        // node2 comes back on other ports with its data: the configuration follows it.
        await moved.terminate()
        try moved.move()
        try moved.start()
        let updated = await eventually(timeout: .seconds(20)) {
            await api.status(cluster.nodes[0])?.members.first { $0.id == "node2" }?.raddr == moved.raftAddress
        }
        #expect(updated, "\(cluster.logs)")
        #expect(await api.set("after-move", "here", via: cluster.nodes[0]))
        let replicated = await eventually(timeout: .seconds(10)) {
            await api.get("after-move", via: moved, stale: true) == "here"
        }
        #expect(replicated, "the moved node gets new entries at its new address:\n\(cluster.logs)")
        await cluster.stop()
    }

    @Test("a node of another cluster is refused on both sides and joins nothing")
    func otherCluster() async throws {
        let first = try KeyvaldCluster(size: 1)
        let second = try KeyvaldCluster(size: 1)
        let (a, b) = (first.nodes[0], second.nodes[0])
        try a.start()
        try b.start()
        for (cluster, node) in [(first, a), (second, b)] {
            let led = await eventually { await cluster.api.status(node)?.role == "leader" }
            try #require(led, "\(cluster.logs)")
        }
        let theirs = try #require(await second.api.status(b)?.clusterID)
        let ours = try #require(await first.api.status(a)?.clusterID)

        // The cluster's side: a join request naming another cluster is refused.
        let body = #"{"id":"intruder","addr":"127.0.0.1:1","cluster_id":"\#(theirs)"}"#
        let refused = await first.api.request(a, "POST", "/join", body: body)
        #expect(refused?.status == 400)
        #expect(refused?.bodyText.contains("belongs to cluster \(theirs)") == true)
        #expect(await first.api.status(a)?.members.count == 1)

        // The node's side: restarted with -join pointing at the other cluster, it refuses to start.
        await b.terminate()
        try b.start(join: a)
        #expect(await b.process?.wait() == .exit(2))
        let error = b.process?.errorOutput ?? ""
        #expect(error.contains("belongs to cluster \(theirs)") && error.contains(ours), "\(error)")
        #expect(await first.api.status(a)?.members.count == 1)
        await first.stop()
        await second.stop()
    }

    @Test("removing a voter that would leave too few voters up is refused unless forced")
    func removalGuard() async throws {
        let cluster = try KeyvaldCluster(size: 3)
        let api = cluster.api
        try await cluster.startAll()
        let leader = try #require(await api.agreedLeader(among: cluster.nodes), "\(cluster.logs)")
        let (down, other) = {
            let followers = cluster.nodes.filter { $0 !== leader }
            return (followers[0], followers[1])
        }()
        #expect(await api.status(leader)?.members.allSatisfy { $0.reachable == true } == true)
        await down.kill9()
        // The leader notices within an election timeout that `down` stopped answering.
        let noticed = await eventually(timeout: .seconds(5)) {
            await api.status(leader)?.members.first { $0.id == down.id }?.reachable == false
        }
        #expect(noticed, "\(cluster.logs)")
        let refused = await api.request(other, "DELETE", "/join/\(other.id)")
        #expect(refused?.status == 400)
        #expect(refused?.bodyText.contains("writes need 2") == true, "\(refused?.bodyText ?? "")")
        #expect(await api.status(leader)?.voters.count == 3, "nothing removed")
        // Removing the node that is down is fine: {leader, other} are both up.
        #expect(await api.request(other, "DELETE", "/join/\(down.id)")?.status == 200)
        #expect(await api.status(leader)?.voters.count == 2)
        await cluster.stop()
    }

    @Test(
        "POST /leader hands leadership over under load without a failed write; SIGTERM on a leader hands over too"
    )
    func leadershipTransfer() async throws {
        let cluster = try KeyvaldCluster(size: 3)
        let api = cluster.api
        // A long election timeout: an election would take seconds, a transfer takes milliseconds.
        try await cluster.startAll(extra: ["-election-timeout", "2s", "-heartbeat-interval", "100ms"])
        let first = try #require(await api.agreedLeader(among: cluster.nodes), "\(cluster.logs)")
        let target = cluster.nodes.first { $0 !== first }!

        // Writers through every node, each write tried once: a transfer must not fail any.
        let stop = ManagedAtomicFlag()
        let writers = (0..<3).map { w in
            Task {
                var failures: [String] = []
                var written = 0
                while !stop.isSet {
                    let node = cluster.nodes[(w + written) % 3]
                    let body = #"{"w\#(w)-\#(written)":"x"}"#
                    let response = await api.request(node, "POST", "/key", body: body)
                    if response?.status != 200 {
                        failures.append(
                            "\(node.id): \(response.map { "\($0.status) \($0.bodyText)" } ?? "no answer")")
                    }
                    written += 1
                }
                return (written, failures)
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        let answer = await api.request(first, "POST", "/leader", body: #"{"id":"\#(target.id)"}"#)
        #expect(answer?.status == 200, "\(answer?.bodyText ?? "no answer")")
        #expect(answer?.bodyText == #"{"leader":"\#(target.id)"}"#)
        try await Task.sleep(for: .milliseconds(300))
        stop.set()
        var total = 0
        for writer in writers {
            let (written, failures) = await writer.value
            total += written
            #expect(failures.isEmpty, "failed writes during the transfer: \(failures)")
        }
        #expect(total > 10, "the writers made progress (\(total) writes)")
        #expect(await api.agreedLeader(among: cluster.nodes) === target)

        // A leader told to stop hands over first: the others have a leader at once, not after an
        // election timeout (use a long one to tell the two apart).
        let started = ContinuousClock.now
        await target.terminate()
        let survivors = cluster.nodes.filter { $0 !== target }
        let next = await api.agreedLeader(among: survivors, timeout: .seconds(10))
        #expect(next != nil)
        #expect(target.logs.contains("handed leadership to"), "\(target.logs)")
        #expect(ContinuousClock.now - started < .milliseconds(1500), "an election, not a handover?")
        await cluster.stop()
    }
}

/// A flag one task sets and others read.
final class ManagedAtomicFlag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
