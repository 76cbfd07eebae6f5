import ArgumentParser
import KeyVal

/// `keyvald [options] <data-dir>`: one keyval node, flags as in the hashicorp/raft "hraftd" example.
@main
struct Keyvald: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keyvald",
        abstract: "A node of a keyval cluster: a replicated, strongly consistent key-value store.",
        helpNames: [.long, .customLong("help", withSingleDash: true)]
    )

    @Option(name: .customLong("id", withSingleDash: true), help: "Node ID (defaults to the Raft address).")
    var id: String?

    @Option(name: .customLong("haddr", withSingleDash: true), help: "HTTP bind address.")
    var httpAddress = "localhost:11000"

    @Option(name: .customLong("raddr", withSingleDash: true), help: "Raft bind address.")
    var raftAddress = "localhost:12000"

    @Option(
        name: .customLong("join", withSingleDash: true), help: "HTTP address of a cluster member to join.")
    var join: String?

    @Flag(name: .customLong("inmem", withSingleDash: true), help: "Keep the Raft log and state in memory.")
    var inMemory = false

    @Argument(help: "Directory for the node's data.")
    var dataDirectory: String

    func run() throws {
        // The daemon lands with the daemon issue; until then the command exists and says so.
        print("keyvald: not implemented yet (node \(id ?? raftAddress), data in \(dataDirectory))")
        throw ExitCode(1)
    }
}
