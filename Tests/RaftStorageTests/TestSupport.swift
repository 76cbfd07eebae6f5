import CSQLite
import Foundation
import Raft
import TestSupport
import Testing

/// The two `LogStore`s, for the contract suite that runs against both.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, memory
    var testDescription: String { rawValue }
}

/// A store of one kind in a directory, reopened the way a restarted node reopens its store.
final class StoreUnderTest {
    let kind: StoreKind
    let directory: String
    private(set) var store: any LogStore

    init(_ kind: StoreKind, directory: String) throws {
        self.kind = kind
        self.directory = directory
        switch kind {
        case .sqlite: store = try SQLiteLogStore(directory: directory)
        case .memory: store = MemoryLogStore()
        }
    }

    /// SQLite: closes the file and opens the directory again. Memory: a new store from what the
    /// old one kept (what a crash would leave).
    func reopen() throws {
        switch kind {
        case .sqlite:
            store = MemoryLogStore()  // releases, and so closes, the old database first
            store = try SQLiteLogStore(directory: directory)
        case .memory:
            store = MemoryLogStore((store as! MemoryLogStore).persisted)
        }
    }
}

/// Entries `range` of `term`, each with a few bytes that depend on its index and term.
func entries(_ range: ClosedRange<UInt64>, term: UInt64) -> [Entry] {
    range.map { index in
        Entry(
            term: Term(term), index: LogIndex(index),
            data: [UInt8(truncatingIfNeeded: index), UInt8(truncatingIfNeeded: term), 0xA5])
    }
}

/// The (index, term) pairs of a log, for compact expectations.
func shape(_ log: PersistedLog) -> [String] { log.entries.map(\.description) }

extension StorageError {
    var isInvalidArgument: Bool {
        if case .invalidArgument = self { true } else { false }
    }

    /// The reason of a `.corrupt` error, nil for any other.
    var corruptReason: String? {
        if case .corrupt(_, let reason) = self { reason } else { nil }
    }

    /// The path any error other than `.invalidArgument` names.
    var path: String? {
        switch self {
        case .corrupt(let path, _), .io(let path, _, _): path
        case .invalidArgument: nil
        }
    }
}

/// Runs SQL on a database file behind the store's back, to damage it in a precise way.
func executeRawSQL(_ sql: String, on path: String, create: Bool = false) throws {
    var db: OpaquePointer?
    let flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0)
    guard sqlite3_open_v2(path, &db, flags, nil) == SQLITE_OK, let db else {
        sqlite3_close_v2(db)
        throw TestFailure("cannot open \(path)")
    }
    defer { sqlite3_close_v2(db) }
    var message: UnsafeMutablePointer<CChar>?
    guard sqlite3_exec(db, sql, nil, nil, &message) == SQLITE_OK else {
        defer { sqlite3_free(message) }
        throw TestFailure("\(sql): \(message.map { String(cString: $0) } ?? "?")")
    }
}

/// Writes `bytes` as the whole content of the file at `path`.
func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
        throw TestFailure("cannot write \(path)")
    }
}
