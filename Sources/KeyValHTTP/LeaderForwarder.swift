import Hummingbird
import KeyVal
import KeyValClient
import Logging
import Raft

/// Re-sends a client's request to the leader and relays the leader's answer unchanged.
///
/// A follower does not bounce clients with a redirect: it forwards the request itself (style guide
/// §6), so a client connected to any node gets the leader's answer. This is on the hot path for
/// every client of a follower, so it does no more than it must: the body goes through as bytes,
/// the leader's body comes back as bytes without being parsed, and connections to the leader are
/// pooled by `HTTPClient`.
struct LeaderForwarder: Sendable {
    /// Request headers the leader needs to answer as if the client had asked it directly.
    private static let forwardedRequestHeaders: [HTTPField.Name] = [
        .ifMatch, .ifNoneMatch, .keyvalClientID, .keyvalSequence, .contentType,
    ]
    /// Response headers relayed to the client; `Content-Length` is set from the body.
    private static let relayedResponseHeaders: [HTTPField.Name] = [
        .eTag, .retryAfter, .contentType, .allow, .keyvalReplicas, .keyvalLeader,
    ]

    var client: HTTPClient
    var nodeID: String
    var timeout: Duration
    var logger: Logger
    /// Stamps for forwarded writes that carry no client session.
    var sessions = ForwardingSessions()

    /// `POST /key`, `PUT /key/<k>`, `DELETE /key/<k>`: the writes a client session dedupes.
    private static func isKeyedWrite(_ request: Request) -> Bool {
        let path = request.uri.path
        switch request.method {
        case .post: return path == "/key"
        case .put, .delete: return path.hasPrefix("/key/")
        default: return false
        }
    }

    /// Sends `request` (whose body was already read into `body`) to `leader` and returns its
    /// response, or a 503 with `Retry-After` naming the leader when it cannot be reached.
    /// `chain`: the nodes the request came through before this one (`Keyval-Forwarded-By`).
    func forward(
        _ request: Request, body: ByteBuffer, to leader: StatusReport.Leader, after chain: [String] = []
    ) async -> Response {
        let address: NetworkAddress
        do {
            address = try NetworkAddress(parsing: leader.haddr)
        } catch {
            return APIError(
                .serviceUnavailable,
                "the leader \(leader.id) has an invalid HTTP address \(leader.haddr); the request was not applied",
                fields: [("leader", .string(leader.id)), APIError.notApplied], retryAfter: true
            ).response
        }
        var headers: [(name: String, value: String)] = []
        headers.reserveCapacity(Self.forwardedRequestHeaders.count + 3)
        for name in Self.forwardedRequestHeaders {
            if let value = request.headers[name] { headers.append((name.canonicalName, value)) }
        }
        headers.append(
            (HTTPField.Name.keyvalForwardedBy.canonicalName, (chain + [nodeID]).joined(separator: ", ")))
        let isStamped = request.headers[.keyvalClientID] != nil || request.headers[.keyvalSequence] != nil
        // A keyed write without a session gets one of ours, so it may be delivered twice.
        let needsStamp = !isStamped && Self.isKeyedWrite(request)
        let bytes = Array(body.readableBytesView)

        var answer: HTTPClientResponse
        var lease = needsStamp ? sessions.lease() : nil
        while true {
            var attempt = headers
            if let lease {
                attempt.append((HTTPField.Name.keyvalClientID.canonicalName, lease.clientID.description))
                attempt.append((HTTPField.Name.keyvalSequence.canonicalName, String(lease.sequence)))
            }
            // Stamped, a write may be resent when a pooled connection closes unanswered: the state
            // machine dedupes it. Membership changes and leadership transfers are not stamped, so
            // they never are resent once they may have been written.
            let forwarded = HTTPClientRequest(
                method: request.method.rawValue, path: request.uri.string, headers: attempt, body: bytes,
                isIdempotent: request.method == .get || request.method == .head || isStamped || lease != nil)
            do {
                answer = try await client.execute(
                    forwarded, host: address.host, port: address.port, timeout: timeout)
            } catch {
                if let lease { sessions.release(lease) }
                logger.warning(
                    "cannot forward to the leader",
                    metadata: ["leader": "\(leader.id)", "haddr": "\(leader.haddr)", "error": "\(error)"])
                return APIError.leaderUnreachable(leader, error).response
            }
            guard let used = lease else { break }
            // A 409 without `last_sequence`: the state machine evicted our session (thesis §6.3).
            // It applied nothing then, and the client never had that session: start a new one
            // (sequence 1, which cannot be expired) and send the write again, once.
            if answer.status == 409, used.sequence > 1, !answer.bodyText.contains("\"last_sequence\"") {
                logger.info("the leader expired a forwarding session; sending again with a new one")
                lease = sessions.fresh()
                continue
            }
            sessions.release(used)
            break
        }
        guard (100...599).contains(answer.status) else {
            return APIError(
                .badGateway, "the leader \(leader.id) answered with an invalid status \(answer.status)",
                fields: [("leader", .string(leader.id))]
            ).response
        }
        var responseHeaders = HTTPFields()
        for (name, value) in answer.headers {
            guard let name = HTTPField.Name(name), Self.relayedResponseHeaders.contains(name) else {
                continue
            }
            responseHeaders.append(HTTPField(name: name, value: value))
        }
        var buffer = ByteBuffer()
        buffer.writeBytes(answer.body)
        return Response(
            status: HTTPResponse.Status(code: answer.status), headers: responseHeaders,
            body: ResponseBody(byteBuffer: buffer))
    }
}
