import NIOCore
import NIOPosix

/// The threads node loops run on: threads of their own, not Swift's cooperative pool.
///
/// A node's loop does blocking work by design: a SQLite commit with its fsync (0.1-4 ms here),
/// applying a batch. On the cooperative pool (two threads on a 2-core machine) that work held a
/// thread that HTTP handlers and the other node's loop needed, and heartbeats queued behind
/// whatever else the pool ran, so elections followed load. On a loop thread of its own, a node's
/// heartbeats wait only for its own work. One thread per core is enough: a daemon runs one node,
/// and a test process with several nodes shares these threads between them.
public enum NodeThreads {
    /// Created on first use and never shut down: node loops (actors) run on it until the process
    /// ends.
    public static let group: MultiThreadedEventLoopGroup = MultiThreadedEventLoopGroup(
        numberOfThreads: max(1, System.coreCount))

    /// The thread (a NIO event loop, which is a serial executor) for the next node.
    public static func next() -> any EventLoop { group.next() }
}
