// libFuzzer target: the QUIC parser's byte walks over arbitrary bytes —
// the long headers of a datagram, and the frames of an Initial's payload
// into the CRYPTO stream, whose first message goes to the TLS ClientHello
// reader. Built by scripts/fuzz.sh with -sanitize=fuzzer,address, without
// swift-crypto: opening a packet is left out (its plaintext is what the
// frame walk gets here).
// Input: one selector byte (even: a datagram, odd: an Initial's payload), then the bytes.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzQUIC(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let b = ByteView(base: UnsafeRawPointer(data + 1), count: size - 1)
    if data[0] & 1 == 0 {
        var offset = 0
        while offset < b.count, let h = QUICInitialPacket.header(b, at: offset) {
            precondition(h.end > offset && h.end <= b.count && h.packetNumberOffset <= h.end)
            offset = h.end
        }
        var ends = QUICDatagramEnds()
        ends.append(b.count)
        precondition(QUICParser.parse(datagrams: b, ends: ends) == nil)  // no keys without swift-crypto
    } else {
        var stream = QUICCryptoStream()
        _ = QUICFrames.walk(b, into: &stream)
        precondition(stream.contiguous <= QUICCryptoStream.capacity)
        let whole = stream.firstMessageLength
        let n = whole ?? stream.contiguous
        let (_, problem) = stream.bytes.withUnsafeBytes {
            TLSParser.parseClientHello(handshake: ByteView(base: $0.baseAddress, count: n), cut: whole == nil)
        }
        if let problem { precondition(problem.hasPrefix("tls."), problem) }
    }
    return 0
}
