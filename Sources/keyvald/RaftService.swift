import KeyVal
import Raft
import ServiceLifecycle

/// The Raft node and its transport as one service: runs the node's loop until a graceful
/// shutdown (SIGTERM/SIGINT) or cancellation, then closes the transport. The ServiceGroup stops
/// services in reverse order, so the HTTP server has finished its requests before this stops.
struct RaftService: Service {
    let node: RaftNode<KVStateMachine>
    let transport: TCPTransport

    func run() async throws {
        do {
            try await withGracefulShutdownHandler {
                try await node.run()
            } onGracefulShutdown: {
                node.shutdown()
            }
        } catch {
            await transport.shutdown()
            throw error
        }
        await transport.shutdown()
    }
}
