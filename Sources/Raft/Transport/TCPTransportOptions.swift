/// Limits and timings of a `TCPTransport`. The defaults suit a LAN cluster with `RaftConfig`'s
/// default 1 MiB append and snapshot-chunk sizes.
public struct TCPTransportOptions: Sendable {
    /// The largest frame accepted or sent, counted as the length prefix counts (everything after
    /// it). A peer announcing more is disconnected before its body is buffered; an envelope that
    /// would encode larger is dropped at the sender with a log line.
    public var maxFrameBytes: Int
    /// Frames waiting per peer while its connection is being made or cannot take more; beyond
    /// this the oldest are dropped (Raft tolerates loss and retries).
    public var maxQueuedFrames: Int
    /// The same bound in bytes; the newest frame is always kept. Keep it above what the core may
    /// have in flight to one peer (`maxInflightAppends` × `maxAppendBytes`, 64 MiB by default), or
    /// a slow follower loses appends the leader then has to resend.
    public var maxQueuedBytes: Int
    /// Delay before reconnecting after the first failure; doubled on each further failure...
    public var initialBackoff: Duration
    /// ...up to this. A connection that stayed up this long resets the delay to `initialBackoff`.
    public var maxBackoff: Duration
    public var connectTimeout: Duration

    public init(
        maxFrameBytes: Int = WireCodec.maxFrameBytes, maxQueuedFrames: Int = 1024,
        maxQueuedBytes: Int = 128 << 20,
        initialBackoff: Duration = .milliseconds(20), maxBackoff: Duration = .seconds(1),
        connectTimeout: Duration = .seconds(1)
    ) {
        precondition(
            maxFrameBytes >= WireCodec.minimumFrameLength && maxQueuedFrames >= 1 && maxQueuedBytes >= 1
                && initialBackoff > .zero && maxBackoff >= initialBackoff && connectTimeout > .zero,
            "bad transport options")
        self.maxFrameBytes = maxFrameBytes
        self.maxQueuedFrames = maxQueuedFrames
        self.maxQueuedBytes = maxQueuedBytes
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.connectTimeout = connectTimeout
    }
}
