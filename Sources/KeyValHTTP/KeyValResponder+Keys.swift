import Hummingbird
import KeyVal
import KeyValClient
import Raft

/// `/key` and `/key/<k>`: reads and writes.
extension KeyValResponder {
    /// `POST /key {"k": "v", ...}`: one atomic `set` of every member.
    func setKeys(_ request: Request, body: ByteBuffer) async throws(APIError) -> Response {
        let document = try parseJSON(body)
        guard case .object(let members) = document else {
            throw .badRequest("the body must be a JSON object of keys to string values, not \(document.kind)")
        }
        guard !members.isEmpty else { throw .badRequest("the object has no keys; nothing to set") }
        var pairs: [String: String] = [:]
        pairs.reserveCapacity(members.count)
        for (key, value) in members {
            guard case .string(let string) = value else {
                throw .badRequest(
                    "the value of \(JSONWriter.quoted(key)) is \(value.kind); values must be strings",
                    fields: [("key", .string(key))])
            }
            pairs[key] = string
        }
        let command = KVCommand.set(pairs, client: try request.headers.clientRequest())
        return try answer(await write(command), key: nil)
    }

    /// `GET /key/<k>[?consistency=stale|linearizable]`.
    func getKey(_ key: String, request: Request) async throws(APIError) -> Response {
        let consistency = try readConsistency(request.uri.query)
        try validate(key: key)
        let item: KVItem?
        do {
            item = try await replica.read(key, consistency: consistency)
        } catch {
            // A read is this node's answer or none. A linearizable one is served here after a
            // ReadIndex round with the leader (thesis §6.4), so forwarding would only add a hop;
            // a stale one forwarded would become a leader read.
            throw APIError(error, forwardable: false)
        }
        guard let item else { throw KVResult.notFoundError(key: key) }
        return .json(.ok, JSONWriter.object([(key, .string(item.value))]), eTag: item.version)
    }

    /// `PUT /key/<k>` with a JSON string body: compare-and-set under `If-Match`/`If-None-Match`,
    /// else an unconditional write.
    func putKey(_ key: String, request: Request, body: ByteBuffer) async throws(APIError) -> Response {
        let condition = try request.headers.writeCondition()
        let client = try request.headers.clientRequest()
        let document = try parseJSON(body)
        guard case .string(let value) = document else {
            throw .badRequest("the body must be a JSON string, as in \"value\", not \(document.kind)")
        }
        let command: KVCommand =
            if let condition {
                .compareAndSet(key, if: condition, value: value, client: client)
            } else {
                .set([key: value], client: client)
            }
        var result = try await write(command)
        // An unconditional PUT answers like a conditional one: 201 or 200 with the new version.
        if case .set(let created, _, let version) = result {
            result = .written(version: version, created: created == 1)
        }
        return try answer(result, key: key)
    }

    /// `DELETE /key/<k>`.
    func deleteKey(_ key: String, request: Request) async throws(APIError) -> Response {
        let command = KVCommand.delete(key, client: try request.headers.clientRequest())
        return try answer(await write(command), key: key)
    }

    /// The response for a write's `result`, which this node applied as the leader: success or the
    /// state machine's refusal, with `Keyval-Leader` naming this node (so a client learns where to
    /// send its next write), and `Keyval-Replicas` when it wrote a version and the replica knows
    /// how many members hold it.
    private func answer(_ result: KVResult, key: String?) throws(APIError) -> Response {
        var response: Response
        do {
            response = try result.response(key: key)
        } catch {
            var refusal = error
            refusal.headers[.keyvalLeader] = forwarder.nodeID
            throw refusal
        }
        response.headers[.keyvalLeader] = forwarder.nodeID
        if let version = result.writtenVersion, let count = replica.replicaCount(holding: version) {
            response.headers[.keyvalReplicas] = String(count)
        }
        return response
    }

    /// Validates, then proposes; a bad command costs no log entry.
    private func write(_ command: KVCommand) async throws(APIError) -> KVResult {
        do {
            try command.validate()
        } catch {
            throw APIError(error)
        }
        do {
            return try await replica.write(command)
        } catch {
            throw APIError(error)
        }
    }

    private func validate(key: String) throws(APIError) {
        do {
            try KVCommand.delete(key).validate()
        } catch {
            throw APIError(error)
        }
    }

    private func readConsistency(_ query: String?) throws(APIError) -> ReadConsistency {
        var consistency = ReadConsistency.linearizable
        guard let query else { return consistency }
        for parameter in query.split(separator: "&") {
            let parts = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts[0] == "consistency" else { continue }
            let value = parts.count > 1 ? percentDecoded(parts[1]) : ""
            guard let value, let parsed = ReadConsistency(rawValue: value) else {
                throw .badRequest(
                    "consistency must be linearizable or stale",
                    fields: [("consistency", .string(value ?? String(parts[1])))])
            }
            consistency = parsed
        }
        return consistency
    }
}

/// Parses a request body as JSON, mapping failures to 400.
func parseJSON(_ body: ByteBuffer) throws(APIError) -> JSONValue {
    let result = body.withUnsafeReadableBytes { bytes in
        Result { () throws(JSONParser.Failure) in try JSONParser.parse(bytes) }
    }
    switch result {
    case .success(let value): return value
    case .failure(let failure): throw .badRequest(failure.message)
    }
}
