import KeyVal
import KeyValClient
import KeyValHTTP
import Raft
import Testing

/// `/key` routes over real TCP against a `FakeReplica` backed by a `KVStore`.
@Suite("key routes", .timeLimit(.minutes(1)))
struct KeyRoutesTests {
    @Test("POST /key sets every key at one version and reports created and updated counts")
    func setKeys() async throws {
        try await withNode { node in
            let first = try await node.request("POST", "/key", body: #"{"a":"1","b":"2"}"#)
            #expect(first.status == 200)
            #expect(first.bodyText == #"{"created":2,"updated":0,"version":1}"#)
            #expect(first.header("ETag") == #""1""#)
            #expect(first.header("Content-Type") == "application/json")
            let second = try await node.request("POST", "/key", body: #" { "a" : "x", "c" : "\u00e9\n" } "#)
            #expect(second.bodyText == #"{"created":1,"updated":1,"version":2}"#)
            let store = node.replica.store
            #expect(store.get("a") == KVItem(value: "x", version: LogIndex(2)))
            #expect(store.get("b") == KVItem(value: "2", version: LogIndex(1)))
            #expect(store.get("c") == KVItem(value: "é\n", version: LogIndex(2)))
        }
    }

    struct BadBody: CustomTestStringConvertible, Sendable {
        var body: [UInt8]
        var status: Int
        var error: String
        var key: String? = nil
        var testDescription: String { "\(status) \(error)" }

        init(_ body: String, _ status: Int, _ error: String, key: String? = nil) {
            self.init(bytes: Array(body.utf8), status, error, key: key)
        }

        init(bytes: [UInt8], _ status: Int, _ error: String, key: String? = nil) {
            self.body = bytes
            self.status = status
            self.error = error
            self.key = key
        }
    }

    @Test(
        "POST /key refuses a bad body with the right status, and writes nothing",
        arguments: [
            BadBody("", 400, "the body is empty; expected JSON"),
            BadBody("{", 400, "malformed JSON at byte 1: expected a member name in double quotes"),
            BadBody(#"{"a":"1""#, 400, "malformed JSON at byte 8: expected ',' or '}' in an object"),
            BadBody(#"{"a":"1"} x"#, 400, "malformed JSON at byte 10: unexpected data after the JSON value"),
            BadBody(#"{"a":"1",}"#, 400, "malformed JSON at byte 9: expected a member name in double quotes"),
            BadBody("[]", 400, "the body must be a JSON object of keys to string values, not an array"),
            BadBody(#""v""#, 400, "the body must be a JSON object of keys to string values, not a string"),
            BadBody(#"{"a":1}"#, 400, #"the value of "a" is a number; values must be strings"#, key: "a"),
            BadBody(
                #"{"ok":"1","b":{"c":"d"}}"#, 400, #"the value of "b" is an object; values must be strings"#,
                key: "b"),
            BadBody(#"{"a":null}"#, 400, #"the value of "a" is null; values must be strings"#, key: "a"),
            BadBody(#"{"a":["x"]}"#, 400, #"the value of "a" is an array; values must be strings"#, key: "a"),
            BadBody(#"{"a":true}"#, 400, #"the value of "a" is a boolean; values must be strings"#, key: "a"),
            BadBody("{}", 400, "the object has no keys; nothing to set"),
            BadBody(#"{"":"v"}"#, 400, "key is empty"),
            BadBody(#"{"a":"1","a":"2"}"#, 400, #"duplicate key "a" in one object"#),
            BadBody(
                #"{"a":"\ud800"}"#, 400, #"malformed JSON at byte 12: unpaired surrogate in a \u escape"#),
            BadBody(
                "{\"a\":\"\u{1}\"}", 400,
                "malformed JSON at byte 6: control character in a string; it must be escaped"),
            BadBody(
                bytes: Array(#"{"a":""#.utf8) + [0xFF] + Array(#""}"#.utf8), 400,
                "a string is not valid UTF-8"),
            BadBody(
                #"{"\#(String(repeating: "k", count: 1025))":"v"}"#, 400, "key is 1025 bytes, limit 1024"),
            BadBody(
                #"{"a":"\#(String(repeating: "v", count: (1 << 20) + 1))"}"#, 413,
                "value is 1048577 bytes, limit 1048576"),
        ])
    func setKeysRefusesBadBodies(_ bad: BadBody) async throws {
        try await withNode { node in
            let response = try await node.request("POST", "/key", bytes: bad.body)
            #expect(response.status == bad.status)
            let expected =
                if let key = bad.key {
                    #"{"error":\#(quoted(bad.error)),"key":\#(quoted(key))}"#
                } else {
                    #"{"error":\#(quoted(bad.error))}"#
                }
            #expect(response.bodyText == expected)
            #expect(response.header("Content-Type") == "application/json")
            #expect(node.replica.commands.isEmpty)
            #expect(node.replica.store.count == 0)
        }
    }

    @Test("a command over the size limit is refused with 413 before it is proposed")
    func commandTooLarge() async throws {
        try await withNode { node in
            let value = String(repeating: "v", count: 1 << 20)
            let response = try await node.request(
                "POST", "/key", body: #"{"a":"\#(value)","b":"\#(value)","c":"x"}"#)
            #expect(response.status == 413)
            #expect(response.bodyText.hasPrefix(#"{"error":"command is "#))
            #expect(node.replica.commands.isEmpty)
        }
    }

    @Test("a body over the limit is refused with 413, with Content-Length or chunked")
    func bodyTooLarge() async throws {
        try await withNode(maxBodyBytes: 1000) { node in
            let body = #"{"a":"\#(String(repeating: "v", count: 2000))"}"#
            let sized = try await node.request("POST", "/key", body: body)
            #expect(sized.status == 413)
            #expect(sized.bodyText == #"{"error":"the request body is larger than 1000 bytes","limit":1000}"#)
            let chunked = try await node.request(
                "POST", "/key", headers: [("Transfer-Encoding", "chunked")], body: body)
            #expect(chunked.status == 413)
            // The connection still serves the next request.
            let fine = try await node.request("POST", "/key", body: #"{"a":"1"}"#)
            #expect(fine.status == 200)
            #expect(node.replica.commands.count == 1)
        }
    }

    @Test("GET /key/<k> returns the value and its version as ETag; an absent key is 404")
    func getKey() async throws {
        try await withNode { node in
            node.replica.seed(.set(["k": "v", "dir/sub": "slash", "é": "accent"]))
            let found = try await node.request("GET", "/key/k")
            #expect(found.status == 200)
            #expect(found.bodyText == #"{"k":"v"}"#)
            #expect(found.header("ETag") == #""1""#)
            let slash = try await node.request("GET", "/key/dir/sub")
            #expect(slash.bodyText == #"{"dir/sub":"slash"}"#)
            let encoded = try await node.request("GET", "/key/dir%2Fsub")
            #expect(encoded.bodyText == #"{"dir/sub":"slash"}"#)
            let accent = try await node.request("GET", "/key/%C3%A9")
            #expect(accent.bodyText == #"{"é":"accent"}"#)
            let absent = try await node.request("GET", "/key/nope%22")
            #expect(absent.status == 404)
            #expect(absent.bodyText == #"{"error":"key not found","key":"nope\""}"#)
            let empty = try await node.request("GET", "/key/")
            #expect(empty.status == 400)
            #expect(empty.bodyText == #"{"error":"key is empty"}"#)
            let badEscape = try await node.request("GET", "/key/%zz")
            #expect(badEscape.status == 400)
            let badUTF8 = try await node.request("GET", "/key/%FF")
            #expect(badUTF8.status == 400)
        }
    }

    @Test("GET consistency: linearizable by default, stale on request, anything else 400")
    func readConsistency() async throws {
        try await withNode { node in
            node.replica.seed(.set(["k": "v"]))
            _ = try await node.request("GET", "/key/k")
            _ = try await node.request("GET", "/key/k?consistency=linearizable")
            _ = try await node.request("GET", "/key/k?x=1&consistency=stale")
            let bad = try await node.request("GET", "/key/k?consistency=eventual")
            #expect(bad.status == 400)
            #expect(
                bad.bodyText
                    == #"{"error":"consistency must be linearizable or stale","consistency":"eventual"}"#)
            let reads = node.replica.state.withLock { $0.reads.map(\.consistency) }
            #expect(reads == [.linearizable, .linearizable, .stale])
        }
    }

    @Test("DELETE /key/<k> reports the previous version; an absent key is 404")
    func deleteKey() async throws {
        try await withNode { node in
            node.replica.seed(.set(["k": "v"]))
            let deleted = try await node.request("DELETE", "/key/k")
            #expect(deleted.status == 200)
            #expect(deleted.bodyText == #"{"deleted":"k","previous_version":1}"#)
            #expect(node.replica.store.get("k") == nil)
            let absent = try await node.request("DELETE", "/key/k")
            #expect(absent.status == 404)
            #expect(absent.bodyText == #"{"error":"key not found","key":"k"}"#)
        }
    }

    @Test("PUT without conditions creates (201) then updates (200), with the new version as ETag")
    func putUnconditional() async throws {
        try await withNode { node in
            let created = try await node.request("PUT", "/key/k", body: #""one""#)
            #expect(created.status == 201)
            #expect(created.bodyText == #"{"version":1}"#)
            #expect(created.header("ETag") == #""1""#)
            let updated = try await node.request("PUT", "/key/k", body: #""two""#)
            #expect(updated.status == 200)
            #expect(updated.bodyText == #"{"version":2}"#)
            #expect(updated.header("ETag") == #""2""#)
            #expect(node.replica.store.get("k") == KVItem(value: "two", version: LogIndex(2)))
        }
    }

    @Test("PUT with If-Match writes only at the matching version; a mismatch is 412 with the current version")
    func putIfMatch() async throws {
        try await withNode { node in
            node.replica.seed(.set(["k": "v"]))
            let stale = try await node.request(
                "PUT", "/key/k", headers: [("If-Match", #""7""#)], body: #""x""#)
            #expect(stale.status == 412)
            #expect(stale.bodyText == #"{"error":"version mismatch","current_version":1}"#)
            #expect(stale.header("ETag") == #""1""#)
            // The refused write still took a log index (2), as it does in Raft.
            let matched = try await node.request(
                "PUT", "/key/k", headers: [("If-Match", #""1""#)], body: #""x""#)
            #expect(matched.status == 200)
            #expect(matched.bodyText == #"{"version":3}"#)
            #expect(matched.header("ETag") == #""3""#)
            let unquoted = try await node.request(
                "PUT", "/key/k", headers: [("If-Match", "3")], body: #""y""#)
            #expect(unquoted.status == 200)
            let absent = try await node.request(
                "PUT", "/key/none", headers: [("If-Match", #""1""#)], body: #""x""#)
            #expect(absent.status == 412)
            #expect(absent.bodyText == #"{"error":"version mismatch","current_version":null}"#)
            #expect(absent.header("ETag") == nil)
            #expect(node.replica.store.get("k") == KVItem(value: "y", version: LogIndex(4)))
            #expect(node.replica.store.get("none") == nil)
        }
    }

    @Test("PUT with If-Match: * updates only, If-None-Match: * creates only")
    func putWildcards() async throws {
        try await withNode { node in
            let noKey = try await node.request("PUT", "/key/k", headers: [("If-Match", "*")], body: #""x""#)
            #expect(noKey.status == 412)
            let create = try await node.request(
                "PUT", "/key/k", headers: [("If-None-Match", "*")], body: #""x""#)
            #expect(create.status == 201)
            #expect(create.header("ETag") == #""2""#)
            let again = try await node.request(
                "PUT", "/key/k", headers: [("If-None-Match", "*")], body: #""y""#)
            #expect(again.status == 412)
            #expect(again.bodyText == #"{"error":"version mismatch","current_version":2}"#)
            let update = try await node.request("PUT", "/key/k", headers: [("If-Match", "*")], body: #""z""#)
            #expect(update.status == 200)
            #expect(node.replica.store.get("k") == KVItem(value: "z", version: LogIndex(4)))
        }
    }

    struct BadPut: CustomTestStringConvertible, Sendable {
        var headers: [String: String]
        var body: String
        var error: String
        var testDescription: String { error }
    }

    @Test(
        "PUT refuses bad conditions and bodies with 400, and writes nothing",
        arguments: [
            BadPut(
                headers: ["If-Match": #"W/"1""#], body: #""x""#,
                error: "weak ETags cannot be used in If-Match: versions are compared exactly"),
            BadPut(
                headers: ["If-Match": "abc"], body: #""x""#,
                error: #"If-Match must be one version, as in \"42\", or *"#),
            BadPut(
                headers: ["If-Match": #""1", "2""#], body: #""x""#,
                error: #"If-Match must be one version, as in \"42\", or *"#),
            BadPut(
                headers: ["If-Match": "1", "If-None-Match": "*"], body: #""x""#,
                error: "send If-Match or If-None-Match, not both"),
            BadPut(
                headers: ["If-None-Match": #""3""#], body: #""x""#,
                error: "If-None-Match must be * (write only if the key does not exist)"),
            BadPut(
                headers: [:], body: #"{"v":"x"}"#,
                error: #"the body must be a JSON string, as in \"value\", not an object"#),
            BadPut(headers: [:], body: "x", error: "malformed JSON at byte 0: unexpected character"),
            BadPut(
                headers: [:], body: "12",
                error: #"the body must be a JSON string, as in \"value\", not a number"#),
        ])
    func putRefusesBadRequests(_ bad: BadPut) async throws {
        try await withNode { node in
            let response = try await node.request(
                "PUT", "/key/k", headers: bad.headers.map { ($0.key, $0.value) }, body: bad.body)
            #expect(response.status == 400)
            #expect(response.bodyText == #"{"error":"\#(bad.error)"}"#)
            #expect(node.replica.commands.isEmpty)
        }
    }

    @Test("client session headers stamp the command; a retry is answered without applying twice")
    func clientSession() async throws {
        try await withNode { node in
            let id = "0123456789abcdef0123456789ABCDEF"
            let headers = [("Keyval-Client-Id", id), ("Keyval-Sequence", "1")]
            let first = try await node.request("POST", "/key", headers: headers, body: #"{"a":"1"}"#)
            #expect(first.bodyText == #"{"created":1,"updated":0,"version":1}"#)
            let retry = try await node.request("POST", "/key", headers: headers, body: #"{"a":"1"}"#)
            #expect(retry.status == 200)
            #expect(retry.bodyText == #"{"created":1,"updated":0,"version":1}"#)
            #expect(node.replica.store.get("a")?.version == LogIndex(1))
            #expect(
                node.replica.commands.first?.client
                    == ClientRequest(clientID: ClientID(hex: id)!, sequence: 1))

            let next = [("Keyval-Client-Id", id), ("Keyval-Sequence", "3")]
            let put = try await node.request(
                "PUT", "/key/a", headers: next + [("If-Match", "1")], body: #""2""#)
            #expect(put.status == 200)
            let old = [("Keyval-Client-Id", id), ("Keyval-Sequence", "2")]
            let stale = try await node.request("DELETE", "/key/a", headers: old)
            #expect(stale.status == 409)
            #expect(
                stale.bodyText
                    == #"{"error":"stale request: this client session has already applied a later request (sequence 3)","last_sequence":3}"#
            )
            #expect(node.replica.store.get("a") != nil)

            let unknown = [("Keyval-Client-Id", String(repeating: "f", count: 32)), ("Keyval-Sequence", "5")]
            let expired = try await node.request("DELETE", "/key/a", headers: unknown)
            #expect(expired.status == 409)
            #expect(expired.bodyText.contains("the client session has expired"))
            #expect(node.replica.store.get("a") != nil)
        }
    }

    @Test(
        "bad client session headers are 400",
        arguments: [
            (
                [("Keyval-Client-Id", "0123456789abcdef0123456789abcdef")],
                "Keyval-Client-Id and Keyval-Sequence go together: send both or neither"
            ),
            (
                [("Keyval-Sequence", "1")],
                "Keyval-Client-Id and Keyval-Sequence go together: send both or neither"
            ),
            (
                [("Keyval-Client-Id", "xyz"), ("Keyval-Sequence", "1")],
                "Keyval-Client-Id must be 32 hexadecimal digits"
            ),
            (
                [("Keyval-Client-Id", "0123456789abcdef0123456789abcdef"), ("Keyval-Sequence", "0")],
                "Keyval-Sequence must be a decimal number from 1 to 18446744073709551615"
            ),
            (
                [("Keyval-Client-Id", "0123456789abcdef0123456789abcdef"), ("Keyval-Sequence", "+1")],
                "Keyval-Sequence must be a decimal number from 1 to 18446744073709551615"
            ),
        ])
    func badClientHeaders(headers: [(String, String)], error: String) async throws {
        try await withNode { node in
            let response = try await node.request(
                "POST", "/key", headers: headers.map { ($0.0, $0.1) }, body: #"{"a":"1"}"#)
            #expect(response.status == 400)
            #expect(response.bodyText == #"{"error":"\#(error)"}"#)
            #expect(node.replica.commands.isEmpty)
        }
    }

    @Test("many requests on one keep-alive client all succeed")
    func keepAlive() async throws {
        try await withNode { node in
            for i in 1...50 {
                let response = try await node.request("PUT", "/key/k", body: #""\#(i)""#)
                #expect(response.status == (i == 1 ? 201 : 200))
                #expect(response.header("Connection") != "close")
            }
            #expect(node.replica.store.get("k") == KVItem(value: "50", version: LogIndex(50)))
        }
    }
}

/// `string` as the JSON writer quotes it, for building expected bodies.
func quoted(_ string: String) -> String {
    var result = "\""
    for scalar in string.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        default: result.unicodeScalars.append(scalar)
        }
    }
    return result + "\""
}
