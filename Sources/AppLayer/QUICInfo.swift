import Decoding

/// What the sensor reads of a QUIC connection: the version and the
/// ClientHello of the client's Initial packets, which anyone on the path
/// can open (their keys come from the client's first Destination
/// Connection ID, RFC 9001 §5.2). `QUICParser` fills it; the fingerprints
/// (JA3, and JA4 with `q` for QUIC) are in TLSFingerprints.swift.
public struct QUICInfo: Sendable, Equatable {
    /// The version of the client's first Initial (1, or RFC 9369's 0x6b3343cf).
    public var version: UInt32 = 0
    /// The ClientHello from the reassembled CRYPTO stream (nil when cut, missing or unreadable).
    public var clientHello: TLSClientHello?
    /// Client Initial packets opened, and the CRYPTO bytes put back in order.
    public var initialPackets = 0
    public var cryptoBytes = 0
    /// Nil when well formed; else the first problem found (`quic.frame`,
    /// `quic.crypto_overflow`, or the TLS parser's `tls.<reason>`).
    public var malformed: String?

    public init() {}

    /// The version as EVE writes it: "1", "2", else the number in hex.
    public var versionName: String {
        switch version {
        case QUICHeader.version1: "1"
        case QUICHeader.version2: "2"
        default: "0x" + String(version, radix: 16)
        }
    }
}

/// Opens the client's Initial packets of a QUIC flow and reads the
/// ClientHello they carry, bounded: at most `maxInitialPackets` packets
/// from the kept datagrams (a QUIC flow's first client datagrams,
/// `StreamPrefixPool`), the CRYPTO stream put back in order into
/// `QUICCryptoStream.capacity` bytes, and nothing more once the
/// ClientHello is whole. Runs once per flow when its record is written,
/// off the capture path.
public enum QUICParser {
    /// Most Initial packets opened per flow (a ClientHello takes one or two;
    /// retransmissions and ACK-only Initials make up the rest).
    public static let maxInitialPackets = 8

    /// `datagrams`: the client's kept datagrams back to back, `ends` where
    /// each ends. nil when no Initial packet of version 1 or 2 opens: the
    /// flow is then not known to be QUIC.
    public static func parse(datagrams: ByteView, ends: QUICDatagramEnds) -> QUICInfo? {
        var info = QUICInfo()
        var stream = QUICCryptoStream()
        var keys: QUICInitialKeys?
        var largest: Int64 = -1
        var attempts = 0
        var framesOK = true
        datagramLoop: for d in 0..<ends.count {
            let start = ends.start(d), end = ends[d]
            guard end <= datagrams.count else { break }
            let view = datagrams.withBytes(from: start, length: end - start) { ByteView($0) }
            var offset = 0
            // Coalesced packets (RFC 9000 §12.2): long headers one after another; a short header ends the walk.
            while offset < view.count, let h = QUICInitialPacket.header(view, at: offset) {
                offset = h.end
                guard h.isInitial else { continue }
                guard attempts < maxInitialPackets else { break datagramLoop }
                attempts += 1
                if keys == nil { keys = QUICInitialKeys(version: h.version, destinationConnectionID: h.dcid) }
                guard let k = keys else { break datagramLoop }
                // After a Retry the client's Initials go to a new DCID, and their keys come from it.
                var opened = QUICInitialPacket.open(view, h, keys: k, largest: largest)
                if opened == nil, let retry = QUICInitialKeys(version: h.version, destinationConnectionID: h.dcid),
                   retry.key != k.key {
                    opened = QUICInitialPacket.open(view, h, keys: retry, largest: -1)
                    if opened != nil { keys = retry; largest = -1; stream = QUICCryptoStream() }
                }
                guard let (payload, number) = opened else { continue }
                if info.initialPackets == 0 { info.version = h.version }
                info.initialPackets += 1
                largest = max(largest, Int64(number))
                let ok = payload.withUnsafeBytes { QUICFrames.walk(ByteView($0), into: &stream) }
                if !ok { framesOK = false }
                if stream.firstMessageLength != nil { break datagramLoop }
            }
        }
        guard info.initialPackets > 0 else { return nil }
        info.cryptoBytes = stream.contiguous
        if !framesOK { info.malformed = "quic.frame" }
        if stream.overflow && info.malformed == nil { info.malformed = "quic.crypto_overflow" }
        let whole = stream.firstMessageLength
        let n = whole ?? stream.contiguous
        if n > 0 {
            let (hello, problem) = stream.bytes.withUnsafeBytes {
                TLSParser.parseClientHello(handshake: ByteView(base: $0.baseAddress, count: n), cut: whole == nil)
            }
            info.clientHello = hello
            if info.malformed == nil { info.malformed = problem }
        }
        return info
    }
}
