import Testing
import Crypto
import _CryptoExtras
@testable import AppLayer
import Decoding

/// Builds protected client Initial packets the way a QUIC client does
/// (RFC 9001 §5): frames padded, sealed with AES-128-GCM under the header,
/// then header protection applied. The parser under test opens them.
enum QUICWire {
    static func hex(_ s: String) -> [UInt8] { TLSWire.bytes(hex: s) }

    static func hexString(_ b: [UInt8]) -> String { b.map { String(format2: $0) }.joined() }

    /// A variable-length integer in its shortest form.
    static func varint(_ v: UInt64) -> [UInt8] {
        switch v {
        case ..<64: [UInt8(v)]
        case ..<16384: [UInt8(0x40 | v >> 8), UInt8(v & 0xFF)]
        default: [UInt8(0x80 | v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
        }
    }

    /// A CRYPTO frame: type 6, offset, length, data.
    static func crypto(offset: Int, _ data: ArraySlice<UInt8>) -> [UInt8] {
        [0x06] + varint(UInt64(offset)) + varint(UInt64(data.count)) + Array(data)
    }

    /// An ACK frame acknowledging packet 0 (largest 0, delay 0, no more ranges, first range 0).
    static let ack: [UInt8] = [0x02, 0x00, 0x00, 0x00, 0x00]

    /// A protected Initial packet carrying `frames`, padded with PADDING to
    /// `padTo` bytes of payload, the packet number in 4 bytes.
    static func initial(version: UInt32 = QUICHeader.version1, dcid: [UInt8], scid: [UInt8] = [],
                        packetNumber: UInt32, frames: [UInt8], padTo: Int = 1162,
                        keysFrom original: [UInt8]? = nil) throws -> [UInt8] {
        let keys = try #require(QUICInitialKeys(version: version, destinationConnectionID: original ?? dcid))
        let type: UInt8 = version == QUICHeader.version2 ? 0b01 : 0b00
        let payload = frames + [UInt8](repeating: 0, count: max(0, padTo - frames.count))
        let pn = [UInt8(packetNumber >> 24), UInt8(packetNumber >> 16 & 0xFF), UInt8(packetNumber >> 8 & 0xFF),
                  UInt8(packetNumber & 0xFF)]
        var header: [UInt8] = [0xC0 | type << 4 | 0x03]
        header += [UInt8(version >> 24), UInt8(version >> 16 & 0xFF), UInt8(version >> 8 & 0xFF), UInt8(version & 0xFF)]
        header += [UInt8(dcid.count)] + dcid + [UInt8(scid.count)] + scid + [0x00]
        header += [UInt8(0x40 | (payload.count + 20) >> 8), UInt8((payload.count + 20) & 0xFF)] + pn
        var nonce = keys.iv
        for i in 0..<4 { nonce[8 + i] ^= pn[i] }
        let box = try AES.GCM.seal(payload, using: SymmetricKey(data: keys.key), nonce: AES.GCM.Nonce(data: nonce),
                                   authenticating: header)
        let sealed = Array(box.ciphertext) + Array(box.tag)
        // Header protection: the sample starts 4 bytes after the packet number's start.
        var mask = Array(sealed[0..<16])
        try AES.permute(&mask, key: SymmetricKey(data: keys.hp))
        var protected = header
        protected[0] ^= mask[0] & 0x0F
        for i in 0..<4 { protected[protected.count - 4 + i] ^= mask[1 + i] }
        return protected + sealed
    }

    /// Datagrams back to back and their ends, as the stream prefix keeps them.
    static func datagrams(_ list: [[UInt8]]) -> ([UInt8], QUICDatagramEnds) {
        var ends = QUICDatagramEnds()
        var all: [UInt8] = []
        for d in list { all += d; ends.append(all.count) }
        return (all, ends)
    }

    static func parse(_ list: [[UInt8]]) -> QUICInfo? {
        let (all, ends) = datagrams(list)
        return all.withUnsafeBytes { QUICParser.parse(datagrams: ByteView($0), ends: ends) }
    }
}

extension String {
    /// Two lower-case hex digits.
    init(format2 b: UInt8) {
        let d = Array("0123456789abcdef")
        self = String([d[Int(b >> 4)], d[Int(b & 0xF)]])
    }
}
