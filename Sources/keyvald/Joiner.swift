import Foundation
import KeyValClient
import Logging
import Raft

/// `keyvald -join`: asks a member of the cluster, by its HTTP address, for the cluster's id and
/// then to add this node. Any member will do: a follower forwards `/join` to the leader. Retries
/// while the cluster has no leader or the member is unreachable (it may be starting too), and
/// gives up on a refusal or after `patience`.
struct Joiner {
    let target: NetworkAddress
    let client: HTTPClient
    let logger: Logger
    var patience: Duration = .seconds(60)

    /// The cluster id the target reports in `/status`.
    func clusterID() async throws(DaemonError) -> String { try await status().clusterID }

    /// The target's `/status`: the cluster id, and the members' HTTP addresses, which a joiner
    /// needs to forward requests before its own log names them.
    func status() async throws(DaemonError) -> StatusReport {
        let response = try await retrying("ask \(target) for its cluster id") {
            () async throws(DaemonError) -> Attempt in
            try await send(HTTPClientRequest(method: "GET", path: "/status"))
        }
        guard let report = try? JSONDecoder().decode(StatusReport.self, from: Data(response.body)),
            !report.clusterID.isEmpty
        else {
            throw .joinFailed("\(target) answered /status with something that is not a keyval status")
        }
        return report
    }

    /// Asks the cluster to add this node; returns once the change is committed.
    func join(_ request: JoinRequest) async throws(DaemonError) {
        let body: [UInt8]
        do {
            body = Array(try JSONEncoder().encode(request))
        } catch {
            throw .joinFailed("cannot encode the join request: \(error)")
        }
        _ = try await retrying("join the cluster through \(target)") {
            () async throws(DaemonError) -> Attempt in
            try await send(
                HTTPClientRequest(
                    method: "POST", path: "/join", headers: [("Content-Type", "application/json")], body: body
                ))
        }
    }

    /// One try: an answer, or why to try again (kept for the error if patience runs out).
    private enum Attempt {
        case answered(HTTPClientResponse)
        case retry(String)
    }

    /// Sends `request`; `.retry` when unreachable, 5xx (no leader yet) or 409 with Retry-After.
    private func send(_ request: HTTPClientRequest) async throws(DaemonError) -> Attempt {
        let response: HTTPClientResponse
        do {
            response = try await client.execute(
                request, host: target.host, port: target.port, timeout: .seconds(15))
        } catch {
            logger.info("cannot reach \(target) yet: \(error)")
            return .retry("\(error)")
        }
        switch response.status {
        case 200..<300: return .answered(response)
        case 409 where response.header("Retry-After") != nil:
            // Another node's join is being committed: one change at a time (thesis §4.1). A 409
            // without Retry-After is a refusal (this node's address answers as another node).
            logger.info("\(target): \(response.bodyText); retrying")
            return .retry("\(response.status) \(response.bodyText)")
        case 500...:
            logger.info(
                "\(target) cannot serve \(request.path) yet (\(response.status)): \(response.bodyText)")
            return .retry("\(response.status) \(response.bodyText)")
        default:
            throw .joinFailed(
                "\(target) refused \(request.method) \(request.path) (\(response.status)): \(response.bodyText)"
            )
        }
    }

    private func retrying(
        _ what: String, _ attempt: () async throws(DaemonError) -> Attempt
    ) async throws(DaemonError) -> HTTPClientResponse {
        let deadline = ContinuousClock.now + patience
        var delay = Duration.milliseconds(100)
        while true {
            let reason: String
            switch try await attempt() {
            case .answered(let response): return response
            case .retry(let why): reason = why
            }
            guard ContinuousClock.now + delay < deadline else {
                throw .joinFailed("could not \(what) within \(patience) (last: \(reason))")
            }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(2))
        }
    }
}
