#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What the crash-torture children (`storage-torture`, `node-torture`) share: how they write the
/// lines their test reads, how they fail, and how they go away when the test that started them is
/// gone.
public struct TortureChild: Sendable {
    /// The program's name, which starts its error messages.
    public let name: String

    public init(name: String) { self.name = name }

    /// Writes one line with a single unbuffered `write`, so a line the test reads was written
    /// whole before anything that follows it; the test's SIGKILL may still cut the last one.
    public func emit(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { fail("\(name): cannot write to stdout", status: 3) }
            offset += written
        }
    }

    /// Writes `message` to stderr and exits with `status`.
    public func fail(_ message: String, status: Int32) -> Never {
        let bytes = Array((message + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        exit(status)
    }

    /// The test that started this child can crash without killing it, and a child left running
    /// loads the machine for every later test (54 of them once did). So it exits once its parent
    /// is gone.
    public func exitWhenOrphaned() {
        let parent = getppid()
        Task.detached {
            while getppid() == parent { try? await Task.sleep(for: .milliseconds(200)) }
            _exit(3)
        }
    }
}
