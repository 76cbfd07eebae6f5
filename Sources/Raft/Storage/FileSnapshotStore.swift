#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The production `SnapshotStore`: one file per snapshot in `<data-dir>/snapshots/`, named
/// `snapshot-<index>-<term>.snap` with both numbers zero-padded to 20 digits, so the newest
/// sorts last. Only the newest `retainedCount` files are kept.
///
/// Used from one task at a time (the node's loop), as `SnapshotStore` requires. It is
/// deliberately not `Sendable`. Apart from a failed save (below) it keeps no state beyond its
/// directory's path, so a restarted node simply opens the directory again.
///
/// **Saving** writes `<name>.tmp`, fsyncs it, renames it to `<name>` and fsyncs the directory,
/// so a crash leaves either the old set of files or the new one (plus, perhaps, a `.tmp` file,
/// which the next open removes). Older files are deleted only after the new one is durable.
///
/// **File format**, version 1, integers little-endian:
/// ```
/// offset   bytes  field
/// 0        8      magic "KVSNAP\0\0"
/// 8        2      format version (1)
/// 10       8      last included index
/// 18       8      its term
/// 26       4      C: length of the configuration block
/// 30       C      configuration block: u32 voter count, then per voter (sorted) a u32 UTF-8
///                 length and the name's bytes
/// 30+C     8      D: length of the data
/// 38+C     4      CRC-32C of bytes 0 ..< 38+C (the header)
/// 42+C     D      the state machine's data
/// 42+C+D   4      CRC-32C of the data
/// ```
/// The configuration block is length-prefixed so that a later version can add learners and
/// per-member addresses to it without moving anything else.
///
/// After a failed save the store refuses every further call with that error, like the
/// `LogStore`s: once an fsync has failed, the kernel may have dropped unwritten pages, so a retry
/// could report a durability it does not have. A refused `.invalidArgument` changes nothing and
/// does not count.
///
/// **Loading** takes the newest file by name and throws `.corrupt` naming it when anything is
/// off: magic, version, lengths (a truncated file or trailing bytes), either checksum, the
/// configuration's encoding, or a header whose index and term differ from the file name. It
/// never falls back to an older file: the log may already be compacted up to the newest one.
public final class FileSnapshotStore: SnapshotStore {
    /// The subdirectory of the data directory that holds the snapshot files.
    public static let directoryName = "snapshots"
    /// How many snapshot files `save` keeps, newest first.
    public static let retainedCount = 2
    /// The file format version this build reads and writes.
    public static let formatVersion = SnapshotFileFormat.version

    /// `<data-dir>/snapshots`; every error names it or a file in it.
    public let directory: String
    /// The first failed save; set once, then every call throws it.
    private var failure: StorageError?

    /// Data is checksummed and moved in pieces of this size, so each piece is checksummed
    /// while it is still in the CPU cache.
    private static let chunkSize = 1 << 20
    /// A file being saved is flushed every this many bytes, not only once at the end. Otherwise a
    /// 120 MB snapshot sits dirty in the page cache and its one final fsync flushes all of it at
    /// once; the node's log syncs on the same disk (and, on ext4, the same journal) then wait
    /// behind it: 100-160 ms log syncs were seen on every node at each snapshot. Flushing in
    /// pieces keeps what a log sync can queue behind to a few megabytes.
    private static let syncInterval = 8 << 20

    /// Opens `<directory>/snapshots`, creating it when missing, and removes `.tmp` files left by
    /// a save that crashed. `directory`, the node's data directory, must exist.
    public init(directory dataDirectory: String) throws(StorageError) {
        try FileSystem.requireDirectory(dataDirectory)
        let parent = dataDirectory.hasSuffix("/") ? String(dataDirectory.dropLast()) : dataDirectory
        directory = parent + "/" + Self.directoryName
        if try FileSystem.makeDirectory(directory) {
            try FileSystem.syncDirectory(parent)
        }
        for name in try FileSystem.listDirectory(directory) where Self.isTemporary(name) {
            try FileSystem.removeIfPresent(path(of: name))
        }
    }

    /// The name of the file that holds the snapshot through `index` at `term`.
    public static func fileName(index: LogIndex, term: Term) -> String {
        SnapshotFileFormat.fileName(index: index, term: term)
    }

    // MARK: SnapshotStore

