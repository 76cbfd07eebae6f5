import Foundation
import Synchronization
import TestSupport

/// A TCP relay on 127.0.0.1 that passes each request on to a node and, as soon as the node starts
/// to answer, closes both connections instead of relaying the answer: the request is served, and
/// the client sees its connection closed before any response, as when a node dies just after
/// applying a write. Blocking sockets on threads; a test's load is a few connections.
final class AnswerDroppingProxy: Sendable {
    let port: Int
    private let listener: Int32
    private let forwarded = Atomic<Int>(0)

    /// Requests passed on whose answers were dropped.
    var forwardedRequests: Int { forwarded.load(ordering: .sequentiallyConsistent) }

    private init(listener: Int32, port: Int) {
        self.listener = listener
        self.port = port
    }

    static func start(forwardingTo targetPort: Int) async throws -> AnswerDroppingProxy {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(listener, generic, length) == 0 && listen(listener, 16) == 0
                    && getsockname(listener, generic, &length) == 0
            }
        }
        guard bound else { throw TestFailure("the proxy cannot listen: errno \(errno)") }
        let proxy = AnswerDroppingProxy(listener: listener, port: Int(UInt16(bigEndian: address.sin_port)))
        Thread.detachNewThread { proxy.acceptLoop(targetPort: targetPort) }
        return proxy
    }

    func stop() async {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptLoop(targetPort: Int) {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }  // closed by stop()
            let target = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(targetPort).bigEndian
            let connected = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(target, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
            guard connected else {
                close(client)
                close(target)
                continue
            }
            let requestsDone = DispatchSemaphore(value: 0)
            Thread.detachNewThread {
                // Request bytes go through as they come, until the connection is shut down below.
                var buffer = [UInt8](repeating: 0, count: 65536)
                while true {
                    let count = buffer.withUnsafeMutableBytes { read(client, $0.baseAddress, $0.count) }
                    guard count > 0 else { break }
                    _ = buffer.withUnsafeBytes { write(target, $0.baseAddress, count) }
                }
                requestsDone.signal()
            }
            Thread.detachNewThread { [self] in
                // The first byte of the answer: the node has served the request. Drop everything;
                // the descriptors are closed only once the other thread is done with them.
                var byte: UInt8 = 0
                if read(target, &byte, 1) == 1 { forwarded.add(1, ordering: .sequentiallyConsistent) }
                shutdown(client, Int32(SHUT_RDWR))
                shutdown(target, Int32(SHUT_RDWR))
                requestsDone.wait()
                close(client)
                close(target)
            }
        }
    }
}
