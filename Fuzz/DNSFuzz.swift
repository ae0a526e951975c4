// libFuzzer target: the DNS parser over arbitrary datagrams and TCP
// streams. Built by scripts/fuzz.sh with -sanitize=fuzzer,address.
// Input: a flag byte (bit 0: over TCP), two bytes giving where the client's
// bytes end, then the bytes.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDNS(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 3 else { return 0 }
    let split = min(size - 3, Int(data[1]) << 8 | Int(data[2]))
    let c = ByteView(base: UnsafeRawPointer(data + 3), count: split)
    let s = ByteView(base: UnsafeRawPointer(data + 3 + split), count: size - 3 - split)
    if let info = DNSInfo.parse(client: c, server: s, overTCP: data[0] & 1 == 1) {
        if let m = info.malformed { precondition(m.hasPrefix("dns."), m) }
    }
    // One message anywhere in the input, as the UDP path reads it.
    _ = DNSMessageParser.parse(ByteView(base: UnsafeRawPointer(data), count: size), at: 0, length: size)
    return 0
}
