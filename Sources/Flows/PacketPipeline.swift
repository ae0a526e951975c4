import Decoding

/// Feeds decoded packets to a `FlowTable` one packet behind the decoder, so
/// that the cache misses of a packet's flow (its key's index line; for a
/// bare SYN, its hosts' context lines) load while the previous packet is
/// processed, instead of one after another. Under a flood of new flows each
/// packet otherwise waits for those lines in turn.
///
/// Only packets without payload are held back: the flow table reads a
/// packet's bytes only for its payload (the byte histogram), and the bytes
/// are the capture library's, valid until the next read. A packet with
/// payload is processed at once, after the one held back. Packets reach the
/// table in capture order either way, and `after` runs for every packet read
/// (decoded or not: the flag says whether the table saw it), in that order,
/// right after the table has seen it, with the sink (for expiry sweeps and
/// draining): the caller's expiry sweeps and drains see exactly what they
/// saw without the pipeline, so the output is the same.
///
/// Two packet buffers, allocated once; no allocation per packet.
public struct PacketPipeline: ~Copyable {
    let buffers: UnsafeMutablePointer<DecodedPacket>
    var index = 0
    var held = false
    var heldTimestampNs: Int64 = 0
    /// The held packet's key as `FlowTable.prefetch` worked it out.
    var heldKey: FlowTable.Prepared?
    /// Packets taken by `step` so far: the next one's `packetNumber` less one.
    public private(set) var packetsStepped: UInt64 = 0
    /// False: no packet is held back, so the table sees every packet's bytes
    /// (the flow table's packet rings copy them; the output is the same).
    public var holdsBack = true

    public init() {
        buffers = .allocate(capacity: 2)
        buffers.initialize(repeating: DecodedPacket(), count: 2)
    }

    deinit {
        buffers.deinitialize(count: 2)
        buffers.deallocate()
    }

    /// Where the next packet is to be decoded.
    public var current: UnsafeMutablePointer<DecodedPacket> { buffers + index }

    /// Whether a packet is held back (the table has not seen it yet).
    public var holding: Bool { held }

    /// Takes the packet just decoded into `current` (`decoded` false: it was
    /// skipped) with its captured `bytes` and the capture's `timestampNs`:
    /// the packet held back goes to the table, then `after` runs for it; this
    /// one is held back, or goes to the table and `after` runs for it.
    public mutating func step(decoded: Bool, bytes: ByteView, timestampNs: Int64, table: FlowTable,
                              sink: inout FlowSink, after: (Int64, Bool, inout FlowSink) throws -> Void) rethrows {
        let p = buffers + index
        packetsStepped &+= 1
        p.pointee.packetNumber = packetsStepped
        let k = decoded ? table.prefetch(p) : nil
        if held {
            processHeld(table: table, sink: &sink)
            try after(heldTimestampNs, true, &sink)
        }
        if let k, holdsBack && p.pointee.payloadLength == 0 {
            held = true
            heldTimestampNs = timestampNs
            heldKey = k
            index ^= 1
        } else {
            if let k { table.process(&p.pointee, prepared: k, bytes: bytes, sink: &sink) }
            try after(timestampNs, decoded, &sink)
        }
    }

    mutating func processHeld(table: FlowTable, sink: inout FlowSink) {
        held = false
        // No bytes: a held packet has no payload, and its bytes are gone.
        table.process(&buffers[index ^ 1], prepared: heldKey.unsafelyUnwrapped, bytes: ByteView(base: nil, count: 0), sink: &sink)
    }

    /// Sends the packet held back, if any, to the table and runs `after` for
    /// it: at the end of input, before a read error is reported, and when a
    /// live capture goes quiet.
    public mutating func flush(table: FlowTable, sink: inout FlowSink,
                               after: (Int64, Bool, inout FlowSink) throws -> Void) rethrows {
        guard held else { return }
        processHeld(table: table, sink: &sink)
        try after(heldTimestampNs, true, &sink)
    }
}
