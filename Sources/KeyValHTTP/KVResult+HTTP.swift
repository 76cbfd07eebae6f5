import Hummingbird
import KeyVal
import KeyValClient
import Raft

/// How each write result is answered. Refusals go through `APIError(refusal:)`, so every error
/// status is still decided in `APIError.swift`.
extension KVResult {
    /// The response for this result of a write on `key` (nil for a multi-key `set`).
    func response(key: String?) throws(APIError) -> Response {
        if let refusal = APIError(refusal: self) { throw refusal }
        switch self {
        case .set(let created, let updated, let version):
            return .json(
                .ok,
                JSONWriter.object([
                    ("created", .integer(UInt64(created))), ("updated", .integer(UInt64(updated))),
                    ("version", .integer(version.value)),
                ]),
                eTag: version)
        case .deleted(let previousVersion):
            return .json(
                .ok,
                JSONWriter.object([
                    ("deleted", .string(key ?? "")), ("previous_version", .integer(previousVersion.value)),
                ]))
        case .notFound:
            throw Self.notFoundError(key: key ?? "")
        case .written(let version, let created):
            return .json(
                created ? .created : .ok, JSONWriter.object([("version", .integer(version.value))]),
                eTag: version)
        case .conditionFailed(let current):
            var error = APIError(
                .preconditionFailed, "version mismatch",
                fields: [("current_version", current.map { .integer($0.value) } ?? .null)])
            if let current { error.headers[.eTag] = Response.eTag(current) }
            throw error
        case .rejected, .staleRequest, .sessionExpired:
            preconditionFailure("\(self) is a refusal and was answered above")
        }
    }

    static func notFoundError(key: String) -> APIError {
        APIError(.notFound, "key not found", fields: [("key", .string(key))])
    }
}

extension Response {
    /// A JSON response, with `ETag: "<version>"` when a version is given.
    static func json(_ status: HTTPResponse.Status, _ body: ByteBuffer, eTag version: LogIndex? = nil)
        -> Response
    {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let version { headers[.eTag] = eTag(version) }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: body))
    }

    /// A version as an entity tag: `"42"`.
    static func eTag(_ version: LogIndex) -> String { "\"\(version.value)\"" }
}