    /// Stores `snapshot` durably and atomically, then deletes all but the newest
    /// `retainedCount` snapshot files.
    ///
    /// Throws `.invalidArgument` for a snapshot older than the newest stored one, or at the same
    /// index with another term: the store never goes back (a restart must not lower the applied
    /// index), and such a call can only be a bug in the caller. Saving the newest snapshot again
    /// replaces its file atomically. An error after the rename (syncing the directory, deleting
    /// old files) leaves the new snapshot in place but maybe not durable; the node stops either way.
    public func save(_ snapshot: StoredSnapshot) throws(StorageError) {
        if let failure { throw failure }
        let metadata = snapshot.metadata
        let stored = try storedSnapshots()
        if let newest = stored.last,
            metadata.index < newest.index || (metadata.index == newest.index && metadata.term != newest.term)
        {
            throw .invalidArgument(
                "snapshot \(metadata.index) \(metadata.term) is older than or conflicts with the stored "
                    + "\(newest.index) \(newest.term) in \(directory)")
        }

        do throws(StorageError) {
            try write(snapshot, replacing: stored)
        } catch {
            failure = error
            throw error
        }
    }

    /// The newest snapshot, fully verified, or nil when the directory holds none. Throws
    /// `.corrupt` naming the newest file when it fails any check; older files are not consulted.
    public func loadNewest() throws(StorageError) -> StoredSnapshot? {
        if let failure { throw failure }
        guard let newest = try storedSnapshots().last else { return nil }
        return try read(newest)
    }

    // MARK: Files

    /// A file whose name is a snapshot file name.
    private struct StoredFile {
        var name: String
        var index: LogIndex
        var term: Term
    }

    /// The snapshot files in the directory, oldest first.
    private func storedSnapshots() throws(StorageError) -> [StoredFile] {
        try FileSystem.listDirectory(directory)
            .compactMap { name in
                SnapshotFileFormat.parseFileName(name).map {
                    StoredFile(name: name, index: $0.index, term: $0.term)
                }
            }
            .sorted { ($0.index, $0.term) < ($1.index, $1.term) }
    }

    private static func isTemporary(_ name: String) -> Bool {
        let suffix = SnapshotFileFormat.temporarySuffix
        guard name.hasSuffix(suffix) else { return false }
        return SnapshotFileFormat.parseFileName(String(name.dropLast(suffix.count))) != nil
    }

    private func path(of name: String) -> String { directory + "/" + name }

    /// Publishes `snapshot` (write, fsync, rename, fsync the directory), then deletes the oldest of
    /// the `stored` files until `retainedCount` remain.
    private func write(_ snapshot: StoredSnapshot, replacing stored: [StoredFile]) throws(StorageError) {
        let name = Self.fileName(index: snapshot.metadata.index, term: snapshot.metadata.term)
        let path = path(of: name)
        let temporary = path + SnapshotFileFormat.temporarySuffix
        try write(snapshot, to: temporary)
        try FileSystem.renameFile(temporary, to: path)
        try FileSystem.syncDirectory(directory)

        // Deleting is not synced: if a crash brings an old file back, the next save deletes it.
        let kept = (stored.map(\.name) + [name]).sorted().suffix(Self.retainedCount)
        for old in stored where !kept.contains(old.name) {
            try FileSystem.removeIfPresent(self.path(of: old.name))
        }
    }

    /// Writes the whole file at `path` and fsyncs it; removes it again if anything fails.
    private func write(_ snapshot: StoredSnapshot, to path: String) throws(StorageError) {
        let header = SnapshotFileFormat.encodeHeader(snapshot.metadata, dataCount: snapshot.data.count)
        let descriptor = try FileSystem.openFile(path, O_WRONLY | O_CREAT | O_TRUNC, operation: "create")
        do throws(StorageError) {
            try FileSystem.writeAll(descriptor, header, path: path)
            var checksum: UInt32 = 0
            try snapshot.data.withUnsafeBytes { data in
                Result { () throws(StorageError) in
                    var start = 0
                    var unsynced = 0
                    while start < data.count {
                        let end = min(start + Self.chunkSize, data.count)
                        let chunk = UnsafeRawBufferPointer(rebasing: data[start..<end])
                        checksum = CRC32C.update(checksum, chunk)
                        try FileSystem.writeAll(descriptor, chunk, path: path)
                        unsynced += chunk.count
                        if unsynced >= Self.syncInterval {
                            try FileSystem.syncData(descriptor, path: path)
                            unsynced = 0
                        }
                        start = end
                    }
                }
            }.get()
            var trailer: [UInt8] = []
            SnapshotFileFormat.append(checksum, to: &trailer)
            try FileSystem.writeAll(descriptor, trailer, path: path)
            try FileSystem.sync(descriptor, path: path)
        } catch {
            close(descriptor)
            try? FileSystem.removeIfPresent(path)
            throw error
        }
        do throws(StorageError) {
            try FileSystem.closeFile(descriptor, path: path)
        } catch {
            try? FileSystem.removeIfPresent(path)
            throw error
        }
    }

