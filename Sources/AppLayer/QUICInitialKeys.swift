#if canImport(_CryptoExtras)
import Crypto
import _CryptoExtras
#endif
import Decoding

// The cryptography of a client's Initial packets: the only part of the
// QUIC parser that needs swift-crypto. The libFuzzer builds
// (scripts/fuzz.sh) compile the parsers without it: there `derive` gives
// no keys, and every Initial stays closed.

/// The keys that protect a client's Initial packets, derived from nothing
/// but the version and the Destination Connection ID of the client's first
/// Initial (RFC 9001 §5.2; version 2: RFC 9369 §3.3):
///
/// ```
/// initial_secret = HKDF-Extract(salt of the version, DCID)
/// client_secret  = HKDF-Expand-Label(initial_secret, "client in", "", 32)
/// key = HKDF-Expand-Label(client_secret, "quic key", "", 16)   v2: "quicv2 key"
/// iv  = HKDF-Expand-Label(client_secret, "quic iv", "", 12)    v2: "quicv2 iv"
/// hp  = HKDF-Expand-Label(client_secret, "quic hp", "", 16)    v2: "quicv2 hp"
/// ```
///
/// Initial packets always use AES-128-GCM, with AES-128 header protection.
public struct QUICInitialKeys: Sendable {
    /// RFC 9001 §5.2 and RFC 9369 §3.3.1.
    static let saltV1: [UInt8] = [
        0x38, 0x76, 0x2C, 0xF7, 0xF5, 0x59, 0x34, 0xB3, 0x4D, 0x17, 0x9A, 0xE6, 0xA4, 0xC8, 0x0C, 0xAD, 0xCC, 0xBB,
        0x7F, 0x0A,
    ]
    static let saltV2: [UInt8] = [
        0x0D, 0xED, 0xE3, 0xDE, 0xF7, 0x00, 0xA6, 0xDB, 0x81, 0x93, 0x81, 0xBE, 0x6E, 0x26, 0x9D, 0xCB, 0xF9, 0xBD,
        0x2E, 0xD9,
    ]

    public let initialSecret: [UInt8]
    public let clientSecret: [UInt8]
    public let key: [UInt8]
    public let iv: [UInt8]
    public let hp: [UInt8]

    /// The keys for `version`'s Initial packets sent to `dcid`; nil for any
    /// version but 1 and 2, a connection ID longer than 20 bytes (RFC 9000
    /// §17.2), or a build without swift-crypto.
    public init?(version: UInt32, destinationConnectionID dcid: [UInt8]) {
        let salt: [UInt8], prefix: String
        switch version {
        case QUICHeader.version1: salt = Self.saltV1; prefix = "quic "
        case QUICHeader.version2: salt = Self.saltV2; prefix = "quicv2 "
        default: return nil
        }
        guard dcid.count <= 20 else { return nil }
        #if canImport(_CryptoExtras)
        let initial = HKDF<SHA256>.extract(inputKeyMaterial: SymmetricKey(data: dcid), salt: salt)
        initialSecret = Array(initial)
        clientSecret = Self.expandLabel(initialSecret, "client in", 32)
        key = Self.expandLabel(clientSecret, prefix + "key", 16)
        iv = Self.expandLabel(clientSecret, prefix + "iv", 12)
        hp = Self.expandLabel(clientSecret, prefix + "hp", 16)
        #else
        return nil
        #endif
    }

    #if canImport(_CryptoExtras)
    /// HKDF-Expand-Label with an empty context (RFC 8446 §7.1): the info is
    /// length(2) || "tls13 " + label as opaque<7..255> || context as opaque<0..255>.
    static func expandLabel(_ secret: [UInt8], _ label: String, _ length: Int) -> [UInt8] {
        let full = Array("tls13 ".utf8) + Array(label.utf8)
        let info = [UInt8(length >> 8), UInt8(length & 0xFF), UInt8(full.count)] + full + [0]
        let out = HKDF<SHA256>.expand(pseudoRandomKey: secret, info: info, outputByteCount: length)
        return out.withUnsafeBytes { Array($0) }
    }
    #endif

    /// The header-protection mask (RFC 9001 §5.4.3): AES-128 of the 16-byte
    /// `sample` under `hp`; its first five bytes are used. nil when the
    /// sample is not 16 bytes (or without swift-crypto).
    public func headerMask(sample: [UInt8]) -> [UInt8]? {
        guard sample.count == 16 else { return nil }
        #if canImport(_CryptoExtras)
        var block = sample
        guard (try? AES.permute(&block, key: SymmetricKey(data: hp))) != nil else { return nil }
        return block
        #else
        return nil
        #endif
    }

    /// Opens a packet's payload (RFC 9001 §5.3): AES-128-GCM under `key`,
    /// the nonce `iv` XOR the packet number (left-padded to 12 bytes), the
    /// unprotected header as associated data, the last 16 bytes of
    /// `sealed` the tag. nil when the tag does not verify.
    public func open(sealed: [UInt8], packetNumber: UInt64, header: [UInt8]) -> [UInt8]? {
        guard sealed.count >= 16, iv.count == 12 else { return nil }
        var nonce = iv
        for i in 0..<8 { nonce[11 - i] ^= UInt8(truncatingIfNeeded: packetNumber >> (8 * UInt64(i))) }
        #if canImport(_CryptoExtras)
        let split = sealed.count - 16
        guard let n = try? AES.GCM.Nonce(data: nonce),
              let box = try? AES.GCM.SealedBox(nonce: n, ciphertext: sealed[..<split], tag: sealed[split...]),
              let plain = try? AES.GCM.open(box, using: SymmetricKey(data: key), authenticating: header)
        else { return nil }
        return Array(plain)
        #else
        return nil
        #endif
    }
}
