/// One replicated key-value write: the payload of one Raft log entry.
///
/// `KVService` validates and encodes a command, proposes the bytes, and every replica decodes and
/// applies them with `KVStore.apply(_:at:)`. The optional `client` stamp lets the store drop
/// retries that were already applied. The static constructors read like enum cases:
/// `.set(["a": "1"])`, `.delete("a", client: request)`.
public struct KVCommand: Sendable, Equatable, CustomStringConvertible {
    public var operation: KVOperation
    /// Present when the write comes from a client session that must be deduplicated.
    public var client: ClientRequest?

    public init(_ operation: KVOperation, client: ClientRequest? = nil) {
        self.operation = operation
        self.client = client
    }

    // MARK: Limits
    // They are part of the replicated format: every replica must agree on them, so raising one
    // needs a new format version.

    /// Longest key, in UTF-8 bytes.
    public static let maxKeyBytes = 1024
    /// Longest value, in UTF-8 bytes.
    public static let maxValueBytes = 1 << 20
    /// Largest encoded command. Twice the longest value leaves room for a few keys while keeping an
    /// entry close to `RaftConfig.maxAppendBytes`, so one write cannot stall replication for long.
    public static let maxCommandBytes = 2 << 20

    public static func set(_ pairs: [String: String], client: ClientRequest? = nil) -> KVCommand {
        KVCommand(.set(pairs), client: client)
    }

    public static func delete(_ key: String, client: ClientRequest? = nil) -> KVCommand {
        KVCommand(.delete(key), client: client)
    }

    public static func compareAndSet(
        _ key: String, if condition: KVCondition, value: String, client: ClientRequest? = nil
    ) -> KVCommand {
        KVCommand(.compareAndSet(key: key, condition: condition, value: value), client: client)
    }

    /// Checks the limits. The HTTP layer calls this before proposing, so a bad request costs no log
    /// entry; `decode(_:)` and `KVStore.apply(_:at:)` enforce the same rules.
    public func validate() throws(KVError) {
        if let client, client.sequence == 0 { throw .invalidSequence }
        switch operation {
        case .set(let pairs):
            if pairs.isEmpty { throw .emptySet }
            for (key, value) in pairs {
                try Self.validate(key: key)
                try Self.validate(value: value)
            }
        case .delete(let key):
            try Self.validate(key: key)
        case .compareAndSet(let key, _, let value):
            try Self.validate(key: key)
            try Self.validate(value: value)
        }
        let size = encodedByteCount
        if size > Self.maxCommandBytes { throw .commandTooLarge(bytes: size) }
    }

    static func validate(key: String) throws(KVError) {
        let bytes = key.utf8.count
        if bytes == 0 { throw .emptyKey }
        if bytes > maxKeyBytes { throw .keyTooLong(bytes: bytes) }
    }

    static func validate(value: String) throws(KVError) {
        let bytes = value.utf8.count
        if bytes > maxValueBytes { throw .valueTooLong(bytes: bytes) }
    }

    /// Short form for logs and test failures, e.g. `set a=1 b=2`, `c0…01#3 cas k if absent`.
    public var description: String {
        let body: String
        switch operation {
        case .set(let pairs):
            let sorted = pairs.sorted { StoreKey($0.key) < StoreKey($1.key) }
            body = "set " + sorted.map { "\($0.key)=\(abbreviated($0.value))" }.joined(separator: " ")
        case .delete(let key): body = "delete \(key)"
        case .compareAndSet(let key, let condition, let value):
            body = "cas \(key)=\(abbreviated(value)) if \(condition)"
        }
        return client.map { "\($0) \(body)" } ?? body
    }
}

/// Long values would drown a log line; 32 characters are enough to recognise one.
private func abbreviated(_ value: String) -> String {
    value.utf8.count <= 32 ? value : value.prefix(29) + "…"
}
