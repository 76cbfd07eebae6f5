import Foundation
import KeyVal
import KeyValClient
import KeyValHTTP
import Testing

/// `/join`, `/status`, `/health`, unknown routes and wrong methods, and how replica errors map.
@Suite("cluster routes and errors", .timeLimit(.minutes(1)))
struct ClusterRoutesTests {
    @Test("POST /join adds the member, with or without haddr")
    func join() async throws {
        try await withNode { node in
            let full = try await node.request(
                "POST", "/join", body: #"{"id":"n2","addr":"10.0.0.2:7000","haddr":"10.0.0.2:8000"}"#)
            #expect(full.status == 200)
            #expect(full.bodyText == "{}")
            let bare = try await node.request(
                "POST", "/join", body: #"{"addr":"[::1]:7001","id":"n3","extra":1}"#)
            #expect(bare.status == 200)
            let joins = node.replica.state.withLock { $0.joins }
            #expect(
                joins == [
                    JoinRequest(id: "n2", addr: "10.0.0.2:7000", haddr: "10.0.0.2:8000"),
                    JoinRequest(id: "n3", addr: "[::1]:7001", haddr: nil),
                ])
        }
    }

    @Test(
        "POST /join refuses a bad body with 400 and asks nothing of the replica",
        arguments: [
            (#"{"addr":"h:1"}"#, #"\"id\" is missing"#),
            (#"{"id":"n2"}"#, #"\"addr\" is missing"#),
            (#"{"id":2,"addr":"h:1"}"#, #"\"id\" is a number; expected a string"#),
            (#"{"id":"","addr":"h:1"}"#, "the member id is empty"),
            (
                #"{"id":"n 2","addr":"h:1"}"#,
                "the member id must not contain whitespace or control characters"
            ),
            (
                #"{"id":"n\u00012","addr":"h:1"}"#,
                "the member id must not contain whitespace or control characters"
            ),
            (
                #"{"id":"\#(String(repeating: "n", count: 129))","addr":"h:1"}"#,
                "the member id is 129 bytes, limit 128"
            ),
            (#"{"id":"n2","addr":"h"}"#, "addr is not host:port: "),
            (#"{"id":"n2","addr":"h:0"}"#, "addr needs a port other than 0"),
            (#"{"id":"n2","addr":"h:1","haddr":"::1:80"}"#, "haddr is not host:port: "),
            (#"["n2"]"#, #"the body must be a JSON object {\"id\": ..., \"addr\": ...}, not an array"#),
        ])
    func joinRefusesBadBodies(body: String, error: String) async throws {
        try await withNode { node in
            let response = try await node.request("POST", "/join", body: body)
            #expect(response.status == 400)
            #expect(response.bodyText.hasPrefix(#"{"error":"\#(error)"#))
            #expect(node.replica.state.withLock { $0.joins.isEmpty })
        }
    }

    @Test("DELETE /join/<id> removes the member")
    func removeMember() async throws {
        try await withNode { node in
            let response = try await node.request("DELETE", "/join/n%2D2")
            #expect(response.status == 200)
            #expect(response.bodyText == #"{"removed":"n-2"}"#)
            #expect(node.replica.state.withLock { $0.removals } == ["n-2"])
            let bad = try await node.request("DELETE", "/join/a%20b")
            #expect(bad.status == 400)
            #expect(node.replica.state.withLock { $0.removals } == ["n-2"])
            #expect(try await node.request("DELETE", "/join/n3?force=true").status == 200)
            #expect(try await node.request("DELETE", "/join/n4?force=maybe").status == 400)
            #expect(node.replica.state.withLock { $0.removals } == ["n-2", "n3 (forced)"])
        }
    }

    @Test("membership errors map to 400 and 409")
    func membershipErrors() async throws {
        try await withNode { node in
            node.replica.mode = .failing(
                .invalidMembershipChange(reason: "address 10.0.0.2:7000 is in use by n4"))
            let invalid = try await node.request(
                "POST", "/join", body: #"{"id":"n2","addr":"10.0.0.2:7000"}"#)
            #expect(invalid.status == 400)
            #expect(invalid.bodyText == #"{"error":"address 10.0.0.2:7000 is in use by n4"}"#)
            node.replica.mode = .failing(.membershipChangeInProgress)
            let busy = try await node.request("DELETE", "/join/n2")
            #expect(busy.status == 409)
            #expect(busy.header("Retry-After") == "1")
            #expect(busy.bodyText == #"{"error":"another membership change is in progress; retry shortly"}"#)
        }
    }

    @Test("POST /leader is 200 with the new leader, 409 with what happened when the target did not take over")
    func transferLeadership() async throws {
        try await withNode { node in
            let ok = try await node.request("POST", "/leader", body: #"{"id":"n2"}"#)
            #expect(ok.status == 200)
            #expect(ok.bodyText == #"{"leader":"n2"}"#)
            node.replica.mode = .failing(
                .leadershipTransferFailed(reason: "n2 did not take over; n1 stepped down after losing quorum")
            )
            let failed = try await node.request("POST", "/leader", body: #"{"id":"n2"}"#)
            #expect(failed.status == 409)
            #expect(
                failed.bodyText
                    == #"{"error":"leadership transfer failed: n2 did not take over; n1 stepped down after losing quorum"}"#
            )
        }
    }

    @Test("GET /status is the replica's report with snake_case keys; an unknown leader is null")
    func status() async throws {
        try await withNode { node in
            node.replica.seed(.set(["a": "1"]))
            let response = try await node.request("GET", "/status")
            #expect(response.status == 200)
            #expect(response.header("Content-Type") == "application/json")
            let report = try JSONDecoder().decode(StatusReport.self, from: Data(response.body))
            #expect(report == (await node.replica.status()))
            #expect(response.bodyText.contains(#""commit_index":1"#))
            #expect(response.bodyText.contains(#""cluster_id":"00ff""#))

            node.replica.mode = .failing(.unavailable(reason: "stopping"))
            let leaderless = try await node.request("GET", "/status")
            #expect(leaderless.status == 200)
            #expect(leaderless.bodyText.contains(#""leader":null"#))
        }
    }

    @Test("GET /health is 200 with the leader, or 503 with Retry-After without one")
    func health() async throws {
        try await withNode { node in
            let ok = try await node.request("GET", "/health")
            #expect(ok.status == 200)
            #expect(ok.bodyText == #"{"status":"ok","leader":"n1"}"#)
            node.replica.mode = .follower(leader: nil)
            let none = try await node.request("GET", "/health")
            #expect(none.status == 503)
            #expect(none.header("Retry-After") == "1")
            #expect(
                none.bodyText
                    == #"{"error":"no leader is known; an election is probably under way","status":"no leader"}"#
            )
        }
    }

    @Test("an unknown route is 404 JSON")
    func unknownRoute() async throws {
        try await withNode { node in
            for path in ["/", "/keys", "/key2/a", "/status/x"] {
                let response = try await node.request("GET", path)
                #expect(response.status == 404)
                #expect(response.bodyText == #"{"error":"no such route","path":"\#(path)"}"#)
                #expect(response.header("Content-Type") == "application/json")
            }
        }
    }

    @Test(
        "a known path with a wrong method is 405 with Allow",
        arguments: [
            ("GET", "/key", "POST"), ("PATCH", "/key/a", "GET, PUT, DELETE"),
            ("POST", "/key/a", "GET, PUT, DELETE"),
            ("GET", "/join", "POST"), ("GET", "/join/n2", "DELETE"), ("POST", "/status", "GET"),
            ("DELETE", "/health", "GET"),
        ])
    func methodNotAllowed(method: String, path: String, allow: String) async throws {
        try await withNode { node in
            let response = try await node.request(method, path)
            #expect(response.status == 405)
            #expect(response.header("Allow") == allow)
            #expect(
                response.bodyText == #"{"error":"\#(method) is not allowed on \#(path)","allow":"\#(allow)"}"#
            )
            #expect(node.replica.commands.isEmpty)
        }
    }

    @Test(
        "replica errors map to 503 with Retry-After; those where nothing was proposed say not applied",
        arguments: [
            (
                ReplicaError.notLeader(leader: nil),
                "no leader is known; an election is probably under way; the request was not applied", true
            ),
            (
                .notLeader(leader: StatusReport.Leader(id: "n9", haddr: "", raddr: "h:1")),
                "this node is not the leader, and the leader n9 has no known HTTP address; the request was not applied",
                true
            ),
            (
                .outcomeUnknown(reason: "leadership lost"),
                "the outcome is unknown (leadership lost); retry with the same Keyval-Client-Id and Keyval-Sequence to learn it",
                false
            ),
            (.unavailable(reason: "shutting down"), "the node is unavailable: shutting down", false),
        ])
    func replicaErrors(error: ReplicaError, message: String, notApplied: Bool) async throws {
        try await withNode { node in
            node.replica.mode = .failing(error)
            for (method, path, body) in [
                ("POST", "/key", #"{"a":"1"}"#), ("GET", "/key/a", ""), ("DELETE", "/key/a", ""),
            ] {
                let response = try await node.request(method, path, body: body)
                #expect(response.status == 503)
                #expect(response.header("Retry-After") == "1")
                #expect(response.bodyText.hasPrefix(#"{"error":"\#(message)""#))
                #expect(response.bodyText.contains(#""applied":false"#) == notApplied, "\(response.bodyText)")
            }
        }
    }

    @Test(
        "a join whose new member's address is another node or silent maps to 409, 502 or 504, without Retry-After",
        arguments: [
            (ReplicaError.memberConflict(reason: "the node at h:1 is n7, not n2"), 409),
            (.memberUnreachable(reason: "cannot connect to h:1", timedOut: false), 502),
            (.memberUnreachable(reason: "h:1 did not answer", timedOut: true), 504),
        ])
    func joinRefusals(error: ReplicaError, status: Int) async throws {
        try await withNode { node in
            node.replica.mode = .failing(error)
            let response = try await node.request("POST", "/join", body: #"{"id":"n2","addr":"h:1"}"#)
            #expect(response.status == status)
            #expect(response.header("Retry-After") == nil)
            #expect(response.bodyText == #"{"error":"\#(error.description)"}"#)
        }
    }
}
