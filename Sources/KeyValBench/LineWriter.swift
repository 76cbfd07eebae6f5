#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes whole lines straight to a file descriptor, unbuffered: a progress line shows at once
/// even when the output is a pipe or a file, as when piped to `tee` while watching a failover.
package struct LineWriter: Sendable {
    private let descriptor: Int32

    package static let standardOutput = LineWriter(descriptor: 1)
    package static let standardError = LineWriter(descriptor: 2)

    private init(descriptor: Int32) { self.descriptor = descriptor }

    /// Writes `text` and a newline (one `write` call for lines under the pipe buffer, so lines from
    /// concurrent writers do not interleave).
    package func write(_ text: String) {
        var line = text
        line.append("\n")
        line.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = writeBytes(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    return  // a closed pipe: nothing more to say there
                }
            }
        }
    }
}

/// `write(2)`, out of reach of `LineWriter.write` inside the type.
private func writeBytes(_ descriptor: Int32, _ bytes: UnsafePointer<UInt8>, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}
