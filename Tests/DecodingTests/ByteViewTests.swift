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
}
