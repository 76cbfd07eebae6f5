import Hummingbird
import KeyVal
import Raft

/// Hummingbird re-exports `HTTPFields` but not `HTTPField`, and HTTPTypes is not a direct
/// dependency of this target; the element type names it without an undeclared import.
typealias HTTPField = HTTPFields.Element

extension HTTPField.Name {
    /// A client session's id: 32 hexadecimal digits (Raft thesis §6.3).
    static let keyvalClientID = HTTPField.Name("Keyval-Client-Id")!
    /// The request's sequence number in its session, from 1.
    static let keyvalSequence = HTTPField.Name("Keyval-Sequence")!
    /// Set on a request a follower forwards to the leader: the follower's id. Such a request is
    /// never forwarded again.
    static let keyvalForwardedBy = HTTPField.Name("Keyval-Forwarded-By")!
    /// On a write's answer: how many members are known to hold it (`KVReplica.replicaCount`).
    static let keyvalReplicas = HTTPField.Name("Keyval-Replicas")!
    /// On the answer to a keyed write that this node served as the leader (applied, or refused by
    /// the state machine: 404, 409, 412): this node's id. A follower relays it when it forwards
    /// the write, so a client learns who leads from any write's answer and can send the next one
    /// there directly.
    static let keyvalLeader = HTTPField.Name("Keyval-Leader")!
}

extension HTTPFields {
    /// The client session stamp of a write, from `Keyval-Client-Id` and `Keyval-Sequence`
    /// (both or neither).
    func clientRequest() throws(APIError) -> ClientRequest? {
        switch (self[.keyvalClientID], self[.keyvalSequence]) {
        case (nil, nil):
            return nil
        case (let id?, let sequence?):
            guard let clientID = ClientID(hex: id.trimmingHTTPWhitespace) else {
                throw .badRequest("Keyval-Client-Id must be 32 hexadecimal digits")
            }
            let digits = sequence.trimmingHTTPWhitespace
            guard digits.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let number = UInt64(digits),
                number >= 1
            else { throw .badRequest("Keyval-Sequence must be a decimal number from 1 to \(UInt64.max)") }
            return ClientRequest(clientID: clientID, sequence: number)
        default:
            throw .badRequest("Keyval-Client-Id and Keyval-Sequence go together: send both or neither")
        }
    }

    /// The precondition of a `PUT`: `If-Match: "<version>"` or `*`, or `If-None-Match: *`; nil
    /// when neither is sent (an unconditional write).
    func writeCondition() throws(APIError) -> KVCondition? {
        switch (self[.ifMatch], self[.ifNoneMatch]) {
        case (nil, nil):
            return nil
        case (_?, _?):
            throw .badRequest("send If-Match or If-None-Match, not both")
        case (nil, let ifNoneMatch?):
            guard ifNoneMatch.trimmingHTTPWhitespace == "*" else {
                throw .badRequest("If-None-Match must be * (write only if the key does not exist)")
            }
            return .absent
        case (let ifMatch?, nil):
            let tag = ifMatch.trimmingHTTPWhitespace
            if tag == "*" { return .exists }
            if tag.hasPrefix("W/") {
                throw .badRequest("weak ETags cannot be used in If-Match: versions are compared exactly")
            }
            var digits = Substring(tag)
            if digits.utf8.count >= 2, digits.hasPrefix("\""), digits.hasSuffix("\"") {
                digits = digits.dropFirst().dropLast()
            }
            guard !digits.isEmpty, digits.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
                let version = UInt64(digits)
            else { throw .badRequest("If-Match must be one version, as in \"42\", or *") }
            return .versionEquals(LogIndex(version))
        }
    }
}

extension String {
    /// Without leading and trailing spaces and tabs, the only whitespace a header value may have.
    var trimmingHTTPWhitespace: String {
        let isSpace = { (c: Character) in c == " " || c == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(self[first...last])
    }
}
