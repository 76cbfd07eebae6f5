import Foundation

/// The directory the benchmark writes in, on a real disk: a sync to tmpfs costs nothing and
/// would make every figure meaningless.
struct ScratchDirectory {
    let path: String
    /// The filesystem's type, from `statfs`.
    let filesystem: String
    /// Why this directory was chosen.
    let reason: String
    /// Created by this run, so removed afterwards.
    private let isOwned: Bool

    /// `requested` as given, or a new temporary directory: in the system's temporary directory
    /// when that is on a real disk and on the same device as the current directory (the project),
    /// otherwise under `.build-bench/` in the current directory.
    init(requested: String?) throws {
        if let requested {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: requested, isDirectory: &isDirectory),
                isDirectory.boolValue
            else { throw BenchError("\(requested) is not a directory") }
            let base = requested.hasSuffix("/") ? String(requested.dropLast()) : requested
            path = try Self.makeTemporary(in: base)
            reason = "as requested"
        } else {
            let system =
                NSTemporaryDirectory().hasSuffix("/")
                ? String(NSTemporaryDirectory().dropLast()) : NSTemporaryDirectory()
            let current = FileManager.default.currentDirectoryPath
            let systemType = Self.filesystemType(of: system)
            if !Self.inMemory(systemType), try Self.device(of: system) == Self.device(of: current) {
                path = try Self.makeTemporary(in: system)
                reason = "the system's temporary directory, on the same disk as \(current)"
            } else {
                let local = current + "/.build-bench"
                try FileManager.default.createDirectory(atPath: local, withIntermediateDirectories: true)
                path = try Self.makeTemporary(in: local)
                reason =
                    "\(system) is \(Self.inMemory(systemType) ? "in memory" : "on another disk") (\(systemType))"
            }
        }
        filesystem = Self.filesystemType(of: path)
        isOwned = true
        if Self.inMemory(filesystem) {
            print(
                "warning: \(path) is in memory (\(filesystem)): syncs cost nothing there, so the figures are meaningless"
            )
        }
    }

    func remove() {
        if isOwned { try? FileManager.default.removeItem(atPath: path) }
    }

    private static func makeTemporary(in base: String) throws -> String {
        var template = Array((base + "/keyval-storage-bench.XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else {
            throw BenchError("cannot create a directory in \(base): \(String(cString: strerror(errno)))")
        }
        return String(cString: created)
    }

    private static func device(of path: String) throws -> UInt64 {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw BenchError("stat \(path): \(String(cString: strerror(errno)))")
        }
        return UInt64(info.st_dev)
    }

    /// The type of the filesystem holding `path`, from the longest mount point in
    /// `/proc/self/mounts` that contains it ("unknown" where there is no such file).
    private static func filesystemType(of path: String) -> String {
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        guard let mounts = try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8) else {
            return "unknown"
        }
        var best: (mountPoint: String, type: String)?
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 3 else { continue }
            // Mount points escape spaces as \040.
            let mountPoint = fields[1].replacingOccurrences(of: "\\040", with: " ")
            let contains =
                mountPoint == "/" || resolved == mountPoint || resolved.hasPrefix(mountPoint + "/")
            if contains, mountPoint.count >= (best?.mountPoint.count ?? -1) {
                best = (mountPoint, String(fields[2]))
            }
        }
        return best?.type ?? "unknown"
    }

    private static func inMemory(_ type: String) -> Bool { type == "tmpfs" || type == "ramfs" }
}
