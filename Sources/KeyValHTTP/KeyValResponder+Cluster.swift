import Hummingbird
import KeyVal
import KeyValClient
import Raft

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `/join`, `/join/<id>`, `/status`, `/health`: membership and what a node knows of the cluster.
extension KeyValResponder {
    /// Longest member id, in UTF-8 bytes; ids show up in logs, status and paths.
    static var maxMemberIDBytes: Int { 128 }

    /// `POST /join {"id": ..., "addr": ..., "haddr": ..., "cluster_id": ...}` (hraftd's body, plus
    /// the HTTP address and the cluster the node's data belongs to, both optional).
    func join(body: ByteBuffer) async throws(APIError) -> Response {
        let document = try parseJSON(body)
        guard case .object(let members) = document else {
            throw .badRequest(
                "the body must be a JSON object {\"id\": ..., \"addr\": ...}, not \(document.kind)")
        }
        func field(_ name: String, required: Bool) throws(APIError) -> String? {
            switch members.first(where: { $0.name == name })?.value {
            case .string(let value)?: return value
            case nil, .null?:
                if required { throw .badRequest("\(JSONWriter.quoted(name)) is missing") }
                return nil
            case let other?:
                throw .badRequest("\(JSONWriter.quoted(name)) is \(other.kind); expected a string")
            }
        }
        let request = JoinRequest(
            id: try field("id", required: true) ?? "", addr: try field("addr", required: true) ?? "",
            haddr: try field("haddr", required: false), clusterID: try field("cluster_id", required: false))
        try Self.validate(memberID: request.id)
        try Self.validate(address: request.addr, name: "addr")
        if let haddr = request.haddr { try Self.validate(address: haddr, name: "haddr") }
        do {
            try await replica.addMember(request)
        } catch {
            throw APIError(error)
        }
        return .json(.ok, JSONWriter.object([]))
    }

    /// `DELETE /join/<id>[?force=true]`.
    func removeMember(_ encodedID: Substring, query: String?) async throws(APIError) -> Response {
        guard let id = percentDecoded(encodedID) else {
            throw .badRequest("the member id in the path is not valid percent-encoded UTF-8")
        }
        try Self.validate(memberID: id)
        var force = false
        for parameter in (query ?? "").split(separator: "&") where parameter.hasPrefix("force") {
            switch parameter {
            case "force", "force=true": force = true
            case "force=false": force = false
            default:
                throw .badRequest(
                    "force must be true or false", fields: [("force", .string(String(parameter)))])
            }
        }
        do {
            try await replica.removeMember(id: id, force: force)
        } catch {
            throw APIError(error)
        }
        return .json(.ok, JSONWriter.object([("removed", .string(id))]))
    }

    /// `POST /leader [{"id": ...}]`: hands leadership to that voter, or to the most up-to-date one
    /// when the body is empty or has no id. Any node accepts it; a follower forwards it.
    func transferLeadership(body: ByteBuffer) async throws(APIError) -> Response {
        var target: String?
        if body.readableBytes > 0 {
            guard case .object(let fields) = try parseJSON(body) else {
                throw .badRequest("the body must be a JSON object {\"id\": ...} or empty")
            }
            switch fields.first(where: { $0.name == "id" })?.value {
            case .string(let id)?:
                try Self.validate(memberID: id)
                target = id
            case nil, .null?: target = nil
            case let other?: throw .badRequest("\"id\" is \(other.kind); expected a string")
            }
        }
        do {
            let leader = try await replica.transferLeadership(to: target)
            return .json(.ok, JSONWriter.object([("leader", .string(leader))]))
        } catch {
            throw APIError(error)
        }
    }

    /// `GET /status`: never forwarded; it is this node's view.
    func status() async -> Response {
        let report = await replica.status()
        do {
            // Sorted keys: the same status always reads the same (the encoder's order is unspecified).
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let data = try encoder.encode(report)
            var buffer = ByteBuffer()
            buffer.writeBytes(data)
            return .json(.ok, buffer)
        } catch {
            return APIError(.internalServerError, "the status cannot be encoded: \(error)").response
        }
    }

    /// `GET /health`: 200 while this node knows a leader, else 503, for load balancers.
    func health() async -> Response {
        guard let leader = await replica.status().leader else {
            return APIError(
                .serviceUnavailable, "no leader is known; an election is probably under way",
                fields: [("status", .string("no leader"))], retryAfter: true
            ).response
        }
        return .json(.ok, JSONWriter.object([("status", .string("ok")), ("leader", .string(leader.id))]))
    }

    static func validate(memberID id: String) throws(APIError) {
        guard !id.isEmpty else { throw .badRequest("the member id is empty") }
        guard id.utf8.count <= maxMemberIDBytes else {
            throw .badRequest("the member id is \(id.utf8.count) bytes, limit \(maxMemberIDBytes)")
        }
        let isSpaceOrControl = { (scalar: Unicode.Scalar) in
            scalar.properties.isWhitespace || scalar.properties.generalCategory == .control
        }
        guard !id.unicodeScalars.contains(where: isSpaceOrControl) else {
            throw .badRequest("the member id must not contain whitespace or control characters")
        }
    }

    static func validate(address: String, name: String) throws(APIError) {
        let parsed: NetworkAddress
        do {
            parsed = try NetworkAddress(parsing: address)
        } catch {
            throw .badRequest("\(name) is not host:port: \(error)", fields: [(name, .string(address))])
        }
        guard parsed.port != 0 else {
            throw .badRequest("\(name) needs a port other than 0", fields: [(name, .string(address))])
        }
    }
}
