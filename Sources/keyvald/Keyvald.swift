import ArgumentParser
import Foundation

/// `keyvald [options] <data-dir>`: one keyval node, flags as in the hashicorp/raft "hraftd" example
/// (single-dash long names), plus what an operator needs to tune.
struct Keyvald: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keyvald",
        abstract: "A node of a keyval cluster: a replicated, strongly consistent key-value store.",
        discussion: """
            With no state in <data-dir> and no -join, the node bootstraps a one-node cluster. With \
            -join it asks that node (any member) to add it. A node restarted with state in \
            <data-dir> rejoins its cluster with it and ignores -join.
            """,
        // Not -h: a typo like `-hadr` must be an error, not a request for help.
        helpNames: [.long, .customLong("help", withSingleDash: true)]
    )

    @Option(name: .customLong("id", withSingleDash: true), help: "Node ID (defaults to the Raft address).")
    var id: String?

    @Option(
        name: .customLong("haddr", withSingleDash: true),
        help: "HTTP bind address: host:port, or :port for localhost.")
    var httpAddress = "localhost:11000"

    @Option(
        name: .customLong("raddr", withSingleDash: true),
        help: "Raft bind address: host:port, or :port for localhost. Also what peers dial.")
    var raftAddress = "localhost:12000"

    @Option(
        name: .customLong("join", withSingleDash: true),
        help: "HTTP address of any cluster member to join (ignored when <data-dir> has state).")
    var join: String?

    @Flag(
        name: .customLong("inmem", withSingleDash: true),
        help: "Keep the Raft log and snapshots in memory: nothing survives a restart (for tests).")
    var inMemory = false

    @Option(
        name: .customLong("election-timeout", withSingleDash: true),
        help: "Minimum time without a leader before a follower stands for election (e.g. 250ms, 1s).")
    var electionTimeout = "200ms"

    @Option(
        name: .customLong("heartbeat-interval", withSingleDash: true),
        help: "How often the leader sends heartbeats; well below the election timeout.")
    var heartbeatInterval = "50ms"

    @Option(
        name: .customLong("write-timeout", withSingleDash: true),
        help: "How long a write or membership change may wait to commit before the client gets 503.")
    var writeTimeout = "10s"

    @Option(
        name: .customLong("snapshot-threshold", withSingleDash: true),
        help: "Take a snapshot and compact the log after this many entries (0: never).")
    var snapshotThreshold = 10_000

    @Option(
        name: .customLong("log-level", withSingleDash: true),
        help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    @Argument(help: "Directory for the node's data (created if missing).")
    var dataDirectory: String
}

@main
enum Main {
    static func main() async {
        let command: Keyvald
        do {
            command = try Keyvald.parse()
        } catch {
            if Keyvald.exitCode(for: error) == .success {
                print(Keyvald.fullMessage(for: error))
                exit(0)
            }
            let message =
                Keyvald.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            fail("\(message) (keyvald -help shows the options)", code: 2)
        }
        do {
            let daemon = try Daemon(command)
            try await daemon.run()
            StartupLog.open()
        } catch let error as DaemonError {
            fail(error.description, code: error.exitCode)
        } catch {
            fail("\(error)", code: 1)
        }
    }

    /// The one line a failed start prints (after a start, the log said what led to it). Errors
    /// of other layers may span lines (a decoder's debug description); they are joined.
    static func fail(_ message: String, code: Int32) -> Never {
        StartupLog.discard()
        let line = message.split(whereSeparator: \.isNewline).joined(separator: " ")
        FileHandle.standardError.write(Data("keyvald: \(line)\n".utf8))
        exit(code)
    }
}
