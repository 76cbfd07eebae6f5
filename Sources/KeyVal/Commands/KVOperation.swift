/// What a key-value write does, independent of who asked.
public enum KVOperation: Sendable, Equatable {
    /// Writes every key, atomically, in one log entry (`POST /key {"k":"v",…}`). Each written key's
    /// version becomes the entry's index.
    case set([String: String])
    /// Removes a key (`DELETE /key/<k>`); deleting an absent key is not an error.
    case delete(String)
    /// Writes `value` only if `condition` holds for the key's current version (`PUT /key/<k>` with
    /// `If-Match` or `If-None-Match: *`), so a client can update without losing a concurrent write.
    case compareAndSet(key: String, condition: KVCondition, value: String)
}
