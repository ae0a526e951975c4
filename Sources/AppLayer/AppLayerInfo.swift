import Decoding

/// The application protocol of a flow, named as Suricata's `app_proto`
/// names it. `failed`: the flow carried payload that no parser recognised.
/// `quic`: a client Initial packet of QUIC version 1 or 2 opened.
public enum AppProto: UInt8, Sendable, CaseIterable {
    case dns, tls, http, ssh, quic, failed

    public var name: String { String(describing: staticName) }
    public var staticName: StaticString {
        switch self {
        case .dns: "dns"
        case .tls: "tls"
        case .http: "http"
        case .ssh: "ssh"
        case .quic: "quic"
        case .failed: "failed"
        }
    }
}

/// How one direction's stream prefix was put together (`StreamPrefixPool`).
public struct AppStreamStats: Sendable, Equatable {
    /// Contiguous bytes from the stream's start handed to the parsers.
    public var bytes = 0
    /// The direction sent more than the prefix holds.
    public var truncated = false
    /// The TCP handshake was not seen.
    public var midstream = false
    public var outOfOrder: UInt32 = 0
    public var overlaps: UInt32 = 0
    /// Out-of-order segments with no room to wait, and holes left by the
    /// snapshot length or never filled: the parsers saw less than was sent.
    public var dropped: UInt32 = 0
    public var gaps: UInt32 = 0

    public init() {}
}

/// What the application-layer parsers made of a flow's first bytes. A class
/// so a flow record holds one reference (nil for flows with no payload) and
/// not several hundred bytes of optional protocol objects; immutable, so it
/// is shared between threads freely.
public final class AppLayerInfo: Sendable {
    public let proto: AppProto
    public let dns: DNSInfo?
    public let tls: TLSInfo?
    public let http: HTTPInfo?
    public let ssh: SSHInfo?
    public let quic: QUICInfo?
    /// How the connection's logins went (SSH, FTP, SMTP, POP3, IMAP, HTTP), when it showed.
    public let login: LoginOutcome?
    public let client: AppStreamStats
    public let server: AppStreamStats

    public init(proto: AppProto, dns: DNSInfo? = nil, tls: TLSInfo? = nil, http: HTTPInfo? = nil, ssh: SSHInfo? = nil,
                quic: QUICInfo? = nil, login: LoginOutcome? = nil, client: AppStreamStats, server: AppStreamStats) {
        self.proto = proto; self.dns = dns; self.tls = tls; self.http = http; self.ssh = ssh; self.quic = quic
        self.login = login
        self.client = client; self.server = server
    }

    /// The parser's reason when the protocol was recognised but its
    /// messages were malformed (`tls.record_length`, …), else nil.
    public var malformed: String? {
        tls?.malformed ?? http?.malformed ?? ssh?.malformed ?? dns?.malformed ?? quic?.malformed
    }
}

/// A flow's stream prefixes as the flow table hands them over when the flow
/// ends: the bytes only, parsed later (`analyse`) off the capture path —
/// on the record writer's thread in replay and live — so the table's lock
/// and the capture thread pay one copy per flow, not the parsers.
public final class AppStreamCapture: Sendable {
    /// The client's bytes, then the server's; for a QUIC flow, the client's
    /// bytes are its kept Initial datagrams, the first of them being what
    /// the other parsers read as the client's.
    let bytes: [UInt8]
    let clientCount: Int
    /// Where the client's bytes end (past `clientCount` only for QUIC).
    let clientEnd: Int
    /// QUIC: where each kept client Initial datagram ends (count 0 otherwise).
    let quicDatagrams: QUICDatagramEnds
    let transport: UInt8
    let clientPort: UInt16
    let serverPort: UInt16
    let clientStats: AppStreamStats
    let serverStats: AppStreamStats

    /// `quicInitials`: the client's kept QUIC Initial datagrams, starting with
    /// its first datagram (`client`), and `quicDatagrams` their ends (empty
    /// for a flow that did not open with a QUIC Initial).
    public init(client: ByteView, server: ByteView, transport: UInt8, clientPort: UInt16, serverPort: UInt16,
                clientStats: AppStreamStats, serverStats: AppStreamStats,
                quicInitials: ByteView = ByteView(base: nil, count: 0), quicDatagrams: QUICDatagramEnds = QUICDatagramEnds()) {
        // The datagrams are used only when they agree with the client's bytes.
        let quic = quicDatagrams.count > 0 && quicDatagrams[0] == client.count && quicInitials.count == quicDatagrams.last
        let clientSide = quic ? quicInitials : client
        var b = [UInt8]()
        b.reserveCapacity(clientSide.count + server.count)
        clientSide.withBytes(from: 0, length: clientSide.count) { b.append(contentsOf: $0) }
        clientCount = min(client.count, b.count)
        clientEnd = b.count
        server.withBytes(from: 0, length: server.count) { b.append(contentsOf: $0) }
        bytes = b
        self.quicDatagrams = quic ? quicDatagrams : QUICDatagramEnds()
        self.transport = transport; self.clientPort = clientPort; self.serverPort = serverPort
        self.clientStats = clientStats; self.serverStats = serverStats
    }

    /// Bytes held (client and server).
    public var count: Int { bytes.count }

    /// Names the protocol and runs its parser (`AppLayerDetector`).
    /// `packets`: the flow's first packets' sizes (SSH's login outcome).
    public func analyse(packets: PacketSizes = .none) -> AppLayerInfo? {
        bytes.withUnsafeBytes { all in
            let base = all.baseAddress
            let client = ByteView(base: base, count: clientCount)
            let server = ByteView(base: base.map { $0 + clientEnd }, count: all.count - clientEnd)
            let initials = ByteView(base: base, count: quicDatagrams.last)
            return AppLayerDetector.analyse(client: client, server: server, transport: transport,
                                            clientPort: clientPort, serverPort: serverPort,
                                            clientStats: clientStats, serverStats: serverStats, packets: packets,
                                            quicInitials: initials, quicDatagrams: quicDatagrams)
        }
    }
}
