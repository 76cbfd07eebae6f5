import Foundation

/// A child process with its standard output and error in files, so a test can read what it said
/// (and print it when something fails), kill it with any signal, and wait for it.
public final class ChildProcess: @unchecked Sendable {
    // @unchecked: `process` is created in init and only read afterwards; Foundation's Process is
    // thread-safe for the calls made here (processIdentifier, isRunning, waitUntilExit, status).
    private let process: Process
    public let outputPath: String
    public let errorPath: String

    /// Starts `executable` with `arguments`; output goes to `<logPrefix>.out` and `.err`.
    public init(_ executable: String, _ arguments: [String], logPrefix: String) throws {
        outputPath = logPrefix + ".out"
        errorPath = logPrefix + ".err"
        for path in [outputPath, errorPath] {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw TestFailure("cannot create \(path)")
            }
        }
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
        try process.run()
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    public func signal(_ signal: Int32) { if process.isRunning { kill(process.processIdentifier, signal) } }

    /// Waits for the process to exit, at most `timeout`, then SIGKILLs it; returns how it ended.
    @discardableResult
    public func wait(timeout: Duration = .seconds(20)) async -> Termination {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return process.terminationReason == .uncaughtSignal
            ? .signal(process.terminationStatus) : .exit(process.terminationStatus)
    }

    /// What it wrote to standard error so far.
    public var errorOutput: String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }
    public var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    public enum Termination: Equatable, Sendable {
        case exit(Int32)
        case signal(Int32)
    }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
}
