import Testing
@testable import Decoding

@Suite struct ByteViewTests {
    @Test func readsReturnNilPastTheEnd() {
        let b: [UInt8] = [1, 2, 3, 4, 5]
        b.withUnsafeBytes { buf in
            let v = ByteView(buf)
            #expect(v.u8(4) == 5 && v.u8(5) == nil && v.u8(-1) == nil)
            #expect(v.u16(3) == 0x0405 && v.u16(4) == nil)
            #expect(v.u32(1) == 0x0203_0405 && v.u32(2) == nil)
            #expect(v.has(0, 5) && !v.has(1, 5) && !v.has(Int.max, 1))
        }
    }

    @Test func byteOrders() {
        let b: [UInt8] = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09]
        b.withUnsafeBytes { buf in
            let v = ByteView(buf)
            // Unaligned big-endian reads at an odd offset.
            #expect(v.u16(1) == 0x0203 && v.u32(5) == 0x0607_0809)
            #expect(v.u32LittleEndian(0) == 0x0403_0201 && v.u32LittleEndian(6) == nil)
            // Raw loads keep memory order: their bytes are the buffer's bytes.
            let r64 = v.rawU64(1)!, r32 = v.rawU32(5)!
            #expect(withUnsafeBytes(of: r64) { Array($0) } == [2, 3, 4, 5, 6, 7, 8, 9])
            #expect(withUnsafeBytes(of: r32) { Array($0) } == [6, 7, 8, 9])
            #expect(v.rawU64(2) == nil && v.rawU32(6) == nil)
        }
    }

    @Test func emptyViewAndBadRanges() {
        let empty = ByteView(base: nil, count: 0)
        #expect(empty.u8(0) == nil && empty.u16(0) == nil && empty.rawU64(0) == nil)
        #expect(empty.has(0, 0) && !empty.has(0, 1))
        let b: [UInt8] = [1, 2, 3]
        b.withUnsafeBytes { buf in
            let v = ByteView(buf)
            #expect(!v.has(-1, 1) && !v.has(0, -1) && !v.has(Int.min, 2) && !v.has(2, Int.max))
            #expect(v.has(3, 0) && !v.has(4, 0))
        }
    }

    @Test func withBytesClipsToTheCapture() {
        let b: [UInt8] = [10, 20, 30, 40, 50]
        b.withUnsafeBytes { buf in
            let v = ByteView(buf)
            #expect(v.withBytes(from: 1, length: 2) { Array($0) } == [20, 30])
            #expect(v.withBytes(from: 3, length: 100) { Array($0) } == [40, 50])
            #expect(v.withBytes(from: 5, length: 1) { $0.count } == 0)
            #expect(v.withBytes(from: -1, length: 2) { $0.count } == 0)
            #expect(v.withBytes(from: 0, length: 0) { $0.count } == 0)
        }
    }
}
