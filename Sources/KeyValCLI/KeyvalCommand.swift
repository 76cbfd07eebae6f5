import ArgumentParser
import KeyValClient

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `keyval [-H host] [-P port] [--nodes a:p,b:p] [command …]`: the command-line client.
public struct KeyvalCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "keyval",
        abstract: "The keyval command-line client: a REPL that follows the cluster through failures.",
        discussion: """
            With no command it opens a REPL on the node (type HELP there); with stdin not a \
            terminal it reads commands line by line and prints answers only. With a command \
            (get KEY, set KEY VALUE, delete KEY, cas KEY VERSION VALUE, status, nodes) it runs it \
            and exits: 0 done, 1 not found or version conflict, 2 usage error, 3 failure (no node \
            reachable, refused, outcome unknown).
            """)

    @Option(name: .customShort("H"), help: "Host of the node to connect to.")
    var host = "127.0.0.1"

    @Option(name: .customShort("P"), help: "HTTP port of the node to connect to.")
    var port = 11000

    @Option(help: "More nodes to try when the first does not answer: host:port,host:port.")
    var nodes: String?

    @Option(help: "Seconds an operation may take, retries on other nodes included.")
    var timeout: Double = 10

    @Flag(help: "Read from the node's own copy (may lag the leader) instead of a linearizable read.")
    var stale = false

    @Argument(parsing: .captureForPassthrough, help: "A command to run instead of the REPL.")
    var command: [String] = []

    public init() {}

    public mutating func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("-P must be a port from 1 to 65535") }
        guard timeout > 0, timeout <= 3600 else {
            throw ValidationError("--timeout must be more than 0 and at most 3600 seconds")
        }
        _ = try seeds()
        if !command.isEmpty {
            do {
                _ = try Command.parse(arguments: command)
            } catch {
                throw ValidationError(error.message)
            }
        }
    }

    /// Parses the flags and runs. Exit codes: 0 done, 1 not found or conflict (one-shot), 2 a
    /// usage error (one line on stderr, as `keyvald` does), 3 a failed command.
    public static func runAsMain() async -> Never {
        let command: KeyvalCommand
        do {
            command = try parse()
        } catch {
            if exitCode(for: error) == .success {
                print(fullMessage(for: error))
                exitProcess(0)
            }
            Console.writeError("keyval: \(self.message(for: error))")
            exitProcess(2)
        }
        do {
            try await command.execute()
            exitProcess(0)
        } catch let code as ExitCode {
            exitProcess(code.rawValue)
        } catch {
            Console.writeError("keyval: \(error)")
            exitProcess(3)
        }
    }

    /// The node from -H/-P first, then --nodes, without repeats.
    func seeds() throws -> [ServerAddress] {
        guard let first = ServerAddress("\(host.contains(":") ? "[\(host)]" : host):\(port)") else {
            throw ValidationError("-H \(host) is not a host name or address")
        }
        var seeds = [first]
        do {
            // The node of -H/-P may be listed again; it is tried once.
            for address in try nodes.map(ServerAddress.list) ?? [] where !seeds.contains(address) {
                seeds.append(address)
            }
        } catch {
            throw ValidationError("--nodes: \(error)")
        }
        return seeds
    }

    func execute() async throws {
        // Checked in validate().
        let oneShot = command.isEmpty ? nil : try? Command.parse(arguments: command)
        let interactive = oneShot == nil && Console.standardStreamsAreTerminal
        let console = Console(
            interactive: interactive, quiet: oneShot != nil, historyFile: Self.historyFile())
        let attempt = min(Duration.seconds(2), .seconds(timeout))
        let shell = Shell(
            seeds: try seeds(),
            options: KeyValSession.Options(attemptTimeout: attempt, operationTimeout: .seconds(timeout)),
            console: console, staleReads: stale)
        let status: Shell.Status =
            if let oneShot {
                await shell.once(oneShot)
            } else if interactive {
                await shell.interactive()
            } else {
                await shell.script()
            }
        if status != .success { throw ExitCode(status.rawValue) }
    }

    /// `$KEYVAL_HISTORY` (empty: none), else `~/.keyval_history`.
    private static func historyFile() -> String? {
        if let path = getenv("KEYVAL_HISTORY").map({ String(cString: $0) }) {
            return path.isEmpty ? nil : path
        }
        return getenv("HOME").map { String(cString: $0) + "/.keyval_history" }
    }
}

/// At file scope, so it names the C function and not `ParsableCommand.exit`.
private func exitProcess(_ status: Int32) -> Never { exit(status) }