    /// Reads and verifies one snapshot file.
    private func read(_ file: StoredFile) throws(StorageError) -> StoredSnapshot {
        let path = path(of: file.name)
        let descriptor = try FileSystem.openFile(path, O_RDONLY, operation: "open")
        defer { close(descriptor) }
        let size = try FileSystem.size(descriptor, path: path)

        // Header: its fixed prefix says how long the rest is.
        let prefix = try FileSystem.readFully(
            descriptor, count: min(size, SnapshotFileFormat.fixedPrefixCount), at: 0, path: path)
        let headerCount = try SnapshotFileFormat.headerCount(prefix: prefix, fileSize: size, path: path)
        let minimumSize = headerCount + SnapshotFileFormat.checksumCount
        guard size >= minimumSize else {
            throw .corrupt(
                path: path,
                reason: "truncated: \(size) bytes, but the header and checksums need \(minimumSize)")
        }
        let header = try SnapshotFileFormat.decodeHeader(
            FileSystem.readFully(descriptor, count: headerCount, at: 0, path: path), path: path)
        let expectedSize = headerCount + header.dataCount + SnapshotFileFormat.checksumCount
        guard size >= expectedSize else {
            throw .corrupt(
                path: path,
                reason: "truncated: \(size) bytes, expected \(expectedSize) with the data")
        }
        guard size == expectedSize else {
            throw .corrupt(
                path: path,
                reason: "\(size - expectedSize) unexpected bytes after the data checksum (\(size) bytes, "
                    + "expected \(expectedSize))")
        }
        let metadata = header.metadata
        guard metadata.index == file.index && metadata.term == file.term else {
            throw .corrupt(
                path: path,
                reason: "the header says \(metadata.index) \(metadata.term), "
                    + "the file name says \(file.index) \(file.term)")
        }

        // Data, checksummed piece by piece as it arrives.
        var checksum: UInt32 = 0
        var failure: StorageError?
        let data = [UInt8](unsafeUninitializedCapacity: header.dataCount) { buffer, initialized in
            let buffer = UnsafeMutableRawBufferPointer(buffer)
            while initialized < buffer.count {
                let chunk = UnsafeMutableRawBufferPointer(
                    rebasing: buffer[initialized..<min(initialized + Self.chunkSize, buffer.count)])
                let filled: Int
                do throws(StorageError) {
                    filled = try FileSystem.readFully(
                        descriptor, into: chunk, at: headerCount + initialized, path: path)
                } catch {
                    failure = error
                    return
                }
                checksum = CRC32C.update(checksum, UnsafeRawBufferPointer(rebasing: chunk[..<filled]))
                initialized += filled
                if filled < chunk.count {
                    // The file shrank after fstat: another process is writing our directory.
                    failure = .corrupt(path: path, reason: "truncated while reading the data")
                    return
                }
            }
        }
        if let failure { throw failure }
        let trailer = try FileSystem.readFully(
            descriptor, count: SnapshotFileFormat.checksumCount, at: headerCount + header.dataCount,
            path: path)
        var reader = SnapshotFileFormat.Reader(trailer)
        guard let stored = reader.read(UInt32.self) else {
            throw .corrupt(path: path, reason: "truncated while reading the data checksum")
        }
        guard stored == checksum else {
            throw .corrupt(
                path: path,
                reason: "data checksum mismatch: stored \(SnapshotFileFormat.hex(stored)), "
                    + "computed \(SnapshotFileFormat.hex(checksum))")
        }
        return StoredSnapshot(metadata: metadata, data: data)
    }
}
