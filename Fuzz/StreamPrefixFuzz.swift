// libFuzzer target: TCP segments in any order, overlap and length through
// the stream-prefix reassembly. Built by scripts/fuzz.sh with
// -sanitize=fuzzer,address. Input: a run of 7-byte segment headers
// (direction and SYN bit, 32-bit sequence, 16-bit length) each followed by
// up to `length` payload bytes taken from the input.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStreamPrefix(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var pool = StreamPrefixPool(capacity: 1, prefixBytes: 64)
    var handle: Int32 = -1
    var isn = InlineArray<2, UInt32?>(repeating: nil)
    var i = 0
    let all = ByteView(base: UnsafeRawPointer(data), count: size)
    while i + 7 <= size {
        let flags = data[i]
        let seq = UInt32(data[i + 1]) << 24 | UInt32(data[i + 2]) << 16 | UInt32(data[i + 3]) << 8 | UInt32(data[i + 4])
        let length = Int(data[i + 5]) << 8 | Int(data[i + 6])
        let d = Int(flags & 1)
        if flags & 2 != 0 && isn[d] == nil { isn[d] = seq }
        var p = DecodedPacket()
        p.proto = flags & 4 != 0 ? IPProto.udp : IPProto.tcp
        p.tcpSeq = seq
        p.payloadOffset = i + 7
        p.payloadLength = length          // may run past the input: the captured part is what there is
        withUnsafePointer(to: p) { pool.add(&handle, packet: $0, direction: d, isn: isn[d], bytes: all) }
        i += 7 + min(length, size - i - 7)
    }
    for d in 0..<2 {
        pool.withStream(handle, direction: d) { view, state in
            precondition(view.count <= 64 && Int(state.contiguous) == view.count)
            if view.count > 0 { precondition(view.u8(view.count - 1) != nil) }
        }
    }
    return 0
}
