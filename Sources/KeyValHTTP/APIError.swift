import Hummingbird
import KeyVal
import KeyValClient

/// An error response of the API: a status, `{"error": "<plain words>", ...fields}` and headers.
///
/// Every failure becomes an `APIError` in this file and nowhere else: request validation,
/// `ReplicaError`, `KVError`, and the refusals in `KVResult`. Routes throw it; `KeyValResponder`
/// turns it into the response, or forwards the request when `forwardingTarget` is set.
struct APIError: Error {
    var status: HTTPResponse.Status
    var message: String
    /// Extra members of the JSON body, after `error`.
    var fields: [(String, JSONWriter.Value)] = []
    var headers = HTTPFields()
    /// The leader to forward the request to, when this node is not the leader and knows one.
    var forwardingTarget: StatusReport.Leader?

    init(
        _ status: HTTPResponse.Status, _ message: String, fields: [(String, JSONWriter.Value)] = [],
        retryAfter: Bool = false
    ) {
        self.status = status
        self.message = message
        self.fields = fields
        if retryAfter { headers[.retryAfter] = "1" }
    }

    /// `"applied": false` on a 503: this node neither proposed nor forwarded the request, so it
    /// was not applied and may be sent again as is (to this node later, or another). A 503
    /// without it (`outcomeUnknown`) may have applied.
    static let notApplied: (String, JSONWriter.Value) = ("applied", .bool(false))

    static func badRequest(_ message: String, fields: [(String, JSONWriter.Value)] = []) -> APIError {
        APIError(.badRequest, message, fields: fields)
    }

    var response: Response {
        var headers = headers
        headers[.contentType] = "application/json"
        let body = JSONWriter.object([("error", .string(message))] + fields)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: body))
    }
}

// MARK: - Mappings

extension APIError {
    /// `forwardable` is false where a leader is no help (reads): `.notLeader` then becomes a
    /// 503 even when a leader is known.
    init(_ error: ReplicaError, forwardable: Bool = true) {
        switch error {
        case .notLeader(nil):
            self.init(
                .serviceUnavailable,
                "no leader is known; an election is probably under way; the request was not applied",
                fields: [Self.notApplied], retryAfter: true)
        case .notLeader(let leader?):
            let fields: [(String, JSONWriter.Value)] = [
                ("leader", .string(leader.id)), ("leader_haddr", .string(leader.haddr)), Self.notApplied,
            ]
            if leader.haddr.isEmpty {
                self.init(
                    .serviceUnavailable,
                    "this node is not the leader, and the leader \(leader.id) has no known HTTP address; the request was not applied",
                    fields: fields, retryAfter: true)
            } else {
                self.init(
                    .serviceUnavailable,
                    "this node is not the leader; the leader is \(leader.id) at \(leader.haddr); the request was not applied",
                    fields: fields, retryAfter: true)
                if forwardable { forwardingTarget = leader }
            }
        case .outcomeUnknown(let reason):
            self.init(
                .serviceUnavailable,
                "the outcome is unknown (\(reason)); retry with the same Keyval-Client-Id and Keyval-Sequence to learn it",
                retryAfter: true)
        case .invalidMembershipChange(let reason):
            self.init(.badRequest, reason)
        case .memberConflict(let reason):
            self.init(.conflict, reason)
        case .memberUnreachable(let reason, let timedOut):
            self.init(timedOut ? .gatewayTimeout : .badGateway, reason)
        case .membershipChangeInProgress:
            self.init(.conflict, error.description, retryAfter: true)
        case .leadershipTransferFailed(let reason):
            self.init(.conflict, "leadership transfer failed: \(reason)")
        case .unavailable(let reason):
            self.init(.serviceUnavailable, "the node is unavailable: \(reason)", retryAfter: true)
        }
    }

    /// Validation failures: 413 when something is too big, 400 otherwise.
    init(_ error: KVError) {
        switch error {
        case .valueTooLong, .commandTooLarge:
            self.init(.contentTooLarge, error.description)
        default:
            self.init(.badRequest, error.description)
        }
    }

    /// A request forwarded to us met `.notLeader` again: leadership moved while it travelled.
    /// Never forwarded a second time, so two nodes with stale views cannot bounce it forever.
    static func forwardingLoop(forwardedBy: String, leader: StatusReport.Leader) -> APIError {
        APIError(
            .serviceUnavailable,
            "leadership is changing: \(forwardedBy) forwarded this request here, but the leader is now \(leader.id); the request was not applied",
            fields: [("leader", .string(leader.id)), Self.notApplied], retryAfter: true)
    }

    /// The leader did not answer the forwarded request. Only a failed connect proves it was not
    /// sent; after a timeout or a closed connection the leader may have applied it.
    static func leaderUnreachable(_ leader: StatusReport.Leader, _ error: HTTPClientError) -> APIError {
        var fields: [(String, JSONWriter.Value)] = [
            ("leader", .string(leader.id)), ("leader_haddr", .string(leader.haddr)),
        ]
        if case .connectFailed = error {
            fields.append(Self.notApplied)
            return APIError(
                .serviceUnavailable,
                "the leader \(leader.id) at \(leader.haddr) cannot be reached: \(error); the request was not applied",
                fields: fields, retryAfter: true)
        }
        return APIError(
            .serviceUnavailable,
            "the leader \(leader.id) at \(leader.haddr) did not answer the forwarded request: \(error); the outcome is unknown (retry with the same Keyval-Client-Id and Keyval-Sequence to learn it)",
            fields: fields, retryAfter: true)
    }

    /// The refusals among write results; nil for results that are answers.
    init?(refusal result: KVResult) {
        switch result {
        case .rejected(let error):
            self.init(error)
        case .staleRequest(let lastSequence):
            self.init(
                .conflict,
                "stale request: this client session has already applied a later request (sequence \(lastSequence))",
                fields: [("last_sequence", .integer(lastSequence))])
        case .sessionExpired:
            self.init(
                .conflict,
                "the client session has expired; start a new session (the outcome of a retried request is unknown)"
            )
        case .set, .deleted, .notFound, .written, .conditionFailed:
            return nil
        }
    }
}
