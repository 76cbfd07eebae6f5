import Foundation

/// Finds an executable of this package built beside the running test binary. Test targets that
/// spawn one depend on it in Package.swift, so `swift build --build-tests` builds it.
public func locateExecutable(named name: String) throws -> String {
    var starts: [String] = []
    if let resolved = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
        starts.append(resolved)
    }
    starts.append(CommandLine.arguments[0])
    var searched: [String] = []
    for start in starts {
        var directory = URL(fileURLWithPath: start).deletingLastPathComponent()
        // Linux: the test binary sits in .build/<config>/; macOS: inside a .xctest bundle there.
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            searched.append(directory.path)
            directory.deleteLastPathComponent()
        }
    }
    throw TestFailure(
        "\(name) is not built next to the test binary (searched \(searched)); build it with `swift build --build-tests`"
    )
}

/// A failure of a test or of its harness, with a message saying what went wrong.
public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A fresh directory under the system's temporary directory; the caller removes it.
public func makeTemporaryDirectory(prefix: String = "keyval-test") throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        .path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Runs `body` with a fresh directory under the system's temporary directory, removed afterwards.
public func withTemporaryDirectory<R>(prefix: String = "keyval-test", _ body: (String) throws -> R) throws
    -> R
{
    let path = try makeTemporaryDirectory(prefix: prefix)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

/// `withTemporaryDirectory` for an async body.
public func withTemporaryDirectory<R>(prefix: String = "keyval-test", _ body: (String) async throws -> R)
    async throws -> R
{
    let path = try makeTemporaryDirectory(prefix: prefix)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// Polls `condition` every 10 ms until it holds or `timeout` passes; returns whether it held.
public func eventually(timeout: Duration = .seconds(10), _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return await condition()
}
