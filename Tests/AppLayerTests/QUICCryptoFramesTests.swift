import Testing
@testable import AppLayer
import Decoding

@Suite struct QUICCryptoFramesTests {
    static func walk(_ frames: [UInt8], into s: inout QUICCryptoStream) -> Bool {
        frames.withUnsafeBytes { QUICFrames.walk(ByteView($0), into: &s) }
    }

    @Test func cryptoFramesOutOfOrderWithAckPingAndPadding() {
        let data = (0..<300).map { UInt8($0 & 0xFF) }
        var s = QUICCryptoStream()
        let frames = [0x01] + QUICWire.crypto(offset: 200, data[200...]) + QUICWire.ack + [0x00, 0x00]
            + QUICWire.crypto(offset: 0, data[0..<120]) + [0x03, 5, 0, 1, 0, 2, 0, 7, 8, 9]  // ACK_ECN, one more range
        #expect(Self.walk(frames, into: &s))
        #expect(s.contiguous == 120 && s.ranges.count == 2)
        // The hole filled by a frame that overlaps both sides (retransmitted bytes keep their first value).
        #expect(Self.walk(QUICWire.crypto(offset: 100, [UInt8](repeating: 0xEE, count: 120)[...]), into: &s))
        #expect(s.contiguous == 300 && s.ranges.count == 1)
        #expect(Array(s.bytes[0..<120]) == Array(data[0..<120]))
        #expect(s.bytes[150] == 0xEE && s.bytes[220] == data[220])
    }

    @Test func framesAnInitialMayNotCarryStopTheWalk() {
        var s = QUICCryptoStream()
        // STREAM (0x08) is not allowed in an Initial: the CRYPTO frame before it still counts.
        #expect(!Self.walk(QUICWire.crypto(offset: 0, [1, 2, 3][...]) + [0x08, 0, 1, 0xAA], into: &s))
        #expect(s.contiguous == 3)
        // A CRYPTO frame whose length runs past the packet, and one cut in its offset.
        #expect(!Self.walk([0x06, 0x00, 0x10, 1, 2], into: &s))
        #expect(!Self.walk([0x06, 0x40], into: &s))
        // CONNECTION_CLOSE with its reason.
        #expect(Self.walk([0x1C, 0x01, 0x06, 0x02, 0x61, 0x62], into: &s))
    }

    @Test func bytesPastTheCapacityAreDroppedAndNoted() {
        var s = QUICCryptoStream()
        let big = [UInt8](repeating: 7, count: 100)
        #expect(Self.walk(QUICWire.crypto(offset: QUICCryptoStream.capacity - 50, big[...]), into: &s))
        #expect(s.overflow && s.ranges.last?.end == QUICCryptoStream.capacity)
        var t = QUICCryptoStream()
        #expect(Self.walk([0x06] + QUICWire.varint(1 << 20) + [1, 9], into: &t))
        #expect(t.overflow && t.ranges.isEmpty)
        // More separate ranges than tracked.
        var u = QUICCryptoStream()
        for i in 0..<(QUICCryptoStream.maxRanges + 2) {
            _ = Self.walk(QUICWire.crypto(offset: 10 + 3 * i, [1][...]), into: &u)
        }
        #expect(u.overflow && u.ranges.count == QUICCryptoStream.maxRanges)
    }

    @Test func theFirstMessageIsWholeOnceItsLengthIsCovered() {
        var s = QUICCryptoStream()
        let message = TLSWire.handshake(1, [UInt8](repeating: 5, count: 40))
        _ = Self.walk(QUICWire.crypto(offset: 0, message[0..<30]), into: &s)
        #expect(s.firstMessageLength == nil)
        _ = Self.walk(QUICWire.crypto(offset: 30, message[30...]), into: &s)
        #expect(s.firstMessageLength == 44)
    }
}
