#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the sensor keeps of a TLS conversation's cleartext start: record
/// counts per direction, the ClientHello and ServerHello, and the leaf
/// certificate when it travels in the clear (TLS ≤ 1.2). `TLSParser` fills it
/// from the first bytes of each direction; the hashes of the fingerprints
/// (JA3, JA3S, JA4) and of the certificate are in TLSFingerprints.swift.
public struct TLSInfo: Sendable, Equatable {
    /// Records by content type, client → server and server → client.
    public var clientRecords = TLSRecordCounts()
    public var serverRecords = TLSRecordCounts()
    /// The direction's bytes ended inside a record (the prefix or the capture cut it).
    public var clientTruncated = false
    public var serverTruncated = false
    /// The first ClientHello (nil when absent, cut, or unreadable).
    public var clientHello: TLSClientHello?
    /// The ServerHello (the one after a HelloRetryRequest when both are seen).
    public var serverHello: TLSServerHello?
    /// The server's leaf certificate, when sent in the clear.
    public var certificate: X509Summary?
    /// Nil when well formed; else the first problem found, `tls.<reason>` in snake case.
    public var malformed: String?

    public init() {}
}

/// Records seen in one direction, by content type (RFC 8446 §5.1; heartbeat RFC 6520).
public struct TLSRecordCounts: Sendable, Equatable {
    public var changeCipherSpec = 0
    public var alert = 0
    public var handshake = 0
    public var applicationData = 0
    public var heartbeat = 0
    /// Content types outside 20–24.
    public var other = 0
    /// The largest heartbeat record's length field in bytes (0 when none): a
    /// Heartbleed request is short and its answer long.
    public var heartbeatMaxLength = 0

    public init() {}

    public var total: Int { changeCipherSpec + alert + handshake + applicationData + heartbeat + other }
}

/// The ClientHello's fields that fingerprints and records use (RFC 8446 §4.1.2).
/// Lists are in wire order with GREASE values kept; the fingerprints drop them.
public struct TLSClientHello: Sendable, Equatable {
    /// Most cipher suites kept; a longer offer sets `listsTruncated`.
    public static let cipherCapacity = 256
    /// Most entries kept of each other list (extensions, groups, signature algorithms, versions, point formats).
    public static let listCapacity = 128
    /// Longest SNI host name kept, in bytes (a DNS name is at most 253).
    public static let serverNameCapacity = 255
    /// Most ALPN protocol names kept (each at most 255 bytes by the wire format).
    public static let alpnCapacity = 32

    public var legacyVersion: UInt16 = 0
    public var cipherSuites: [UInt16] = []
    /// Extension types.
    public var extensions: [UInt16] = []
    /// The first host_name of the server_name extension (ext 0), as sent.
    public var serverName: [UInt8]?
    /// application_layer_protocol_negotiation (ext 16) protocol names.
    public var alpn: [[UInt8]] = []
    /// supported_versions (ext 43).
    public var supportedVersions: [UInt16] = []
    /// supported_groups (ext 10), the "elliptic curves" of JA3.
    public var supportedGroups: [UInt16] = []
    /// ec_point_formats (ext 11).
    public var ecPointFormats: [UInt8] = []
    /// signature_algorithms (ext 13 only; not signature_algorithms_cert or delegated credentials).
    public var signatureAlgorithms: [UInt16] = []
    /// A list was longer than its capacity: the fingerprints cover only the kept part.
    public var listsTruncated = false

    public init() {}

    /// The SNI as text (invalid UTF-8 replaced), nil without a host name.
    public var sni: String? { serverName.map { String(decoding: $0, as: UTF8.self) } }
    /// ALPN protocol names as text.
    public var alpnNames: [String] { alpn.map { String(decoding: $0, as: UTF8.self) } }

    /// The highest version offered: the largest non-GREASE supported_versions
    /// entry when the extension is present, else the legacy version.
    public var highestVersion: UInt16 {
        supportedVersions.lazy.filter { !TLSGrease.isGrease($0) }.max() ?? legacyVersion
    }
}

/// The ServerHello's fields that fingerprints and records use (RFC 8446 §4.1.3).
public struct TLSServerHello: Sendable, Equatable {
    public var legacyVersion: UInt16 = 0
    public var cipherSuite: UInt16 = 0
    /// Extension types in wire order.
    public var extensions: [UInt16] = []
    /// supported_versions (ext 43): the version the server chose (TLS 1.3).
    public var selectedVersion: UInt16?
    /// The ALPN protocol the server chose (ext 16).
    public var alpn: [UInt8]?
    /// A HelloRetryRequest was seen (its random is SHA-256("HelloRetryRequest")).
    /// The fields are the later ServerHello's when that was seen too, else the HRR's.
    public var helloRetryRequest = false

    public init() {}

    /// The negotiated version: supported_versions when present, else the legacy version.
    public var version: UInt16 { selectedVersion ?? legacyVersion }
}

