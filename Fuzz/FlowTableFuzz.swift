// libFuzzer target: the flow-table update path. The input is read as a
// stream of decoded-packet fields (addresses, ports, flags, lengths, time
// steps, fragment bits) fed through a small table, with expiry and a final
// flush, both in chunks of 1-8 records (as replay and the live sensor do);
// invariants are checked on every record.

nonisolated(unsafe) var table: FlowTable? = nil

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFlowTable(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var c = FlowTableConfig()
    c.maxFlows = 64; c.stripes = 4; c.histogramCapacity = 8; c.setIdleTimeout(5); c.activeTimeout = 20
    c.hostContext.capacity = 64
    let t = FlowTable(config: c)
    var sink = FlowSink(reserve: 16)
    var out: [FlowRecord] = []
    let chunk = size > 0 ? Int(data[0] & 7) + 1 : 1
    func drain(_ s: inout FlowSink) {
        precondition(s.records.count <= chunk, "a chunk holds at most \(chunk) records")
        out += s.records
        s.removeAll()
    }
    var i = 0
    var ts: Int64 = 1_000_000_000
    func byte() -> UInt8 { defer { i += 1 }; return i < size ? data[i] : 0 }
    var packets = 0
    let payload: [UInt8] = Array(repeating: 0x41, count: 64)
    while i + 12 <= size {
        var p = DecodedPacket()
        let b0 = byte()
        ts += Int64(byte()) * 50_000_000 - (b0 & 0x80 != 0 ? 3_000_000_000 : 0)
        p.timestampNs = ts
        p.src = IPAddress(v4: 10, 0, 0, byte() & 7)
        p.dst = IPAddress(v4: 10, 0, 0, byte() & 7)
        p.proto = [6, 17, 1, 58, 47, 132][Int(byte()) % 6]
        p.ipVersion = 4
        p.srcPort = UInt16(byte() & 3) + 1000
        p.dstPort = UInt16(byte() & 3) + 80
        p.hasPorts = b0 & 1 == 0
        p.tcpFlags = byte()
        p.ipLength = Int(byte()) * 6 + 20
        p.payloadLength = max(0, p.ipLength - 40)
        p.payloadOffset = 0
        let frag = byte()
        if frag & 0xC0 == 0xC0 { p.isFragment = true; p.fragmentID = UInt32(frag & 3); p.fragmentOffset = UInt16(frag & 0x10) }
        p.vlanCount = frag & 0x20 != 0 ? 1 : 0
        p.vlan0 = UInt16(byte() & 3)
        payload.withUnsafeBytes { t.process(&p, bytes: ByteView($0), sink: &sink) }
        packets += 1
        out += sink.records
        sink.removeAll()
        if b0 & 0x40 != 0 { t.expire(now: ts, chunk: chunk, sink: &sink, drain: drain) }
    }
    let flushedFrom = out.count
    t.flushAll(chunk: chunk, sink: &sink, drain: drain)
    precondition(sink.records.isEmpty)
    let flushed = out[flushedFrom...]
    precondition(zip(flushed, flushed.dropFirst()).allSatisfy { ($0.startNs, $0.flowID) <= ($1.startNs, $1.flowID) },
                 "the end-of-input flush comes out in start order")
    var counted: UInt64 = 0
    for r in out {
        counted += r.pktsToServer + r.pktsToClient
        precondition(r.endNs >= r.startNs)
        precondition(r.features[.iat_min_s] >= 0 && r.features[.duration_s] >= 0)
        precondition(r.features[.payload_entropy] >= 0 && r.features[.payload_entropy] <= 8)
    }
    precondition(counted == UInt64(packets), "every packet is counted to exactly one record")
    precondition(t.activeFlows == 0)
    return 0
}
