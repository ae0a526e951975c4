import Testing
@testable import AppLayer
import Decoding

@Suite struct QUICInitialPacketTests {
    static let dcid = QUICInitialKeysTests.dcid

    static func hello() -> [UInt8] { TLSFingerprintTests.specHello(grease: true) }

    @Test func varintsOfEveryLength() {
        // RFC 9000 §A.1's examples.
        for (hex, value) in [("c2197c5eff14e88c", UInt64(151_288_809_941_952_652)), ("9d7f3e7d", 494_878_333),
                             ("7bbd", 15293), ("25", 37), ("4025", 37)] {
            let b = QUICWire.hex(hex)
            var p = 0
            let v = b.withUnsafeBytes { QUICInitialPacket.varint(ByteView($0), &p) }
            #expect(v == value && p == b.count, "\(hex)")
        }
        var p = 0
        #expect([UInt8]([0x80, 1]).withUnsafeBytes { QUICInitialPacket.varint(ByteView($0), &p) } == nil && p == 0)
    }

    @Test func packetNumbersDecodeNearTheLargestSeen() {
        // RFC 9000 §A.3's example: largest 0xa82f30ea, 16 bits 0x9b32 → 0xa82f9b32.
        #expect(QUICInitialPacket.decodePacketNumber(largest: 0xA82F_30EA, truncated: 0x9B32, bits: 16) == 0xA82F_9B32)
        #expect(QUICInitialPacket.decodePacketNumber(largest: -1, truncated: 0, bits: 32) == 0)
        #expect(QUICInitialPacket.decodePacketNumber(largest: -1, truncated: 2, bits: 8) == 2)
        #expect(QUICInitialPacket.decodePacketNumber(largest: 255, truncated: 1, bits: 8) == 257)
    }

    @Test func protectedInitialOpensToItsFrames() throws {
        let frames = QUICWire.crypto(offset: 0, Self.hello()[...])
        let packet = try QUICWire.initial(dcid: Self.dcid, scid: [9, 9], packetNumber: 2, frames: frames)
        #expect(packet.count >= 1200)
        try packet.withUnsafeBytes { raw in
            let view = ByteView(raw)
            #expect(QUICHeader.isInitial(view, at: 0))
            let h = try #require(QUICInitialPacket.header(view, at: 0))
            #expect(h.isInitial && h.version == QUICHeader.version1 && h.dcid == Self.dcid && h.end == packet.count)
            let keys = try #require(QUICInitialKeys(version: h.version, destinationConnectionID: h.dcid))
            let (payload, number) = try #require(QUICInitialPacket.open(view, h, keys: keys, largest: -1))
            #expect(number == 2)
            #expect(Array(payload.prefix(frames.count)) == frames)
            // Keys from another connection ID do not open it.
            let other = try #require(QUICInitialKeys(version: h.version, destinationConnectionID: [1, 2, 3, 4, 5, 6, 7, 8]))
            #expect(QUICInitialPacket.open(view, h, keys: other, largest: -1) == nil)
        }
    }

    @Test func truncatedOrGarbledPacketsGiveNothing() throws {
        let packet = try QUICWire.initial(dcid: Self.dcid, packetNumber: 0, frames: QUICWire.crypto(offset: 0, Self.hello()[...]))
        // Cut anywhere: the header's length runs past the bytes, or the header itself is cut.
        for cut in [0, 1, 5, 6, 14, 17, 19, 40, 600, packet.count - 1] {
            let b = Array(packet.prefix(cut))
            #expect(QUICWire.parse([b]) == nil, "cut at \(cut)")
        }
        // One bit flipped in the header, the protected packet number, the payload or the tag: the tag fails.
        for at in [0, 3, 7, 20, 22, 500, packet.count - 1] {
            var b = packet
            b[at] ^= 0x10
            #expect(QUICWire.parse([b]) == nil, "bit flipped at \(at)")
        }
        // A connection ID length over 20, and a length field as large as a varint holds.
        var long = packet
        long[5] = 21
        #expect(QUICWire.parse([long]) == nil)
        var huge = packet
        huge[15] = 0xC0  // the token length becomes an 8-byte varint, far past the datagram
        #expect(QUICWire.parse([huge]) == nil)
        // Short headers and other versions are left alone.
        var short = packet
        short[0] &= 0x7F
        #expect(QUICWire.parse([short]) == nil)
        var draft = packet
        draft[1...4] = [0xFF, 0x00, 0x00, 0x1D]
        #expect(QUICWire.parse([draft]) == nil)
        #expect(QUICWire.parse([[]]) == nil)
    }
}