/// GREASE values (RFC 8701): 0x0A0A, 0x1A1A, … 0xFAFA.
public enum TLSGrease {
    public static func isGrease(_ v: UInt16) -> Bool { v & 0x0F0F == 0x0A0A && v >> 8 == v & 0xFF }
}

// MARK: - Version names and numeric values

extension TLSInfo {
    /// The version that describes the session: the server's choice when its
    /// hello was seen, else the client's highest offer; 0 when unknown.
    public var negotiatedVersion: UInt16 {
        if let s = serverHello { return s.version }
        return clientHello?.highestVersion ?? 0
    }

    /// The version as Suricata's EVE `tls.version` writes it.
    public var versionName: String { TLSInfo.versionName(negotiatedVersion) }

    /// Suricata's names: SSLv2, SSLv3, TLSv1, TLS 1.1, TLS 1.2, TLS 1.3, TLS 1.3 draft-N, else UNDETERMINED.
    public static func versionName(_ v: UInt16) -> String {
        switch v {
        case 0x0002, 0x0200: "SSLv2"
        case 0x0300: "SSLv3"
        case 0x0301: "TLSv1"
        case 0x0302: "TLS 1.1"
        case 0x0303: "TLS 1.2"
        case 0x0304: "TLS 1.3"
        case 0x7F00...0x7FFF: "TLS 1.3 draft-\(v & 0xFF)"
        default: "UNDETERMINED"
        }
    }

    /// The negotiated version as a number: 13, 12, 11, 10 for TLS, 3 and 2 for SSL, 0 unknown.
    public var versionCode: Double {
        switch negotiatedVersion {
        case 0x0304, 0x7F00...0x7FFF: 13
        case 0x0303: 12
        case 0x0302: 11
        case 0x0301: 10
        case 0x0300: 3
        case 0x0002, 0x0200: 2
        default: 0
        }
    }

    /// Cipher suites the client offered, GREASE removed.
    public var cipherCount: Double { Double(clientHello?.cipherSuites.count { !TLSGrease.isGrease($0) } ?? 0) }
    /// Extensions in the ClientHello, GREASE removed.
    public var extensionCount: Double { Double(clientHello?.extensions.count { !TLSGrease.isGrease($0) } ?? 0) }
    /// 1 when the ClientHello named a server (SNI host_name), else 0.
    public var sniPresent: Double { clientHello?.serverName == nil ? 0 : 1 }
    /// Length of the SNI host name in bytes (0 without one).
    public var sniLength: Double { Double(clientHello?.serverName?.count ?? 0) }
    /// Shannon entropy of the SNI host name's bytes, bits per character (0 without one).
    public var sniEntropy: Double { TLSInfo.entropy(clientHello?.serverName ?? []) }
    /// The leaf certificate's validity period (notAfter − notBefore) in days; 0 without a certificate.
    public var certificateValidityDays: Double {
        guard let b = certificate?.notBeforeEpoch, let a = certificate?.notAfterEpoch else { return 0 }
        return Double(a - b) / 86_400
    }
    /// 1 when the leaf certificate's subject equals its issuer, else 0 (also without a certificate).
    public var certificateSelfSigned: Double {
        guard let c = certificate, let s = c.subject, let i = c.issuer else { return 0 }
        return s == i ? 1 : 0
    }
    /// Largest server heartbeat record over largest client heartbeat record (0 unless both sent one).
    public var heartbeatRatio: Double {
        let c = clientRecords.heartbeatMaxLength, s = serverRecords.heartbeatMaxLength
        return c > 0 && s > 0 ? Double(s) / Double(c) : 0
    }
    /// The server answered a heartbeat with far more than the client sent
    /// (Heartbleed, CVE-2014-0160): a heartbeat response echoes its
    /// request's payload (RFC 6520 §4), so its record is about the request's
    /// size, encrypted or not; a server that reads past the payload the
    /// client really sent answers with up to 64 KiB of its memory. True when
    /// the client sent a heartbeat and the server's largest heartbeat record
    /// is at least twice the client's largest and 256 bytes more.
    public var heartbeatOverread: Bool {
        let c = clientRecords.heartbeatMaxLength, s = serverRecords.heartbeatMaxLength
        return clientRecords.heartbeat > 0 && s >= 2 * c && s >= c + 256
    }
    /// Heartbeat records in both directions.
    public var heartbeatRecords: Double { Double(clientRecords.heartbeat + serverRecords.heartbeat) }

    static func entropy(_ bytes: [UInt8]) -> Double {
        guard !bytes.isEmpty else { return 0 }
        var counts = [Int](repeating: 0, count: 256)
        for b in bytes { counts[Int(b)] += 1 }
        let total = Double(bytes.count)
        var e = 0.0
        for c in counts where c > 0 {
            let p = Double(c) / total
            e -= p * log2(p)
        }
        return e
    }
}

// MARK: - Fingerprint strings (hashed in TLSFingerprints.swift)

