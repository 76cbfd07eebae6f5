#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The few file-system calls the SQLite stores make around the database itself: checking the
/// data directory, and publishing a freshly created database file atomically (fsync, rename,
/// fsync of the directory). Every failure names the path and carries `strerror`.
enum SQLiteFiles {
    /// Fails unless `path` is an existing directory. The stores never create their directory:
    /// a missing one usually means a wrong flag or an unmounted disk, not a first start.
    static func requireDirectory(_ path: String) throws(StorageError) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw .io(path: path, operation: "open data directory", reason: lastErrorText())
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw .io(path: path, operation: "open data directory", reason: "not a directory")
        }
    }

    /// Whether something exists at `path` (symbolic links are not followed).
    static func exists(_ path: String) throws(StorageError) -> Bool {
        var info = stat()
        if lstat(path, &info) == 0 { return true }
        if errno == ENOENT { return false }
        throw .io(path: path, operation: "stat", reason: lastErrorText())
    }

    /// The size of the file at `path`, or nil when there is none.
    static func size(_ path: String) throws(StorageError) -> Int? {
        var info = stat()
        if lstat(path, &info) == 0 { return Int(info.st_size) }
        if errno == ENOENT { return nil }
        throw .io(path: path, operation: "stat", reason: lastErrorText())
    }

    /// Up to `count` bytes from the start of the file at `path`.
    static func readPrefix(_ path: String, count: Int) throws(StorageError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .io(path: path, operation: "open", reason: lastErrorText()) }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let read = bytes[filled...].withUnsafeMutableBytes {
                pread(descriptor, $0.baseAddress, $0.count, off_t(filled))
            }
            if read < 0 && errno == EINTR { continue }
            guard read >= 0 else { throw .io(path: path, operation: "read", reason: lastErrorText()) }
            if read == 0 { break }
            filled += read
        }
        return Array(bytes[..<filled])
    }

    /// Removes the file at `path` if there is one.
    static func removeIfPresent(_ path: String) throws(StorageError) {
        guard unlink(path) == 0 || errno == ENOENT else {
            throw .io(path: path, operation: "remove", reason: lastErrorText())
        }
    }

    /// Flushes a file's data and metadata to the disk.
    static func sync(file path: String) throws(StorageError) {
        try sync(path, flags: O_RDONLY, operation: "fsync")
    }

    /// Flushes a directory, so a rename or creation inside it survives a crash.
    static func sync(directory path: String) throws(StorageError) {
        try sync(path, flags: O_RDONLY | O_DIRECTORY, operation: "fsync directory")
    }

    /// Atomically replaces `destination` with `source` (both in one directory).
    static func rename(_ source: String, to destination: String) throws(StorageError) {
        #if canImport(Glibc)
            let result = Glibc.rename(source, destination)
        #else
            let result = Darwin.rename(source, destination)
        #endif
        guard result == 0 else {
            throw .io(path: destination, operation: "rename from \(source)", reason: lastErrorText())
        }
    }

    private static func sync(_ path: String, flags: Int32, operation: String) throws(StorageError) {
        let descriptor = open(path, flags | O_CLOEXEC)
        guard descriptor >= 0 else { throw .io(path: path, operation: operation, reason: lastErrorText()) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else {
            throw .io(path: path, operation: operation, reason: lastErrorText())
        }
    }

    private static func lastErrorText() -> String {
        let code = errno
        return "\(String(cString: strerror(code))) (errno \(code))"
    }
}
