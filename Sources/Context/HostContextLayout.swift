import Decoding

/// What `HostContextTable` keeps per host, besides its probe-index word:
/// which window bucket each bucket slot holds, the address, and the
/// host's half-open count as a destination. 128 bytes (two cache lines:
/// the epochs, then the rest), so a host's header never shares a line.
struct HostHeader {
    /// The epoch (bucket number since time 0) each of the host's bucket
    /// slots holds; `unusedEpoch` when it holds none.
    var epochs: InlineArray<8, Int64>
    var address: IPAddress
    /// Flows to this host opened by a bare SYN and not yet answered or reset.
    var halfOpen: UInt32
    private var padding: InlineArray<5, UInt64>

    /// Below any window, also near time 0 (packet times close to 1970).
    static let unusedEpoch = Int64.min

    init(address: IPAddress) {
        epochs = InlineArray(repeating: Self.unusedEpoch)
        self.address = address
        halfOpen = 0
        padding = InlineArray(repeating: 0)
    }
}

/// One host's activity in one bucket of the window: 128 bytes, two cache lines.
struct HostBucket {
    /// Flows the host started (as their client).
    var flowsAsSource: UInt32
    /// TCP handshakes the host started that no SYN-ACK answered.
    var failedHandshakes: UInt32
    /// Flows to the host (as their server).
    var flowsAsDestination: UInt32
    private var padding0: UInt32
    /// Servers the host's flows went to.
    var destinations: DistinctSketch
    /// Server ports the host's flows went to.
    var destinationPorts: DistinctSketch
    /// Clients whose flows came to the host.
    var sources: DistinctSketch
    private var padding1: InlineArray<2, UInt64>

    /// An empty bucket.
    init() {
        flowsAsSource = 0
        failedHandshakes = 0
        flowsAsDestination = 0
        padding0 = 0
        destinations = DistinctSketch()
        destinationPorts = DistinctSketch()
        sources = DistinctSketch()
        padding1 = InlineArray(repeating: 0)
    }
}
