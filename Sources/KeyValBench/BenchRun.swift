import Histogram
import KeyValClient
import RaftCore

/// One run: sessions over one shared HTTP client, preparation (plain keys written once if the
/// workload reads them; the counters' sum read if it increments them), the clients and the
/// progress lines until the deadline, then the check and the summary.
package struct BenchRun: Sendable {
    package let configuration: BenchConfiguration

    package init(configuration: BenchConfiguration) { self.configuration = configuration }

    /// Runs and prints; returns the exit code.
    package func run() async -> Int32 {
        let c = configuration
        let live = c.json ? LineWriter.standardError : LineWriter.standardOutput
        // Every client may end up on one node after failovers: keep a connection per client there.
        let http = HTTPClient(maxIdleConnectionsPerHost: max(16, c.clients))
        let options = KeyValSession.Options(
            attemptTimeout: min(.seconds(2), c.timeout), operationTimeout: c.timeout)
        // Client i's node is node i mod n (its reads go there; its writes go to the leader once it
        // knows it), and it fails over to the others in the order listed.
        let sessions = (0..<c.clients).map { index in
            let first = index % c.nodes.count
            return KeyValSession(
                seeds: Array(c.nodes[first...] + c.nodes[..<first]), httpClient: http, options: options)
        }
        live.write(
            "keyval-bench: \(c.description); nodes \(c.nodes.map(\.description).joined(separator: ",")); seed \(c.seed)"
        )
        let code = await measure(sessions: sessions, live: live)
        await http.shutdown()
        return code
    }

    private func measure(sessions: [KeyValSession], live: LineWriter) async -> Int32 {
        let c = configuration
        let keys = KeySpace(prefix: c.prefix, keys: c.keys, workload: c.workload, valueSize: c.valueSize)
        let clock = ContinuousClock()

        if c.workload.includes(.read) {
            let started = clock.now
            let value = keys.value
            let written = await Self.forEachKey(keys.plainKeys, sessions: sessions) {
                (session, key) throws(KeyValClientError) in
                _ = try await session.set(key, value)
                return 0
            }
            if case .failure(let failure) = written {
                LineWriter.standardError.write(
                    "keyval-bench: cannot write the keys before the run: \(failure)")
                return 1
            }
            live.write(
                "wrote \(keys.plainKeys.count) keys to read in \(fixed((clock.now - started).seconds, 2)) s")
        }
        var initialSum: UInt64 = 0
        if c.workload.includes(.cas) {
            let started = clock.now
            switch await Self.sumCounters(keys.counterKeys, sessions: sessions) {
            case .success(let sum): initialSum = sum
            case .failure(let failure):
                LineWriter.standardError.write(
                    "keyval-bench: cannot read the counters before the run: \(failure)")
                return 1
            }
            live.write(
                "counters before the run: sum \(initialSum) (\(keys.counterKeys.count) read in \(fixed((clock.now - started).seconds, 2)) s)"
            )
        }

        let stop = StopFlag()
        let interrupts = InterruptWatch(stop: stop, live: live)
        defer { interrupts.cancel() }
        let shards = (0..<min(c.clients, 8)).map { _ in LoadShard() }
        var seeds = SplitMix64(seed: c.seed)
        let clients = sessions.enumerated().map { index, session in
            LoadClient(
                session: session, shard: shards[index % shards.count], keys: keys, workload: c.workload,
                stale: c.stale, random: SplitMix64(seed: seeds.next()))
        }

        let start = clock.now
        let deadline = start + c.duration
        let reporter = Task {
            await Self.report(shards: shards, start: start, deadline: deadline, live: live)
        }
        let increments = await withTaskGroup(of: Increments.self) { group in
            for client in clients {
                group.addTask {
                    var client = client
                    return await client.run(until: deadline, stop: stop)
                }
            }
            return await group.reduce(Increments(), +)
        }
        let finished = clock.now
        // Without an interrupt the reporter's last second is already due: let it print it.
        if stop.isSet { reporter.cancel() }
        let seconds = await reporter.value

        var check: CounterCheck?
        if c.workload.includes(.cas) {
            switch await Self.sumCounters(keys.counterKeys, sessions: sessions) {
            case .success(let sum):
                check = CounterCheck(increments: increments, initialSum: initialSum, finalSum: sum)
            case .failure(let failure):
                check = CounterCheck(
                    increments: increments, initialSum: initialSum, readFailure: "\(failure)")
            }
        }

        var tally = Tally()
        var readLatency = LoadShard.makeHistogram()
        var writeLatency = LoadShard.makeHistogram()
        var errors = ErrorTally()
        for shard in shards {
            let state = shard.final()
            tally = tally + state.tally
            readLatency.add(state.readLatency)
            writeLatency.add(state.writeLatency)
            errors.add(state.errors)
        }
        var allLatency = readLatency
        allLatency.add(writeLatency)
        let end = min(deadline, stop.instant ?? deadline)
        let report = BenchReport(
            configuration: c, measured: end - start, elapsed: finished - start, interrupted: stop.isSet,
            tally: tally, latency: LatencySummary(allLatency), readLatency: LatencySummary(readLatency),
            writeLatency: LatencySummary(writeLatency), errors: errors, check: check, seconds: seconds)
        live.write(report.text)
        if c.json { LineWriter.standardOutput.write(report.json) }
        if tally.ops == 0 { LineWriter.standardError.write("keyval-bench: no operation succeeded") }
        return report.exitCode
    }

    /// Prints a progress line at each whole second of the run, until the deadline or cancellation,
    /// and returns them.
    private static func report(
        shards: [LoadShard], start: ContinuousClock.Instant, deadline: ContinuousClock.Instant,
        live: LineWriter
    ) async -> [ProgressLine] {
        var lines: [ProgressLine] = []
        var previous = Tally()
        var second = 1
        while start + .seconds(second) <= deadline {
            do {
                try await Task.sleep(until: start + .seconds(second), clock: .continuous)
            } catch {
                break
            }
            var total = Tally()
            var maximum: UInt64 = 0
            for shard in shards {
                let progress = shard.progress()
                total = total + progress.tally
                maximum = max(maximum, progress.secondMaximum)
            }
            let line = ProgressLine(
                second: second, tally: total - previous, maxMilliseconds: Double(maximum) / 1_000)
            live.write(line.text)
            lines.append(line)
            previous = total
            second += 1
        }
        return lines
    }

    /// A key whose operation failed before or after the run.
    struct KeyFailure: Error, CustomStringConvertible {
        var key: String
        var error: KeyValClientError
        var description: String { "\(key): \(error)" }
    }

    /// The counters' sum (wrapping), read linearizably whatever `--stale` says.
    private static func sumCounters(_ keys: [String], sessions: [KeyValSession]) async -> Result<
        UInt64, KeyFailure
    > {
        await forEachKey(keys, sessions: sessions) { (session, key) throws(KeyValClientError) in
            KeySpace.counterValue(try await session.get(key)?.value)
        }
    }

    /// Runs `body` for every key, the keys spread over the sessions (each works through its share
    /// one at a time); the wrapping sum of the results, or the first failure.
    private static func forEachKey(
        _ keys: [String], sessions: [KeyValSession],
        _ body: @escaping @Sendable (KeyValSession, String) async throws(KeyValClientError) -> UInt64
    ) async -> Result<UInt64, KeyFailure> {
        await withTaskGroup(of: Result<UInt64, KeyFailure>.self) { group in
            for (index, session) in sessions.enumerated() where index < keys.count {
                group.addTask {
                    var sum: UInt64 = 0
                    for position in stride(from: index, to: keys.count, by: sessions.count) {
                        do throws(KeyValClientError) {
                            sum &+= try await body(session, keys[position])
                        } catch {
                            return .failure(KeyFailure(key: keys[position], error: error))
                        }
                    }
                    return .success(sum)
                }
            }
            var total: UInt64 = 0
            var failure: KeyFailure?
            for await result in group {
                switch result {
                case .success(let sum): total &+= sum
                case .failure(let error): failure = failure ?? error
                }
            }
            return failure.map { .failure($0) } ?? .success(total)
        }
    }
}
