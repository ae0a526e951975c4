import Decoding

/// Names a flow's application protocol from the first bytes of its two
/// directions — by content, with the port only to break ties — and runs that
/// protocol's parser. Each parser is strict about its protocol's framing, so
/// the first that accepts the bytes names the flow; a flow whose payload no
/// parser accepts is `failed`, as Suricata names it.
public enum AppLayerDetector {
    /// `quicInitials`/`quicDatagrams`: a UDP flow's kept client datagrams
    /// when its first was a QUIC Initial (`client` is the first of them).
    public static func analyse(client: ByteView, server: ByteView, transport: UInt8, clientPort: UInt16,
                               serverPort: UInt16, clientStats: AppStreamStats,
                               serverStats: AppStreamStats,
                               packets: PacketSizes = .none,
                               quicInitials: ByteView = ByteView(base: nil, count: 0),
                               quicDatagrams: QUICDatagramEnds = QUICDatagramEnds()) -> AppLayerInfo? {
        guard client.count > 0 || server.count > 0 else { return nil }
        func info(_ proto: AppProto, dns: DNSInfo? = nil, tls: TLSInfo? = nil, http: HTTPInfo? = nil,
                  ssh: SSHInfo? = nil, quic: QUICInfo? = nil, login: LoginOutcome? = nil) -> AppLayerInfo {
            AppLayerInfo(proto: proto, dns: dns, tls: tls, http: http, ssh: ssh, quic: quic, login: login,
                         client: clientStats, server: serverStats)
        }
        let dnsPort = isDNSPort(serverPort) || isDNSPort(clientPort)
        if transport == IPProto.udp {
            // QUIC first: an Initial that opens (its AEAD tag verified) is QUIC on any port.
            if quicDatagrams.count > 0, let q = QUICParser.parse(datagrams: quicInitials, ends: quicDatagrams) {
                return info(.quic, quic: q)
            }
            // A datagram that parses as DNS on a DNS port is DNS; elsewhere
            // both a query and its answer must parse.
            if let d = DNSInfo.parse(client: client, server: server, overTCP: false),
               dnsPort || (d.request != nil && d.response != nil) {
                return info(.dns, dns: d)
            }
            return info(.failed)
        }
        guard transport == IPProto.tcp else { return nil }
        if startsWith(client, "SSH-") || startsWith(server, "SSH-") || (client.count == 0 && containsBanner(server)) {
            if let s = SSHParser.parse(client: client, server: server) {
                return info(.ssh, ssh: s, login: SSHAuthentication.outcome(s, packets: packets))
            }
        }
        if isTLSRecordStart(client) || isTLSRecordStart(server) {
            if let t = TLSParser.parse(client: client, server: server) { return info(.tls, tls: t) }
        }
        if let h = HTTPParser.parse(client: client, server: server) { return info(.http, http: h, login: httpLogin(h)) }
        // DNS over TCP has no magic bytes (a length, then a header): only on
        // a DNS port, or when both directions parse.
        if let d = DNSInfo.parse(client: client, server: server, overTCP: true),
           dnsPort || (d.request != nil && d.response != nil) {
            return info(.dns, dns: d)
        }
        return info(.failed, login: PlainTextLogin.outcome(client: client, server: server))
    }

    /// HTTP authentication refusals (401, and 407 from a proxy); the answers
    /// do not say when credentials were accepted.
    static func httpLogin(_ h: HTTPInfo) -> LoginOutcome? {
        let refused = h.transactions.reduce(0) { $0 + ($1.status == 401 || $1.status == 407 ? 1 : 0) }
        return refused > 0 ? LoginOutcome(proto: .http, failures: refused, succeeded: nil) : nil
    }

    static func isDNSPort(_ p: UInt16) -> Bool { p == 53 || p == 5353 || p == 5355 }

    /// A TLS (or SSL 3) record header: content type 20–24, version 3.0–3.4.
    static func isTLSRecordStart(_ b: ByteView) -> Bool {
        guard let type = b.u8(0), let major = b.u8(1), let minor = b.u8(2) else { return false }
        return (20...24).contains(type) && major == 3 && minor <= 4
    }

    static func startsWith(_ b: ByteView, _ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        guard b.count >= n else { return false }
        let p = s.utf8Start
        for i in 0..<n where b.u8(i) != p[i] { return false }
        return true
    }

    /// An SSH server may send text lines before its banner (RFC 4253 §4.2):
    /// "SSH-" at the start of a line within the first 1 KiB.
    static func containsBanner(_ b: ByteView) -> Bool {
        var i = 0
        let end = Swift.min(b.count, 1024) - 4
        while i <= end {
            if (i == 0 || b.u8(i - 1) == 0x0A) && b.u8(i) == 0x53 && b.u8(i + 1) == 0x53 && b.u8(i + 2) == 0x48
                && b.u8(i + 3) == 0x2D { return true }
            i += 1
        }
        return false
    }
}
