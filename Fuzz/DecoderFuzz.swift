// libFuzzer target: the decoder chain over arbitrary bytes, for every link
// type. Built by scripts/fuzz.sh with -sanitize=fuzzer,address.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDecoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let links: [LinkType] = [.ethernet, .linuxSLL, .linuxSLL2, .rawIP, .rawIPv4, .rawIPv6,
                             .bsdNull, .bsdLoop, .ppp, .pppEther, .ciscoHDLC]
    let link = links[Int(data[0]) % links.count]
    let bytes = ByteView(base: UnsafeRawPointer(data + 1), count: size - 1)
    var p = DecodedPacket()
    // The wire length may be anything at least the captured length.
    let wire = size - 1 + (size > 2 ? Int(data[1]) * 7 : 0)
    let ok = PacketDecoder(linkType: link).decode(bytes, wireLength: wire, timestampNs: 1, into: &p)
    if ok {
        precondition(p.anomaly == .none)
        precondition(p.ipLength <= p.wireLength)
        precondition(p.payloadLength >= 0)
    } else {
        precondition(p.anomaly != .none)
    }
    return 0
}
