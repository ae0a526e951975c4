import Crypto

// The hashes of the TLS fingerprints (over TCP and QUIC) and of the leaf
// certificate: the only part of the TLS code that needs swift-crypto (the parser and its fuzz
// build leave this file out).

extension TLSClientHello {
    /// JA3: lower-case hex MD5 of `ja3String` (salesforce/ja3).
    public var ja3Hash: String { TLSDigest.md5Hex(ja3String) }

    /// JA4 for TLS over TCP (FoxIO JA4, BSD-3-Clause): `ja4Prefix`, then the
    /// first 12 hex digits of SHA-256 of the sorted cipher list and of the
    /// extension list; `000000000000` for an empty list.
    public var ja4: String { ja4(.tcp) }

    /// JA4 of the hello carried `over` TCP or QUIC (only part a's first character differs).
    public func ja4(_ over: JA4Transport) -> String {
        ja4Prefix(over) + "_" + TLSDigest.sha256Prefix12(ja4CipherList) + "_" + TLSDigest.sha256Prefix12(ja4ExtensionList)
    }
}

extension TLSServerHello {
    /// JA3S: lower-case hex MD5 of `ja3sString`.
    public var ja3sHash: String { TLSDigest.md5Hex(ja3sString) }
}

extension TLSInfo {
    /// JA3 of the ClientHello, nil without one.
    public var ja3Hash: String? { clientHello?.ja3Hash }
    /// JA3S of the ServerHello, nil without one.
    public var ja3sHash: String? { serverHello?.ja3sHash }
    /// JA4 of the ClientHello, nil without one.
    public var ja4: String? { clientHello?.ja4 }
}

extension QUICInfo {
    /// JA3 of the ClientHello (the same string and hash as over TCP), nil without one.
    public var ja3Hash: String? { clientHello?.ja3Hash }
    /// JA4 of the ClientHello with `q` for QUIC, nil without one.
    public var ja4: String? { clientHello?.ja4(.quic) }
}

extension X509Summary {
    /// SHA-1 of the whole DER as lower-case hex pairs joined by `:` (EVE
    /// `tls.fingerprint`); nil when the certificate was cut.
    public var fingerprint: String? {
        guard !truncated, !der.isEmpty else { return nil }
        return TLSDigest.hexPairs(Insecure.SHA1.hash(data: der))
    }
}

enum TLSDigest {
    static let digits = Array("0123456789abcdef".utf8)

    static func md5Hex(_ text: String) -> String {
        hex(Insecure.MD5.hash(data: Array(text.utf8)), count: 16)
    }

    /// The first 12 hex digits of SHA-256 of `text`; `000000000000` for empty text (JA4's rule).
    static func sha256Prefix12(_ text: String) -> String {
        guard !text.isEmpty else { return "000000000000" }
        return hex(SHA256.hash(data: Array(text.utf8)), count: 6)
    }

    static func hex<D: Sequence>(_ digest: D, count: Int) -> String where D.Element == UInt8 {
        var out: [UInt8] = []
        for b in digest.prefix(count) {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func hexPairs<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        var out: [UInt8] = []
        for b in digest {
            if !out.isEmpty { out.append(58) }  // ":"
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
