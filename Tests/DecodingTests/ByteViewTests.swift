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

    @Test func everyPrefixOfEveryFixtureDecodesWithoutTrapping() {
        // Each cut must give a clean result: decoded, or skipped with a reason.
        let frames: [[UInt8]] = [synFrame, IPv6Tests().chain(),
                                 ether(0x0800, ipv4(proto: 47, hex("00 00 08 00") + ipv4(proto: 6, tcp())))]
        for f in frames {
            for n in 0...f.count {
                let (ok, p) = decode(Array(f.prefix(n)), wire: f.count)
                #expect(ok || p.anomaly != .none)
            }
        }
    }

    @Test func addressTextForms() {
        #expect(IPAddress("10.1.2.3")?.description == "10.1.2.3")
        #expect(IPAddress("fe80::1")?.description == "fe80:0000:0000:0000:0000:0000:0000:0001")
        #expect(IPAddress("1.2.3") == nil && IPAddress("::1::2") == nil)
        #expect(IPAddress("1.2.3.4")! < IPAddress("5.6.7.8")!)
    }
}
