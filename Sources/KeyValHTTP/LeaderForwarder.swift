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
        .eTag, .retryAfter, .contentType, .allow, .keyvalReplicas,
    ]

    var client: HTTPClient
    var nodeID: String
    var timeout: Duration
    var logger: Logger

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
        headers.reserveCapacity(Self.forwardedRequestHeaders.count + 1)
        for name in Self.forwardedRequestHeaders {
            if let value = request.headers[name] { headers.append((name.canonicalName, value)) }
        }
        headers.append(
            (HTTPField.Name.keyvalForwardedBy.canonicalName, (chain + [nodeID]).joined(separator: ", ")))
        let forwarded = HTTPClientRequest(
            method: request.method.rawValue, path: request.uri.string, headers: headers,
            body: Array(body.readableBytesView))

        let answer: HTTPClientResponse
        do {
            answer = try await client.execute(
                forwarded, host: address.host, port: address.port, timeout: timeout)
        } catch {
            logger.warning(
                "cannot forward to the leader",
                metadata: ["leader": "\(leader.id)", "haddr": "\(leader.haddr)", "error": "\(error)"])
            return APIError.leaderUnreachable(leader, error).response
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
