import KeyValClient
import Synchronization

/// Runs commands against a cluster through one `KeyValSession`: a REPL at a terminal, a script
/// from a pipe, or one command from the arguments.
final class Shell: Sendable {
    /// How a run ends, as the process's exit status.
    enum Status: Int32 {
        case success = 0
        /// One-shot only: the key was not found, or a compare-and-set met another version.
        case negative = 1
        /// A command could not be parsed.
        case usage = 2
        /// A command failed: no node reachable, refused, outcome unknown.
        case failure = 3
    }

    let session: KeyValSession
    let console: Console
    let staleReads: Bool
    /// The warnings last printed, by key, so each is printed when it appears, not every second.
    private let shownWarnings = Mutex<Set<String>>([])
    private let lastLeader = Mutex<String?>(nil)

    init(seeds: [ServerAddress], options: KeyValSession.Options, console: Console, staleReads: Bool) {
        self.console = console
        self.staleReads = staleReads
        self.session = KeyValSession(
            seeds: seeds, httpClient: HTTPClient(maxIdleConnectionsPerHost: 2), options: options,
            onEvent: { [console] event in
                switch event {
                case .reconnected(let node, _, let nodes, let leader):
                    console.notice(
                        Wording.reconnected(to: node, leader: leader) + "\n" + Wording.nodes(nodes))
                }
            })
    }

    // MARK: Modes

    /// The REPL: a banner with the known nodes, a heartbeat every second, commands until EXIT or
    /// the end of input.
    func interactive() async -> Status {
        let first: KeyValSession.Heartbeat
        do {
            first = try await session.heartbeat()
        } catch {
            console.error(Wording.error(error))
            return .failure
        }
        console.notice(
            Wording.connected(
                clusterID: first.node.clusterID, at: await session.current, leader: first.node.leader?.id)
                + "\n" + Wording.nodes(await session.nodes))
        lastLeader.withLock { $0 = first.node.leader?.id }
        report(first)
        let heartbeats = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                guard !Task.isCancelled else { break }
                await heartbeat()
            }
        }
        defer { heartbeats.cancel() }
        while let line = await console.readLine(prompt: "> ") {
            let command: Command?
            do {
                command = try Command.parse(line: line)
            } catch {
                console.error("Error: \(error)")
                continue
            }
            guard let command else { continue }
            if command == .exit { break }
            _ = await run(command, quoted: true)
        }
        return .success
    }

    /// Commands from a pipe, one per line, answers only. Fails (after running every line) when a
    /// line could not be parsed or a command failed; "Not found" and conflicts are answers.
    func script() async -> Status {
        var status = Status.success
        while let line = await console.readLine(prompt: "") {
            let command: Command?
            do {
                command = try Command.parse(line: line)
            } catch {
                console.error("Error: \(error)")
                status = max(status, .usage)
                continue
            }
            guard let command else { continue }
            if command == .exit { break }
            if await run(command, quoted: true) == .failure { status = .failure }
        }
        return status
    }

    /// One command from the arguments. A value is printed as it is (no quotes), for `$(keyval …)`.
    func once(_ command: Command) async -> Status {
        await run(command, quoted: false)
    }

    // MARK: Commands

    private func run(_ command: Command, quoted: Bool) async -> Status {
        do throws(KeyValClientError) {
            switch command {
            case .get(let key):
                let stored = try await session.get(key, stale: staleReads)
                if quoted || stored == nil {
                    console.answer(Wording.value(stored))
                } else if let stored {
                    console.answer(stored.value)
                }
                return stored == nil ? .negative : .success
            case .set(let key, let value):
                console.answer(Wording.write(await completed(try await session.set(key, value))))
                return .success
            case .delete(let key):
                let outcome = try await session.delete(key)
                console.answer(Wording.delete(outcome))
                return outcome == .deleted ? .success : .negative
            case .compareAndSet(let key, let version, let value):
                var outcome = try await session.compareAndSet(
                    key, expectedVersion: version == 0 ? nil : version, value: value)
                if case .written(let written) = outcome { outcome = .written(await completed(written)) }
                console.answer(Wording.compareAndSet(outcome))
                if case .conflict = outcome { return .negative }
                return .success
            case .status:
                console.answer(Wording.status(try await session.status()))
                return .success
            case .nodes:
                _ = try await session.status()
                console.answer(Wording.nodes(await session.nodes))
                return .success
            case .help:
                console.answer(Command.helpText)
                return .success
            case .exit:
                return .success
            }
        } catch {
            console.error(Wording.error(error))
            return .failure
        }
    }

    /// The write with the replica count brought up to date when the answer counted fewer than
    /// every member: the leader answers as soon as a quorum has the entry, and the others'
    /// acknowledgements are usually in a moment later. Never lower than what the answer said.
    private func completed(_ outcome: WriteOutcome) async -> WriteOutcome {
        let members = await session.nodes.filter { $0.id != nil }.count
        guard let reported = outcome.replicas, members == 0 || reported < members else { return outcome }
        var outcome = outcome
        if let counted = await session.replicaCount(holding: outcome.version) {
            outcome.replicas = max(reported, counted)
        }
        return outcome
    }

    // MARK: Heartbeat

    private func heartbeat() async {
        do {
            report(try await session.heartbeat())
        } catch {
            show([ClusterWarning(key: "unreachable", text: error.description)], leader: nil, voters: 0)
        }
    }

    /// Prints what changed since the last heartbeat: a new leader, new warnings, or all clear.
    private func report(_ heartbeat: KeyValSession.Heartbeat) {
        let leader = heartbeat.node.leader?.id
        let previous = lastLeader.withLock { last in
            defer { if leader != nil { last = leader } }
            return last
        }
        if let leader, let previous, leader != previous {
            console.notice("Leader is now \(leader)")
        }
        let warnings = ClusterHealth.warnings(
            node: heartbeat.node, leader: heartbeat.leader, answeringVoters: heartbeat.answeringVoters)
        show(warnings, leader: leader, voters: heartbeat.node.voters.count)
    }

    private func show(_ warnings: [ClusterWarning], leader: String?, voters: Int) {
        let (new, cleared) = shownWarnings.withLock { shown in
            let keys = Set(warnings.map(\.key))
            let new = warnings.filter { !shown.contains($0.key) }
            let cleared = !shown.isEmpty && keys.isEmpty
            shown = keys
            return (new, cleared)
        }
        for warning in new { console.notice(Wording.warning(warning.text)) }
        if cleared { console.notice(Wording.healthy(voters: voters, leader: leader)) }
    }
}

extension Shell.Status: Comparable {
    static func < (lhs: Shell.Status, rhs: Shell.Status) -> Bool { lhs.rawValue < rhs.rawValue }
}
