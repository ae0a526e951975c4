// libFuzzer target: the TLS parser over arbitrary client and server
// streams. Built by scripts/fuzz.sh with -sanitize=fuzzer,address.
// Input: two bytes giving where the client stream ends, then the bytes.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTLS(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let split = min(size - 2, Int(data[0]) << 8 | Int(data[1]))
    let c = ByteView(base: UnsafeRawPointer(data + 2), count: split)
    let s = ByteView(base: UnsafeRawPointer(data + 2 + split), count: size - 2 - split)
    if let info = TLSParser.parse(client: c, server: s) {
        // A reason, when given, names its protocol.
        if let m = info.malformed { precondition(m.hasPrefix("tls."), m) }
    }
    return 0
}
