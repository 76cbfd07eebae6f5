import Foundation

/// A child process whose standard input, output and error are a pseudo-terminal, driven as a user
/// at a terminal would: type keys, read what the screen shows.
///
/// Output is read from the terminal's master side into a transcript; `expect` waits for text to
/// appear in it after the last match, with control sequences (cursor moves, line erases) and
/// carriage returns removed, so tests match what a person would read.
public final class PseudoTerminalProcess: @unchecked Sendable {
    // @unchecked: a test drives it from one task at a time; `transcript` is only touched by
    // `pump()`, called from that task.
    private let process: Process
    private let master: Int32
    private var raw: [UInt8] = []
    private var consumed = 0

    public init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        // posix_openpt and friends are not in Swift's Glibc module; these are the Linux ioctls
        // they wrap (grantpt is a no-op with devpts).
        master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        var unlock: Int32 = 0
        var number: UInt32 = 0
        guard master >= 0, ioctl(master, Self.setLock, &unlock) == 0,
            ioctl(master, Self.getNumber, &number) == 0
        else { throw TestFailure("cannot open a pseudo-terminal: errno \(errno)") }
        let slavePath = "/dev/pts/\(number)"
        let slave = open(slavePath, O_RDWR | O_NOCTTY)
        guard slave >= 0 else { throw TestFailure("cannot open \(slavePath): errno \(errno)") }
        var size = winsize(ws_row: 40, ws_col: 200, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(slave, UInt(TIOCSWINSZ), &size)
        let flags = fcntl(master, F_GETFL)
        _ = fcntl(master, F_SETFL, flags | O_NONBLOCK)
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let handle = FileHandle(fileDescriptor: slave, closeOnDealloc: true)
        process.standardInput = handle
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    /// TIOCSPTLCK and TIOCGPTN (`_IOW('T', 0x31, int)`, `_IOR('T', 0x30, unsigned int)`): macros
    /// Swift does not import.
    private static let setLock: UInt = 0x4004_5431
    private static let getNumber: UInt = 0x8004_5430

    public var isRunning: Bool { process.isRunning }

    /// Sends keys as typed (use "\r" for Enter, as a terminal does). Waits while the terminal's
    /// input queue is full, up to a few seconds, then gives up loudly rather than drop keys.
    public func type(_ text: String) {
        var bytes = Array(text.utf8)[...]
        var waits = 0
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Foundation.write(master, $0.baseAddress, $0.count) }
            if written > 0 {
                bytes = bytes.dropFirst(written)
            } else if written < 0, errno == EAGAIN || errno == EINTR, waits < 500 {
                waits += 1
                usleep(10_000)
            } else {
                preconditionFailure("cannot type into the pseudo-terminal: errno \(errno)")
            }
        }
    }

    /// Waits until `text` appears after the previous match; returns the screen text up to and
    /// including it, or throws with the whole transcript when it does not come within `timeout`.
    @discardableResult
    public func expect(_ text: String, timeout: Duration = .seconds(15)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            pump()
            let screen = Self.readable(raw[consumed...])
            if let range = screen.range(of: text) {
                // Advance past the match in raw bytes: find the shortest raw prefix whose readable
                // form contains the match.
                var end = consumed
                while end < raw.count, !Self.readable(raw[consumed..<end]).contains(text) { end += 1 }
                consumed = end
                return String(screen[..<range.upperBound])
            }
            guard ContinuousClock.now < deadline else {
                throw TestFailure(
                    "\"\(text)\" did not appear within \(timeout); the terminal shows:\n\(transcript)")
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Waits until `text` appears anywhere in the transcript, without moving the point `expect`
    /// matches from: for output that may come before or after other output (a notice printed by a
    /// timer, say).
    public func waitUntilShown(_ text: String, timeout: Duration = .seconds(15)) async throws {
        let deadline = ContinuousClock.now + timeout
        while !transcript.contains(text) {
            guard ContinuousClock.now < deadline else {
                throw TestFailure(
                    "\"\(text)\" did not appear within \(timeout); the terminal shows:\n\(transcript)")
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Everything the program has written so far, made readable.
    public var transcript: String {
        pump()
        return Self.readable(raw[...])
    }

    /// Waits for the process to exit (SIGKILL after `timeout`); returns its exit status.
    public func wait(timeout: Duration = .seconds(10)) async -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline {
            pump()
            try? await Task.sleep(for: .milliseconds(10))
        }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        pump()
        return process.terminationStatus
    }

    private func pump() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { Foundation.read(master, $0.baseAddress, $0.count) }
            guard count > 0 else { return }
            raw += buffer[..<count]
        }
    }

    /// Without CSI sequences and carriage returns.
    static func readable(_ bytes: ArraySlice<UInt8>) -> String {
        var out: [UInt8] = []
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == 0x1B, index + 1 < bytes.endIndex, bytes[index + 1] == UInt8(ascii: "[") {
                index += 2
                while index < bytes.endIndex, !(0x40...0x7E).contains(bytes[index]) { index += 1 }
                index += 1
                continue
            }
            if byte != 0x0D { out.append(byte) }
            index += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        close(master)
    }
}
