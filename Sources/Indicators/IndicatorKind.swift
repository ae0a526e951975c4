/// What an indicator is, named in files the way Zeek's Intel framework
/// names it (`Intel::ADDR`, …), with FlowSentry's types for what Zeek's
/// base scripts lack: the names Zeek's JA3 and HASSH packages register
/// (`Intel::JA3`, `Intel::HASSH`), `Intel::JA4` beside them, and
/// `FlowSentry::TLS_SNI` for a name matched only against the TLS SNI (over
/// TCP or QUIC).
public enum IndicatorKind: UInt8, Sendable, CaseIterable {
    case address, subnet, domain, tlsSNI, url, ja3, ja4, hassh, certHash

    /// The `indicator_type` column's spelling.
    public var typeName: String {
        switch self {
        case .address: "Intel::ADDR"
        case .subnet: "Intel::SUBNET"
        case .domain: "Intel::DOMAIN"
        case .tlsSNI: "FlowSentry::TLS_SNI"
        case .url: "Intel::URL"
        case .ja3: "Intel::JA3"
        case .ja4: "Intel::JA4"
        case .hassh: "Intel::HASSH"
        case .certHash: "Intel::CERT_HASH"
        }
    }

    /// The short name written in alerts (`indicator.kind`) and stats.
    public var name: String {
        switch self {
        case .address: "ip"
        case .subnet: "cidr"
        case .domain: "domain"
        case .tlsSNI: "tls_sni"
        case .url: "url"
        case .ja3: "ja3"
        case .ja4: "ja4"
        case .hassh: "hassh"
        case .certHash: "cert_hash"
        }
    }

    /// The kind for an `indicator_type` value; nil when unknown.
    public static func named(_ type: String) -> IndicatorKind? {
        allCases.first { $0.typeName == type }
    }

    /// Zeek's other built-in types: the sensor sees none of them, so their
    /// lines are counted and skipped (a feed written for Zeek loads whole).
    public static let unseenZeekTypes: Set<String> = [
        "Intel::SOFTWARE", "Intel::EMAIL", "Intel::USER_NAME", "Intel::PUBKEY_HASH",
        "Intel::FILE_HASH", "Intel::FILE_NAME",
    ]
}

/// Where in a flow an indicator matched: the EVE field that held the value.
public enum IndicatorWhere: UInt8, Sendable, CaseIterable {
    case srcIP, destIP, dnsQuery, httpHostname, tlsSNI, tlsSubjectAltName, httpURL, tlsJA3, tlsJA4,
         sshClientHASSH, sshServerHASSH, tlsFingerprint, quicSNI, quicJA3, quicJA4

    public var field: StaticString {
        switch self {
        case .srcIP: "src_ip"
        case .destIP: "dest_ip"
        case .dnsQuery: "dns.queries.rrname"
        case .httpHostname: "http.hostname"
        case .tlsSNI: "tls.sni"
        case .tlsSubjectAltName: "tls.subjectaltname"
        case .httpURL: "http.url"
        case .tlsJA3: "tls.ja3.hash"
        case .tlsJA4: "tls.ja4"
        case .sshClientHASSH: "ssh.client.hassh.hash"
        case .sshServerHASSH: "ssh.server.hassh.hash"
        case .tlsFingerprint: "tls.fingerprint"
        case .quicSNI: "quic.sni"
        case .quicJA3: "quic.ja3.hash"
        case .quicJA4: "quic.ja4"
        }
    }
}

/// Severity (1 high … 3 low, as Suricata's `alert.severity`) of an
/// indicator whose line gives none.
public let defaultIndicatorSeverity: UInt8 = 2
