import Capture
import Decoding
import Foundation
import Sensor
import Testing

/// Inputs found by scripts/fuzz_captures.py that once crashed the sensor,
/// kept in Tests/SensorTests/Captures/fuzz/ (outside the golden and oracle
/// sets). Each must now replay without trapping, with the outcome stated.
@Suite struct FuzzRegressionTests {
    func path(_ n: String) -> String { Repo.captures.appendingPathComponent("fuzz/" + n).path }

    /// The lab's attack-dos prefix as pcapng (nanosecond if_tsresol) with one
    /// enhanced packet block's timestamp set to 0x80000000_FFFFFFFF ns (the
    /// year 2262). Its seconds times 10^9 wrapped to a negative time, and the
    /// flow table's idle check (packet time minus last time) trapped on
    /// overflow. Timestamps are now clamped to PacketTime (2^62 ns, 2116).
    @Test func pcapngTimestampBeyondTheRangeIsClampedNotTrapped() {
        let (text, s) = replayLines([path("pcapng-timestamp-2262.pcapng")], sequence: false)
        #expect(s.errors.isEmpty, "\(s.errors)")
        #expect(s.packetsRead == 44)
        let lines = text.split(separator: "\n")
        #expect(lines.count == Int(s.flowsWritten) && s.flowsWritten >= 1)
        // 2^62 ns after 1970 is 2116-02-20T23:53:38.427387904 UTC.
        let clamped = lines.filter { $0.contains(#""start":"2116-02-20T23:53:38.427387+0000""#) }
        #expect(clamped.count == 1, "the one packet past the range starts a flow at the clamp")
        #expect(!text.contains(#""start":"1"#) && !text.contains("\"start\":\"-"), "no time before 2000")
    }

    @Test func pcapngTimestampArithmeticSaturates() {
        typealias R = PcapFileReader
        let ns = 1_000_000_000 as UInt64
        #expect(R.pcapngTimestampNs(raw: 1_700_000_000 * ns + 5, unitsPerSecond: ns, offsetSeconds: 0)
            == 1_700_000_000_000_000_005)
        #expect(R.pcapngTimestampNs(raw: 1_700_000_000_123_456, unitsPerSecond: 1_000_000, offsetSeconds: 10)
            == 1_700_000_010_123_456_000)
        #expect(R.pcapngTimestampNs(raw: .max, unitsPerSecond: ns, offsetSeconds: 0) == PacketTime.maxNs)
        #expect(R.pcapngTimestampNs(raw: .max, unitsPerSecond: 1, offsetSeconds: .max) == PacketTime.maxNs)
        #expect(R.pcapngTimestampNs(raw: .max, unitsPerSecond: 1, offsetSeconds: .min) == 0)
        #expect(R.pcapngTimestampNs(raw: 5, unitsPerSecond: 1, offsetSeconds: -6) == 0)
        #expect(R.pcapngTimestampNs(raw: 0, unitsPerSecond: 0, offsetSeconds: 0) == 0)
        #expect(R.pcapngTimestampNs(raw: .max - 1, unitsPerSecond: .max, offsetSeconds: 0) == 999_999_999)
    }

    @Test func decoderClampsTimestamps() {
        var p = DecodedPacket()
        let d = PacketDecoder(linkType: .rawIPv4)
        let bytes: [UInt8] = [0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
                              0, 53, 0, 53, 0, 8, 0, 0]
        bytes.withUnsafeBytes { raw in
            let v = ByteView(base: raw.baseAddress!, count: raw.count)
            _ = d.decode(v, wireLength: 28, timestampNs: .min, into: &p)
            #expect(p.timestampNs == 0)
            _ = d.decode(v, wireLength: 28, timestampNs: .max, into: &p)
            #expect(p.timestampNs == PacketTime.maxNs)
        }
    }
}
