#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The POSIX calls the stores make, in one place: checking the data directory, whole-buffer reads
/// and writes that survive short transfers and `EINTR`, fsync of files and directories, atomic
/// rename, and directory listing. Every failure is a `StorageError.io` naming the path and
/// carrying `strerror`.
enum FileSystem {
    /// Fails unless `path` is an existing directory.
    static func requireDirectory(_ path: String) throws(StorageError) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw .io(path: path, operation: "open data directory", reason: lastErrorText())
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw .io(path: path, operation: "open data directory", reason: "not a directory")
        }
    }

    /// Creates the directory `path` unless it exists; answers whether it created it.
    static func makeDirectory(_ path: String) throws(StorageError) -> Bool {
        if mkdir(path, 0o755) == 0 { return true }
        guard errno == EEXIST else { throw .io(path: path, operation: "mkdir", reason: lastErrorText()) }
        try requireDirectory(path)
        return false
    }

    /// The names in a directory, without `.` and `..`, in no particular order.
    static func listDirectory(_ path: String) throws(StorageError) -> [String] {
        guard let handle = opendir(path) else {
            throw .io(path: path, operation: "opendir", reason: lastErrorText())
        }
        defer { closedir(handle) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(handle) else {
                if errno != 0 { throw .io(path: path, operation: "readdir", reason: lastErrorText()) }
                return names
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
    }

    /// Opens `path` with `flags` (close-on-exec is added).
    static func openFile(_ path: String, _ flags: Int32, operation: String) throws(StorageError) -> Int32 {
        let descriptor = open(path, flags | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .io(path: path, operation: operation, reason: lastErrorText()) }
        return descriptor
    }

    /// Closes a descriptor that was written to: a failed close can be a failed write.
    static func closeFile(_ descriptor: Int32, path: String) throws(StorageError) {
        guard close(descriptor) == 0 else {
            throw .io(path: path, operation: "close", reason: lastErrorText())
        }
    }

    /// The size of an open file, in bytes.
    static func size(_ descriptor: Int32, path: String) throws(StorageError) -> Int {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            throw .io(path: path, operation: "fstat", reason: lastErrorText())
        }
        return Int(info.st_size)
    }

    /// Writes all of `bytes` at the descriptor's current offset.
    static func writeAll(_ descriptor: Int32, _ bytes: [UInt8], path: String) throws(StorageError) {
        // Array's `withUnsafeBytes` rethrows `any Error`; `Result` keeps the error's type.
        try bytes.withUnsafeBytes { raw in
            Result { () throws(StorageError) in try writeAll(descriptor, raw, path: path) }
        }.get()
    }

    /// Writes all of `bytes` at the descriptor's current offset.
    static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, path: String)
        throws(StorageError)
    {
        var written = 0
        while written < bytes.count {
            let result = write(descriptor, bytes.baseAddress! + written, bytes.count - written)
            if result < 0 && errno == EINTR { continue }
            guard result > 0 else {
                throw .io(
                    path: path, operation: "write", reason: result == 0 ? "wrote nothing" : lastErrorText())
            }
            written += result
        }
    }

    /// Fills `buffer` from `offset` on; answers how many bytes it read, fewer only at the end of
    /// the file.
    static func readFully(
        _ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int, path: String
    ) throws(StorageError) -> Int {
        var filled = 0
        while filled < buffer.count {
            let result = pread(
                descriptor, buffer.baseAddress! + filled, buffer.count - filled, off_t(offset + filled))
            if result < 0 && errno == EINTR { continue }
            guard result >= 0 else { throw .io(path: path, operation: "read", reason: lastErrorText()) }
            if result == 0 { break }
            filled += result
        }
        return filled
    }

    /// Up to `count` bytes from `offset` on; fewer only at the end of the file.
    static func readFully(_ descriptor: Int32, count: Int, at offset: Int, path: String) throws(StorageError)
        -> [UInt8]
    {
        var bytes = [UInt8](repeating: 0, count: count)
        let filled = try bytes.withUnsafeMutableBytes { buffer in
            Result { () throws(StorageError) in
                try readFully(descriptor, into: buffer, at: offset, path: path)
            }
        }.get()
        bytes.removeLast(count - filled)
        return bytes
    }

    /// Flushes an open file's data and metadata to the disk.
    static func sync(_ descriptor: Int32, path: String) throws(StorageError) {
        guard fsync(descriptor) == 0 else {
            throw .io(path: path, operation: "fsync", reason: lastErrorText())
        }
    }

    /// Flushes an open file's data, and only the metadata needed to read it back.
    static func syncData(_ descriptor: Int32, path: String) throws(StorageError) {
        guard fdatasync(descriptor) == 0 else {
            throw .io(path: path, operation: "fdatasync", reason: lastErrorText())
        }
    }

    /// Flushes a directory, so a rename, creation or removal inside it survives a crash.
    static func syncDirectory(_ path: String) throws(StorageError) {
        let descriptor = try openFile(path, O_RDONLY | O_DIRECTORY, operation: "open directory")
        defer { close(descriptor) }  // read-only: nothing for close to report
        guard fsync(descriptor) == 0 else {
            throw .io(path: path, operation: "fsync directory", reason: lastErrorText())
        }
    }

    /// Atomically replaces `destination` with `source` (both in one directory).
    static func renameFile(_ source: String, to destination: String) throws(StorageError) {
        guard rename(source, destination) == 0 else {
            throw .io(path: destination, operation: "rename from \(source)", reason: lastErrorText())
        }
    }

    /// Removes the file at `path` if there is one.
    static func removeIfPresent(_ path: String) throws(StorageError) {
        guard unlink(path) == 0 || errno == ENOENT else {
            throw .io(path: path, operation: "remove", reason: lastErrorText())
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

    /// Flushes a file's data and metadata to the disk.
    static func sync(file path: String) throws(StorageError) {
        try syncPath(path, flags: O_RDONLY, operation: "fsync")
    }

    private static func syncPath(_ path: String, flags: Int32, operation: String) throws(StorageError) {
        let descriptor = open(path, flags | O_CLOEXEC)
        guard descriptor >= 0 else { throw .io(path: path, operation: operation, reason: lastErrorText()) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else {
            throw .io(path: path, operation: operation, reason: lastErrorText())
        }
    }

    static func lastErrorText() -> String {
        let code = errno
        return "\(String(cString: strerror(code))) (errno \(code))"
    }
}
