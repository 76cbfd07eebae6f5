/// A parsed JSON document, as far as the API needs one: requests are small objects of strings or
/// a single string, and everything else is parsed only to say what it is in an error message.
// `Sendable` is spelled out: inferring it for this recursive enum fails with a "circular
// reference" error in Swift 6.3.
package enum JSONValue: Sendable {
    case string(String)
    /// Numbers are never accepted as values; only their presence matters.
    case number
    case bool(Bool)
    case null
    case array([JSONValue])
    /// Members in document order. `JSONParser` rejects duplicate names.
    case object([(name: String, value: JSONValue)])

    /// What the value is, for messages such as "the value of \"a\" is a number, expected a string".
    package var kind: String {
        switch self {
        case .string: "a string"
        case .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
