import Hummingbird
import KeyVal
import KeyValClient
import Logging

/// Routes the API's requests: parse, call the replica, map the outcome (style guide §6).
///
/// A hand-written responder rather than Hummingbird's `Router`: keys take the whole rest of the
/// path (with `/` in them), a wrong method must answer 405 with `Allow`, and a request body must be
/// bounded before it is buffered. Each of these is a few lines here and a workaround there.
struct KeyValResponder<Replica: KVReplica>: HTTPResponder {
    typealias Context = BasicRequestContext

    let replica: Replica
    let maxBodyBytes: Int
    let forwarder: LeaderForwarder

    /// The API's routes; `allowedMethods` answers a wrong method.
    private enum Route {
        case keys  // /key
        case key(Substring)  // /key/<percent-encoded key>
        case join  // /join
        case member(Substring)  // /join/<percent-encoded id>
        case status  // /status
        case health  // /health
        case leader  // /leader

        init?(path: String) {
            switch path {
            case "/key": self = .keys
            case "/join": self = .join
            case "/status": self = .status
            case "/health": self = .health
            case "/leader": self = .leader
            default:
                if path.hasPrefix("/key/") {
                    self = .key(path.dropFirst(5))
                } else if path.hasPrefix("/join/") {
                    self = .member(path.dropFirst(6))
                } else {
                    return nil
                }
            }
        }

        var allowedMethods: String {
            switch self {
            case .keys, .join, .leader: "POST"
            case .key: "GET, PUT, DELETE"
            case .member: "DELETE"
            case .status, .health: "GET"
            }
        }
    }

    func respond(to request: Request, context: Context) async throws -> Response {
        let path = request.uri.path
        guard let route = Route(path: path) else {
            return APIError(.notFound, "no such route", fields: [("path", .string(path))]).response
        }
        var body = ByteBuffer()
        do throws(APIError) {
            switch (route, request.method) {
            case (.keys, .post):
                body = try await collectBody(request)
                return try await setKeys(request, body: body)
            case (.key(let encoded), .get):
                return try await getKey(try decodeKey(encoded), request: request)
            case (.key(let encoded), .put):
                let key = try decodeKey(encoded)
                body = try await collectBody(request)
                return try await putKey(key, request: request, body: body)
            case (.key(let encoded), .delete):
                return try await deleteKey(try decodeKey(encoded), request: request)
            case (.join, .post):
                body = try await collectBody(request)
                return try await join(body: body)
            case (.member(let encoded), .delete):
                return try await removeMember(encoded, query: request.uri.query)
            case (.leader, .post):
                body = try await collectBody(request)
                return try await transferLeadership(body: body)
            case (.status, .get):
                return await status()
            case (.health, .get):
                return await health()
            default:
                var error = APIError(
                    .methodNotAllowed, "\(request.method.rawValue) is not allowed on \(path)",
                    fields: [("allow", .string(route.allowedMethods))])
                error.headers[.allow] = route.allowedMethods
                throw error
            }
        } catch {
            guard let leader = error.forwardingTarget else { return error.response }
            // The nodes this request already went through. More than one hop is normal while
            // leadership moves: a follower forwards to a leader that has just handed over, which
            // forwards it on, possibly back to that follower, now the leader. Views of who leads
            // disagree only briefly, so three hops are plenty; the limit is what ends a loop.
            let chain = (request.headers[.keyvalForwardedBy] ?? "").split(separator: ",").map {
                String($0.drop(while: { $0 == " " }))
            }
            if let forwardedBy = chain.first, chain.count >= 3 {
                return APIError.forwardingLoop(forwardedBy: forwardedBy, leader: leader).response
            }
            return await forwarder.forward(request, body: body, to: leader, after: chain)
        }
    }

    /// Reads the whole body, refusing it with 413 as soon as it is known to exceed `maxBodyBytes`:
    /// from `Content-Length` before reading anything, else once the bytes read pass the limit.
    private func collectBody(_ request: Request) async throws(APIError) -> ByteBuffer {
        let tooLarge = APIError(
            .contentTooLarge, "the request body is larger than \(maxBodyBytes) bytes",
            fields: [("limit", .integer(UInt64(maxBodyBytes)))])
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBodyBytes {
            throw tooLarge
        }
        var collected = ByteBuffer()
        do {
            for try await part in request.body {
                if collected.readableBytes + part.readableBytes > maxBodyBytes { throw tooLarge }
                var part = part
                collected.writeBuffer(&part)
            }
        } catch let error as APIError {
            throw error
        } catch {
            throw .badRequest("the request body could not be read: \(error)")
        }
        return collected
    }

    private func decodeKey(_ encoded: Substring) throws(APIError) -> String {
        guard let key = percentDecoded(encoded) else {
            throw .badRequest("the key in the path is not valid percent-encoded UTF-8")
        }
        return key
    }
}
