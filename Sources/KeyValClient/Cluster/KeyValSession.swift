#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One client's conversation with a cluster: it talks to one node at a time (its node, `current`),
/// sends writes straight to the leader it knows, follows the cluster when a node goes away, and
/// makes every write apply at most once however often it is retried.
///
/// - **Writes to the leader.** Reads go to the session's node, which serves them itself (a
///   follower after a ReadIndex round), so the reads of many sessions spread over the cluster. A
///   write goes to the leader the session knows, saving the hop a follower would forward it over.
///   The session learns the leader from `/status` answers and from `Keyval-Leader`, which the
///   leader sets on the writes it serves (a follower relays it with a forwarded answer); the
///   leader's address comes from `/status`, asked of the session's node once per new leader.
///   When that leader cannot be reached, or answers 503, the session forgets it and the write
///   goes on as if there were none: to the session's node, which forwards it, then the others,
///   with the same client id and sequence.
/// - **Failover.** A request that cannot reach its node (refused, reset, no answer within
///   `attemptTimeout`) is sent to the next known node: the leader first, then the others. Only when
///   every known node has failed this way does the operation fail, with `.noNodeReachable`.
/// - **Waiting out elections.** A node that answers 503 (no leader yet, or the outcome of a write
///   is not known yet) is passed over for the next one; when all have answered so, the session
///   pauses (with backoff) and starts again, until `operationTimeout`.
/// - **At-most-once writes.** Each write carries this session's client id and a sequence number
///   (`Keyval-Client-Id`, `Keyval-Sequence`); a retry reuses them, so the state machine answers a
///   write that already applied with its remembered result instead of applying it again (Raft
///   thesis §6.3). Requests are sent one at a time per session: a session is one client.
///
/// Without a known leader, writes go to a node that forwards them to the leader; the session then
/// needs to know only which nodes exist, and it learns that from every `/status` answer.
public actor KeyValSession {
    public struct Options: Sendable {
        /// How long one attempt on one node may take before that node counts as unreachable.
        public var attemptTimeout: Duration
        /// How long an operation may take in all, retries included.
        public var operationTimeout: Duration
        /// The first pause before asking again after a 503; it doubles up to `maxRetryDelay`.
        public var retryDelay: Duration
        public var maxRetryDelay: Duration

        public init(
            attemptTimeout: Duration = .seconds(2), operationTimeout: Duration = .seconds(10),
            retryDelay: Duration = .milliseconds(25), maxRetryDelay: Duration = .milliseconds(400)
        ) {
            self.attemptTimeout = attemptTimeout
            self.operationTimeout = operationTimeout
            self.retryDelay = retryDelay
            self.maxRetryDelay = maxRetryDelay
        }
    }

    /// Something the user of an interactive client wants to be told.
    public enum Event: Sendable, Equatable {
        /// The node at `from` stopped answering; the session now talks to `node`. `nodes` and
        /// `leader` are what the new node says of the cluster.
        case reconnected(to: KnownNode, from: ServerAddress, nodes: [KnownNode], leader: String?)
    }

    /// What one heartbeat learned.
    public struct Heartbeat: Sendable {
        /// The session's node's status (after a reconnect, the new node's).
        public var node: StatusReport
        /// The leader's status, when the node knows a leader and the leader answered.
        public var leader: StatusReport?
        /// When no leader is known: how many voters answered this client, the node included.
        public var answeringVoters: Int?
    }

    private let http: HTTPClient
    private let options: Options
    private let onEvent: @Sendable (Event) -> Void
    private var view: ClusterView
    /// The session's node: reads go there, and writes when no leader is known. It changes only
    /// when it stops answering.
    public private(set) var current: ServerAddress
    private var clientID: String
    private var lastSequence: UInt64 = 0
    /// The leader whose address was last asked for with `/status`: asked once per leader, so a
    /// leader without a known HTTP address does not cost every write a status request.
    private var leaderLookedUp: String?
    /// A leader address that a write could not connect to, or got no answer from in time, and
    /// until when writes do not try it first. A leader whose advertised address this client cannot
    /// reach (another network, say) would otherwise cost every write a failed attempt, up to
    /// `attemptTimeout`, since every forwarded answer names that leader again.
    private var unreachableLeader: (address: ServerAddress, until: ContinuousClock.Instant)?
    /// How long writes go to the session's node after the leader's address failed them so.
    static let unreachableLeaderPause: Duration = .seconds(10)

    /// - Parameter seeds: nodes to start from; the first is the session's node. At least one.
    public init(
        seeds: [ServerAddress], httpClient: HTTPClient, options: Options = Options(),
        onEvent: @escaping @Sendable (Event) -> Void = { _ in }
    ) {
        precondition(!seeds.isEmpty, "a session needs at least one node address")
        self.http = httpClient
        self.options = options
        self.onEvent = onEvent
        self.view = ClusterView(seeds: seeds)
        self.current = seeds[0]
        self.clientID = Self.newClientID()
    }

    /// The nodes known from the latest answers, in the cluster configuration's order, then seeds
    /// that have not answered.
    public var nodes: [KnownNode] { view.nodes }

    public var clusterID: String? { view.clusterID }
    /// Who leads, by the latest answer that said (a status, or a write's `Keyval-Leader`); nil
    /// after a write could not reach the leader, until an answer names one again.
    public var leaderID: String? { view.leaderID }
    /// The id of the session's node, once it has answered.
    public var currentID: String? { view.id(at: current) }

    // MARK: Keys

    /// The key's value and version, or nil if it does not exist. Linearizable unless `stale`, in
    /// which case the node answers from its own copy, which may lag.
    public func get(_ key: String, stale: Bool = false) async throws(KeyValClientError) -> StoredValue? {
        let path = Self.keyPath(key) + (stale ? "?consistency=stale" : "")
        let response = try await exchange(isWrite: false) { _ in HTTPClientRequest(method: "GET", path: path)
        }
        switch response.status {
        case 200:
            guard let version = Self.version(in: response),
                case .object(let members) = try Self.json(response), members.count == 1,
                case .string(let value) = members[0].value
            else {
                throw .unexpectedAnswer(
                    status: 200, message: "not a key's value: \(response.bodyText)", mayHaveApplied: false)
            }
            return StoredValue(value: value, version: version)
        case 404: return nil
        default: throw Self.failure(response, write: false)
        }
    }

    /// Writes `value` under `key` whatever is there.
    public func set(_ key: String, _ value: String) async throws(KeyValClientError) -> WriteOutcome {
        let response = try await put(key, value, condition: nil)
        guard response.status == 200 || response.status == 201 else {
            throw Self.failure(response, write: true)
        }
        return try Self.writeOutcome(response)
    }

    /// Writes `value` only if the key is at `expectedVersion`, or absent when that is nil.
    public func compareAndSet(_ key: String, expectedVersion: UInt64?, value: String)
        async throws(KeyValClientError) -> CompareAndSetOutcome
    {
        let condition = expectedVersion.map { ("If-Match", "\"\($0)\"") } ?? ("If-None-Match", "*")
        let response = try await put(key, value, condition: condition)
        switch response.status {
        case 200, 201: return .written(try Self.writeOutcome(response))
        case 412: return .conflict(currentVersion: Self.version(in: response))
        default: throw Self.failure(response, write: true)
        }
    }

    public func delete(_ key: String) async throws(KeyValClientError) -> DeleteOutcome {
        let path = Self.keyPath(key)
        let response = try await exchange(isWrite: true) { stamp in
            HTTPClientRequest(method: "DELETE", path: path, headers: stamp)
        }
        switch response.status {
        case 200, 204: return .deleted
        case 404: return .notFound
        default: throw Self.failure(response, write: true)
        }
    }

    private func put(_ key: String, _ value: String, condition: (String, String)?)
        async throws(KeyValClientError) -> HTTPClientResponse
    {
        let path = Self.keyPath(key)
        let body = Array(JSONWriter.quoted(value).utf8)
        return try await exchange(isWrite: true) { stamp in
            var headers = stamp
            headers.append(("Content-Type", "application/json"))
            if let condition { headers.append((condition.0, condition.1)) }
            return HTTPClientRequest(method: "PUT", path: path, headers: headers, body: body)
        }
    }

    // MARK: Cluster

    /// The session's node's status, failing over like any request.
    public func status() async throws(KeyValClientError) -> StatusReport {
        let response = try await exchange(isWrite: false) { _ in HTTPClientRequest(path: "/status") }
        return try absorbStatus(response, from: current)
    }

    /// Asks the session's node how it is (and, through it, the cluster), switching to another node
    /// if it does not answer within `timeout`. Throws `.noNodeReachable` when no node answers.
    public func heartbeat(timeout: Duration = .seconds(1)) async throws(KeyValClientError) -> Heartbeat {
        // A command may move the session while this waits (the actor is reentrant): remember
        // which node was asked, and fail over only from that one.
        let probed = current
        var answer = await statusOf(probed, timeout: timeout).map { (report: $0, address: probed) }
        if answer == nil, current != probed {
            answer = await statusOf(current, timeout: timeout).map { (report: $0, address: current) }
        }
        if answer == nil {
            var tried = [probed, current]
            while answer == nil, let next = view.nextCandidate(excluding: tried) {
                tried.append(next)
                if let report = await statusOf(next, timeout: timeout) {
                    answer = (report, next)
                    await switchCurrent(from: probed, to: next)
                }
            }
            guard answer != nil else {
                throw .noNodeReachable(tried: Self.unique(tried), mayHaveApplied: false)
            }
        }
        guard let node = answer?.report else {
            throw .noNodeReachable(tried: [probed], mayHaveApplied: false)
        }
        var heartbeat = Heartbeat(node: node)
        if let leader = node.leader {
            // Only a report of the leader's own says who is reachable: one that has just stepped
            // down (a handover) reports nobody reachable, which is not news.
            if leader.id != node.id, let leaderNode = view.leader,
                let report = await statusOf(leaderNode.address, timeout: timeout), report.role == "leader"
            {
                heartbeat.leader = report
            }
        } else {
            // Without a leader, count the voters that answer us: with fewer than a quorum, no
            // election can succeed and the user should know.
            let others = view.members.filter { $0.role != .learner && $0.address != current }.map(\.address)
            var answering = 1
            for address in others where await statusOf(address, timeout: timeout / 2) != nil {
                answering += 1
            }
            heartbeat.answeringVoters = answering
        }
        return heartbeat
    }

    /// How many members hold the entry at `version` by the leader's latest count, asked of the
    /// leader directly; nil if no leader is known or it does not answer. A write's answer counts
    /// the acknowledgements the leader had when it answered, usually a quorum: this is what an
    /// interactive client asks a moment later, when the rest have usually arrived too.
    public func replicaCount(holding version: UInt64, timeout: Duration = .milliseconds(500)) async -> Int? {
        if view.leader == nil { _ = await statusOf(current, timeout: timeout) }
        guard let leader = view.leader, let report = await statusOf(leader.address, timeout: timeout),
            report.role == "leader"
        else { return nil }
        return report.members.filter { ($0.matchIndex ?? 0) >= version }.count
    }

    /// `GET /status` of one node, without failover; nil if it does not answer well.
    private func statusOf(_ address: ServerAddress, timeout: Duration) async -> StatusReport? {
        guard
            let response = try? await http.execute(
                HTTPClientRequest(path: "/status"), host: address.host, port: address.port, timeout: timeout),
            response.status == 200
        else { return nil }
        return try? absorbStatus(response, from: address)
    }

    private func absorbStatus(_ response: HTTPClientResponse, from address: ServerAddress)
        throws(KeyValClientError) -> StatusReport
    {
        guard response.status == 200 else { throw Self.failure(response, write: false) }
        let report: StatusReport
        do {
            report = try JSONDecoder().decode(StatusReport.self, from: Data(response.body))
        } catch {
            throw .unexpectedAnswer(
                status: 200, message: "not a status report: \(error)", mayHaveApplied: false)
        }
        view.update(from: report, answeredAt: address)
        return report
    }

    // MARK: Sending

    /// Sends the request `make` builds (given this write's session headers, empty for reads) until
    /// a node gives an answer other than 503, following the cluster as described on the type.
    private func exchange(
        isWrite: Bool, _ make: ([(name: String, value: String)]) -> HTTPClientRequest
    ) async throws(KeyValClientError) -> HTTPClientResponse {
        let deadline = ContinuousClock.now + options.operationTimeout
        // A write goes to the leader first when the session knows where it is.
        let leader = isWrite ? await leaderAddress(before: deadline) : nil
        let start = current
        // The leader, when a write tries it before the session's node. Once it fails, the write
        // goes on as it would without a known leader: the session's node, then the others.
        var direct = leader == start ? nil : leader
        var stamp = isWrite ? nextStamp() : []
        var mayHaveApplied = false
        // Nodes that could not be reached at all in this operation (refused, reset): not tried
        // again in it.
        var unreachable: [ServerAddress] = []
        // Nodes passed over in this round: they answered 503, or not within the attempt timeout
        // (a node forwarding to a frozen leader is slow, not gone). The next attempt goes to
        // another node, so one such node does not hold the request until the deadline.
        var passedOver: [ServerAddress] = []
        var target = direct ?? start
        var delay = options.retryDelay
        var lastRefusal: String?
        var sessionRestarted = false
        // Whether the session's node failed to answer at all (a 503 is an answer): then the node
        // that does answer becomes the session's node.
        var startFailed = false
        while true {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else {
                if let lastRefusal {
                    throw .unavailable(message: lastRefusal, mayHaveApplied: mayHaveApplied)
                }
                throw .noNodeReachable(tried: unreachable, mayHaveApplied: mayHaveApplied)
            }
            let response: HTTPClientResponse
            do {
                var request = make(stamp)
                // A stamped write may reach the servers twice: the second copy is answered from
                // the session table, so the HTTP client may resend it on a fresh connection.
                if isWrite { request.isIdempotent = true }
                response = try await http.execute(
                    request, host: target.host, port: target.port,
                    timeout: min(options.attemptTimeout, remaining))
            } catch {
                switch error {
                case .connectFailed:
                    unreachable.append(target)  // never sent
                case .connectionClosed, .invalidResponse:
                    mayHaveApplied = mayHaveApplied || isWrite
                    unreachable.append(target)
                case .timedOut:
                    mayHaveApplied = mayHaveApplied || isWrite
                    lastRefusal = "\(target) did not answer within \(options.attemptTimeout)"
                    passedOver.append(target)
                case .responseTooLarge:
                    throw .unexpectedAnswer(
                        status: 0, message: error.description, mayHaveApplied: mayHaveApplied || isWrite)
                case .invalidRequest(let reason):
                    throw .rejected(status: 400, message: reason)
                case .cancelled, .shutDown:
                    throw .unavailable(message: error.description, mayHaveApplied: mayHaveApplied || isWrite)
                }
                if target == start { startFailed = true }
                if target == direct, error.isConnectFailedOrTimedOut {
                    unreachableLeader = (target, .now + Self.unreachableLeaderPause)
                }
                if let fallback = fallBack(from: target, direct: &direct, start, unreachable + passedOver) {
                    target = fallback
                    continue
                }
                guard view.nextCandidate(excluding: unreachable) != nil else {
                    throw .noNodeReachable(tried: Self.unique(unreachable), mayHaveApplied: mayHaveApplied)
                }
                target = await nextTarget(
                    excluding: unreachable, passedOver: &passedOver, delay: &delay, deadline)
                continue
            }
            if startFailed, target != start { await switchCurrent(from: start, to: target) }
            // The node that served a write names itself (relayed when forwarded): the next write
            // goes there.
            if let leaderID = response.header("Keyval-Leader"), !leaderID.isEmpty {
                view.noteLeader(leaderID)
            }
            switch response.status {
            case 503:
                // No leader yet, or a write whose outcome the node does not know yet: ask again
                // (with the same sequence, so a write that did apply is answered, not repeated).
                // Only a 503 saying `"applied": false` (neither proposed nor forwarded) proves
                // this attempt changed nothing.
                lastRefusal = Self.message(response)
                mayHaveApplied = mayHaveApplied || (isWrite && !Self.isNotApplied(response))
                passedOver.append(target)
                if let fallback = fallBack(from: target, direct: &direct, start, unreachable + passedOver) {
                    target = fallback
                } else {
                    target = await nextTarget(
                        excluding: unreachable, passedOver: &passedOver, delay: &delay, deadline)
                }
            case 409 where isWrite && !Self.isStaleRequest(response):
                // The servers forgot this session (it was evicted, thesis §6.3). If no earlier
                // attempt can have applied the write, a new session may send it again safely.
                guard !mayHaveApplied else {
                    throw .outcomeUnknown(
                        "the servers expired this client's session while the write was retried: \(Self.message(response))"
                    )
                }
                // Once: a fresh session cannot have expired, so a second 409 is something else.
                guard !sessionRestarted else { return response }
                sessionRestarted = true
                clientID = Self.newClientID()
                lastSequence = 0
                stamp = nextStamp()
            default:
                return response
            }
        }
    }

    /// The known leader's address, for a write to try first; nil when no leader is known, or its
    /// address failed a write lately (`unreachableLeader`). When an answer named a leader whose
    /// address the session does not know yet (no status answer listed it), asks the session's node
    /// for `/status`, once per leader.
    private func leaderAddress(before deadline: ContinuousClock.Instant) async -> ServerAddress? {
        if view.leader == nil, let id = view.leaderID, leaderLookedUp != id {
            leaderLookedUp = id
            let remaining = deadline - ContinuousClock.now
            if remaining > .zero {
                _ = await statusOf(current, timeout: min(options.attemptTimeout, remaining))
            }
        }
        guard let address = view.leader?.address else { return nil }
        if let unreachable = unreachableLeader, unreachable.address == address,
            ContinuousClock.now < unreachable.until
        {
            return nil
        }
        return address
    }

    /// After the attempt at `target` failed: if it was the write's try of the leader (`direct`),
    /// forgets that leader and returns the session's node to try next, as a write without a known
    /// leader would have started there, unless that node is `excluded`. Nil otherwise: the usual
    /// failover picks the next node.
    private func fallBack(
        from target: ServerAddress, direct: inout ServerAddress?, _ start: ServerAddress,
        _ excluded: [ServerAddress]
    ) -> ServerAddress? {
        guard let leader = direct, leader == target else { return nil }
        direct = nil
        view.forgetLeader(at: leader)
        return excluded.contains(start) ? nil : start
    }

    /// The next node to try: the first known one not unreachable and not passed over in this
    /// round. When every node has been passed over (an election, say), pauses with backoff and
    /// starts a new round.
    private func nextTarget(
        excluding unreachable: [ServerAddress], passedOver: inout [ServerAddress], delay: inout Duration,
        _ deadline: ContinuousClock.Instant
    ) async -> ServerAddress {
        if let next = view.nextCandidate(excluding: unreachable + passedOver) { return next }
        passedOver = []
        try? await Task.sleep(for: min(delay, max(.zero, deadline - ContinuousClock.now)))
        delay = min(delay * 2, options.maxRetryDelay)
        return view.nextCandidate(excluding: unreachable) ?? current
    }

    /// A 503 whose body says `"applied": false`: the node neither proposed nor forwarded it.
    private static func isNotApplied(_ response: HTTPClientResponse) -> Bool {
        guard case .object(let members)? = try? json(response) else { return false }
        return members.contains { member in
            if member.name == "applied", case .bool(false) = member.value { return true }
            return false
        }
    }

    /// A 409 for a request older than the session's latest: only a client that sends requests of
    /// one session concurrently gets it, and a new session would not help.
    private static func isStaleRequest(_ response: HTTPClientResponse) -> Bool {
        guard case .object(let members)? = try? json(response) else { return false }
        return members.contains { $0.name == "last_sequence" }
    }

    /// Makes `address` the session's node after `previous` stopped answering, and says so, with
    /// what that node knows of the cluster. Nothing happens if the session has moved on from
    /// `previous` meanwhile (a heartbeat and a command may both find it dead).
    private func switchCurrent(from previous: ServerAddress, to address: ServerAddress) async {
        guard current == previous, address != previous else { return }
        current = address
        _ = await statusOf(address, timeout: options.attemptTimeout)
        let node =
            view.nodes.first { $0.address == address } ?? KnownNode(id: nil, address: address, role: .unknown)
        onEvent(.reconnected(to: node, from: previous, nodes: view.nodes, leader: view.leaderID))
    }

    private static func unique(_ addresses: [ServerAddress]) -> [ServerAddress] {
        var seen = Set<ServerAddress>()
        return addresses.filter { seen.insert($0).inserted }
    }

    private func nextStamp() -> [(name: String, value: String)] {
        lastSequence += 1
        return [("Keyval-Client-Id", clientID), ("Keyval-Sequence", String(lastSequence))]
    }

    private static func newClientID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<2).map { _ in
            let hex = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - hex.utf8.count) + hex
        }.joined()
    }

    // MARK: Answers

    /// `/key/<key>` with every byte outside RFC 3986's unreserved set percent-encoded (so `/` in a
    /// key stays part of the key).
    static func keyPath(_ key: String) -> String {
        var path = "/key/"
        for byte in key.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                path.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                path += "%" + (byte < 0x10 ? "0" + hex : hex)
            }
        }
        return path
    }

    /// The version in an `ETag: "<version>"` header.
    static func version(in response: HTTPClientResponse) -> UInt64? {
        guard let header = response.header("ETag") else { return nil }
        var tag = Substring(header)
        if tag.hasPrefix("\""), tag.hasSuffix("\""), tag.count >= 2 { tag = tag.dropFirst().dropLast() }
        return UInt64(String(tag))
    }

    private static func writeOutcome(_ response: HTTPClientResponse) throws(KeyValClientError) -> WriteOutcome
    {
        guard let version = version(in: response) else {
            // A success status: it applied, whatever is missing from the answer.
            throw .unexpectedAnswer(
                status: response.status, message: "a write answered without a version", mayHaveApplied: true)
        }
        return WriteOutcome(
            created: response.status == 201, version: version,
            replicas: response.header("Keyval-Replicas").flatMap { Int($0) })
    }

    private static func json(_ response: HTTPClientResponse) throws(KeyValClientError) -> JSONValue {
        let parsed = response.body.withUnsafeBytes { bytes in
            Result { () throws(JSONParser.Failure) in try JSONParser.parse(bytes) }
        }
        switch parsed {
        case .success(let value): return value
        case .failure(let failure):
            throw .unexpectedAnswer(status: response.status, message: failure.message, mayHaveApplied: false)
        }
    }

    /// The API's `{"error": "..."}` message, or the raw body if it is not one.
    static func message(_ response: HTTPClientResponse) -> String {
        if case .object(let members)? = try? json(response),
            case .string(let message)? = members.first(where: { $0.name == "error" })?.value
        {
            return message
        }
        return response.bodyText.isEmpty ? "HTTP \(response.status)" : response.bodyText
    }

    /// A 4xx refuses the request (nothing applied); anything else is unexpected, and a write may
    /// have applied before it (a 502 from a follower whose leader answered badly, say).
    private static func failure(_ response: HTTPClientResponse, write: Bool) -> KeyValClientError {
        (400..<500).contains(response.status)
            ? .rejected(status: response.status, message: message(response))
            : .unexpectedAnswer(status: response.status, message: message(response), mayHaveApplied: write)
    }
}

extension HTTPClientError {
    /// No connection, or no answer in time: what a leader address the client cannot reach gives.
    fileprivate var isConnectFailedOrTimedOut: Bool {
        switch self {
        case .connectFailed, .timedOut: true
        default: false
        }
    }
}
