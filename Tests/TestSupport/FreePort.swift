import Foundation
import Synchronization

/// Ports already handed out by `freeLoopbackPort()` in this process.
private let handedOut = Mutex<Set<Int>>([])

/// A TCP port on 127.0.0.1 that nothing listens on right now and that this process has not handed
/// out before.
///
/// Chosen at random below Linux's ephemeral range (32768-60999), then checked by binding it and
/// releasing it. Two rules close the races a test once lost (a node's Raft port was another
/// node's HTTP port, so the cluster never formed):
/// - never the same port twice per process;
/// - never a port the kernel may give an outgoing connection as its local port in the meantime.
/// Another process could still take the port before the caller binds; then the test fails with
/// "port in use".
public func freeLoopbackPort() throws -> Int {
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<200 {
        let port = Int.random(in: 20_000..<32_768, using: &generator)
        let isNew = handedOut.withLock { $0.insert(port).inserted }
        guard isNew else { continue }
        if try isBindable(port) { return port }
    }
    throw TestFailure("no free loopback port found in 200 tries")
}

private func isBindable(_ port: Int) throws -> Bool {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw TestFailure("socket() failed: errno \(errno)") }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    return bound == 0
}