extension TLSClientHello {
    /// JA3's input: `version,ciphers,extensions,groups,point formats`, decimal,
    /// `-` within a field, GREASE removed from ciphers, extensions and groups.
    public var ja3String: String {
        var s = String(legacyVersion)
        s += ","; s += TLSFingerprintText.decimalList(cipherSuites)
        s += ","; s += TLSFingerprintText.decimalList(extensions)
        s += ","; s += TLSFingerprintText.decimalList(supportedGroups)
        s += ","; s += ecPointFormats.map { String($0) }.joined(separator: "-")
        return s
    }

    /// JA4 part a for TLS over TCP: `t`, version, `d`/`i` (SNI or not), cipher
    /// and extension counts (GREASE left out, at most 99), ALPN's first and last character.
    public var ja4Prefix: String { ja4Prefix(.tcp) }

    /// JA4 part a for the hello carried `over` TCP (`t`) or QUIC (`q`).
    public func ja4Prefix(_ over: JA4Transport) -> String {
        var s = over == .quic ? "q" : "t"
        s += TLSFingerprintText.ja4Version(highestVersion)
        s += extensions.contains(0x0000) ? "d" : "i"
        s += TLSFingerprintText.twoDigits(cipherSuites.count { !TLSGrease.isGrease($0) })
        s += TLSFingerprintText.twoDigits(extensions.count { !TLSGrease.isGrease($0) })
        s += TLSFingerprintText.ja4ALPN(alpn.first)
        return s
    }

    /// JA4 part b's input: cipher suites as 4-digit lower-case hex, sorted, comma-separated, GREASE left out.
    public var ja4CipherList: String {
        TLSFingerprintText.hexList(cipherSuites.filter { !TLSGrease.isGrease($0) }.sorted())
    }

    /// JA4 part c's input: extensions as sorted hex without SNI (0000), ALPN
    /// (0010) and GREASE, then `_` and signature algorithms (ext 13) in wire
    /// order without GREASE; no `_` when there are none.
    public var ja4ExtensionList: String {
        let exts = extensions.filter { !TLSGrease.isGrease($0) && $0 != 0x0000 && $0 != 0x0010 }.sorted()
        var s = TLSFingerprintText.hexList(exts)
        let sigs = signatureAlgorithms.filter { !TLSGrease.isGrease($0) }
        if !sigs.isEmpty { s += "_"; s += TLSFingerprintText.hexList(sigs) }
        return s
    }

    /// JA4_r: the JA4 with parts b and c unhashed.
    public var ja4Raw: String { ja4Prefix + "_" + ja4CipherList + "_" + ja4ExtensionList }
}

/// What carried a ClientHello, as JA4's first character says it (FoxIO JA4:
/// `t` TLS over TCP, `q` QUIC; the rest of the fingerprint is the same).
public enum JA4Transport: Sendable {
    case tcp, quic
}

extension TLSServerHello {
    /// JA3S's input: `version,cipher,extensions`, decimal (no GREASE filtering, as the reference).
    public var ja3sString: String {
        String(legacyVersion) + "," + String(cipherSuite) + "," + extensions.map { String($0) }.joined(separator: "-")
    }
}

/// Text pieces of the fingerprints.
enum TLSFingerprintText {
    static func decimalList(_ values: [UInt16]) -> String {
        values.filter { !TLSGrease.isGrease($0) }.map { String($0) }.joined(separator: "-")
    }

    static func hex4(_ v: UInt16) -> String {
        let digits = Array("0123456789abcdef".utf8)
        let b = [digits[Int(v >> 12)], digits[Int(v >> 8 & 0xF)], digits[Int(v >> 4 & 0xF)], digits[Int(v & 0xF)]]
        return String(decoding: b, as: UTF8.self)
    }

    static func hexList(_ values: [UInt16]) -> String { values.map(hex4).joined(separator: ",") }

    static func twoDigits(_ n: Int) -> String {
        let c = min(n, 99)
        return c < 10 ? "0\(c)" : String(c)
    }

    /// JA4's version code: 13, 12, 11, 10, s3, s2, d1, d2, d3, else 00.
    static func ja4Version(_ v: UInt16) -> String {
        switch v {
        case 0x0304: "13"
        case 0x0303: "12"
        case 0x0302: "11"
        case 0x0301: "10"
        case 0x0300: "s3"
        case 0x0002: "s2"
        case 0xFEFF: "d1"
        case 0xFEFD: "d2"
        case 0xFEFC: "d3"
        default: "00"
        }
    }

    /// JA4's ALPN code: the first and last characters of the first protocol
    /// name ("h2", "http/1.1" → "h1", "x" → "xx"); when either is not ASCII
    /// alphanumeric, the first and last digits of the name's hex instead;
    /// "00" without a name.
    static func ja4ALPN(_ name: [UInt8]?) -> String {
        guard let name, let first = name.first, let last = name.last else { return "00" }
        func alnum(_ c: UInt8) -> Bool { (48...57).contains(c) || (65...90).contains(c) || (97...122).contains(c) }
        if alnum(first) && alnum(last) { return String(decoding: [first, last], as: UTF8.self) }
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: [digits[Int(first >> 4)], digits[Int(last & 0xF)]], as: UTF8.self)
    }
}
