import Alerts
import Capture
import Decoding
import Flows
import Foundation
import Sensor
import Testing

/// The pcap files of `--alert-pcap`, read back through libpcap: each
/// flow's packets as one run with their timestamps, lengths and bytes;
/// rotation at the size cap (never splitting a flow), on a link-type
/// change, and removal of the oldest file beyond the count cap.
@Suite struct AlertPcapWriterTests {
    /// One record per flow with `packets[i]` packets of 100 bytes each, all
    /// bytes `flow*16 + packet`, at time flow s + packet ms.
    func chains(_ packets: [Int], linkTypes: [UInt16]? = nil) -> (FlowPacketRings, [PacketChain]) {
        var c = FlowTableConfig()
        c.stripes = 1
        let t = FlowTable(config: c)
        let rings = FlowPacketRings(stripes: 1, slotsPerStripe: t.stripeLayout.slotsPerStripe, ringPackets: 64,
                                    snaplen: 256, memcapBytes: 1 << 20)
        t.packetRings = rings
        var out: [PacketChain] = []
        for (f, n) in packets.enumerated() {
            rings.linkType = linkTypes?[f] ?? 1
            var s = FlowSink()
            for i in 0..<n {
                var p = DecodedPacket()
                p.timestampNs = Int64(f) * 1_000_000_000 + Int64(i) * 1_000_000 + 123
                p.src = IPAddress(v4: 10, 0, 0, UInt8(f + 1)); p.dst = IPAddress(v4: 10, 0, 1, 1)
                p.srcPort = 1000; p.dstPort = 80; p.hasPorts = true; p.proto = 17; p.ipVersion = 4
                p.wireLength = 150
                let bytes = [UInt8](repeating: UInt8(f * 16 + i), count: 100)
                bytes.withUnsafeBytes { t.process(&p, bytes: ByteView($0), sink: &s) }
            }
            t.flushAll(sink: &s)
            out.append(s.records[0].packetRing)
        }
        return (rings, out)
    }

    func directory() -> String {
        let d = NSTemporaryDirectory() + "alert-pcap-\(UUID().uuidString)"
        return d
    }

    func readBack(_ path: String) throws -> [CapturedPacketCopy] {
        let r = try PcapFileReader(path: path)
        var out: [CapturedPacketCopy] = []
        while let p = try r.next() {
            var bytes = [UInt8]()
            for i in 0..<p.bytes.count { bytes.append(p.bytes.u8(i)!) }
            out.append(CapturedPacketCopy(ts: p.timestampNs, wire: p.wireLength, bytes: bytes, dlt: r.dlt))
        }
        return out
    }

    struct CapturedPacketCopy { let ts: Int64; let wire: Int; let bytes: [UInt8]; let dlt: Int32 }

    @Test func eachFlowIsOneRunWithItsTimesLengthsAndBytes() throws {
        let (rings, flows) = chains([3, 2])
        var config = AlertPcapConfig(directory: directory())
        config.fileSizeBytes = 1 << 20
        let w = try AlertPcapWriter(config: config)
        let a = try #require(w.write(flows[0], from: rings))
        let b = try #require(w.write(flows[1], from: rings))
        w.closeFile()
        #expect(a.file == b.file && a.firstPacket == 1 && a.packets == 3 && b.firstPacket == 4 && b.packets == 2)
        let got = try readBack(a.file)
        #expect(got.count == 5)
        #expect(got.map(\.ts) == [123, 1_000_123, 2_000_123, 1_000_000_123, 1_001_000_123])
        #expect(got.allSatisfy { $0.wire == 150 && $0.bytes.count == 100 && $0.dlt == 1 })
        #expect(got.map { $0.bytes[0] } == [0, 1, 2, 16, 17])
        #expect(w.flowsWritten == 2 && w.packetsWritten == 5)
        #expect(w.write(.none, from: rings) == nil)
    }

    @Test func rotatesBeforeAFlowThatWouldPassTheCapAndNeverSplitsOne() throws {
        // A packet is 16 + 100 bytes in the file; the header 24.
        let (rings, flows) = chains([2, 2, 5, 1])
        var config = AlertPcapConfig(directory: directory())
        config.fileSizeBytes = 24 + 3 * 116
        config.fileCount = 0
        let w = try AlertPcapWriter(config: config)
        let placed = flows.compactMap { w.write($0, from: rings) }
        w.closeFile()
        #expect(placed.count == 4)
        let files = placed.map { ($0.file as NSString).lastPathComponent }
        // 2 fit; 2 more would pass the cap: new file; 5 alone pass it: a file of their own; then 1.
        #expect(files == ["flowsentry-alerts.1.pcap", "flowsentry-alerts.2.pcap", "flowsentry-alerts.3.pcap",
                          "flowsentry-alerts.4.pcap"])
        #expect(try readBack(placed[2].file).count == 5)
        for p in placed where p.packets < 5 {
            let size = try FileManager.default.attributesOfItem(atPath: p.file)[.size] as! Int
            #expect(size <= config.fileSizeBytes)
        }
    }

    @Test func aLinkTypeChangeStartsANewFile() throws {
        let (rings, flows) = chains([1, 1], linkTypes: [1, 113])
        let w = try AlertPcapWriter(config: AlertPcapConfig(directory: directory()))
        let a = try #require(w.write(flows[0], from: rings))
        let b = try #require(w.write(flows[1], from: rings))
        w.closeFile()
        #expect(a.file != b.file)
        #expect(try readBack(b.file).first?.dlt == 113)  // Linux cooked capture
    }

    @Test func theOldestFilesGoBeyondTheCountAndNumberingContinues() throws {
        let (rings, flows) = chains([3, 3, 3, 3])
        var config = AlertPcapConfig(directory: directory())
        config.fileSizeBytes = 100  // one flow per file
        config.fileCount = 2
        let w = try AlertPcapWriter(config: config)
        for f in flows { _ = w.write(f, from: rings) }
        w.closeFile()
        let names = try FileManager.default.contentsOfDirectory(atPath: config.directory).sorted()
        #expect(names == ["flowsentry-alerts.3.pcap", "flowsentry-alerts.4.pcap"])
        // A new writer on the directory goes on from the highest number.
        let again = try AlertPcapWriter(config: config)
        let next = try #require(again.write(flows[0], from: rings))
        again.closeFile()
        #expect((next.file as NSString).lastPathComponent == "flowsentry-alerts.5.pcap")
        #expect(try FileManager.default.contentsOfDirectory(atPath: config.directory).sorted()
                == ["flowsentry-alerts.4.pcap", "flowsentry-alerts.5.pcap"])
    }

    @Test func aDirectoryThatCannotBeMadeIsAClearError() {
        #expect(throws: SensorConfigError.self) {
            try AlertPcapWriter(config: AlertPcapConfig(directory: "/proc/no-such-dir/x"))
        }
    }

    @Test func theConfigSectionSetsEveryLimitAndNamesABadKey() throws {
        let c = try SensorConfig.parse(yaml: """
            outputs:
              alerts: a.json
              alert_pcap: {dir: pcap, packets: 8, snaplen: 512, memcap_mb: 4, file_size_mb: 2, files: 3}
            """, file: "t.yaml")
        var expected = AlertPcapConfig(directory: "pcap")
        expected.ringPackets = 8
        expected.snaplen = 512
        expected.memcapBytes = 4 << 20
        expected.fileSizeBytes = 2 << 20
        expected.fileCount = 3
        #expect(c.alertPcap == expected)
        #expect(try SensorConfig.parse(yaml: "outputs: {alerts: a.json}").alertPcap == nil)
        for (yaml, key) in [("outputs: {alert_pcap: {dir: p, packet: 3}}", "outputs.alert_pcap.packet"),
                            ("outputs: {alert_pcap: {packets: 3}}", "outputs.alert_pcap.dir"),
                            ("outputs: {alert_pcap: {dir: p, snaplen: 10}}", "outputs.alert_pcap.snaplen")] {
            #expect(throws: SensorConfigError.self) { try SensorConfig.parse(yaml: yaml) }
            do { _ = try SensorConfig.parse(yaml: yaml) } catch { #expect(error.key == key, "\(yaml)") }
        }
    }

    /// One UDP flow, a packet a second for `seconds`, cut every 10 s (ring 3):
    /// the writer's records as the table hands them over, each written (and
    /// its verdict noted) before the next packets, as a writer keeping up would.
    @Test func afterASegmentAlertsEveryLaterSegmentIsWrittenWhole() throws {
        var c = FlowTableConfig()
        c.stripes = 1
        c.maxFlows = 16
        c.activeTimeout = 10
        let t = FlowTable(config: c)
        let rings = FlowPacketRings(stripes: 1, slotsPerStripe: t.stripeLayout.slotsPerStripe, ringPackets: 3,
                                    snaplen: 128, memcapBytes: 256 * FlowPacketRings.cellBytes(snaplen: 128))
        t.packetRings = rings
        let w = try AlertPcapWriter(config: AlertPcapConfig(directory: directory()))
        var results: [(segment: UInt32, capture: AlertCapture?, afterAlert: Bool)] = []
        var s = FlowSink()
        func handOver(alerting: (UInt32) -> Bool) {
            for r in s.records {
                let out = w.write(r, alerting: alerting(r.segment), rings: rings)
                results.append((r.segment, out.capture, out.afterAlert))
                rings.release(r.packetRing)
            }
            s.removeAll()
        }
        for i in 0..<35 {
            var p = DecodedPacket()
            p.timestampNs = Int64(i) * 1_000_000_000
            p.src = IPAddress(v4: 10, 0, 0, 1); p.dst = IPAddress(v4: 10, 0, 1, 1)
            p.srcPort = 1000; p.dstPort = 53; p.hasPorts = true; p.proto = 17; p.ipVersion = 4
            p.wireLength = 80
            let bytes = [UInt8](repeating: UInt8(i), count: 70)
            bytes.withUnsafeBytes { t.process(&p, bytes: ByteView($0), sink: &s) }
            // Segment 1 alerts on its own; segment 0 does not.
            handOver { $0 == 1 }
        }
        t.flushAll(sink: &s)
        handOver { _ in false }
        w.closeFile()
        #expect(results.map(\.segment) == [0, 1, 2, 3])
        #expect(results[0].capture == nil && !results[0].afterAlert)
        // The alerting segment: its ring; the ones after it: every packet.
        #expect(results[1].capture?.packets == 3 && !results[1].afterAlert)
        #expect(results[2].capture?.packets == 10 && results[2].afterAlert)
        #expect(results[3].capture?.packets == 5 && results[3].afterAlert)
        #expect(w.recordsAfterAlert == 2 && w.packetsWritten == 18)
        let got = try readBack(try #require(results[1].capture).file)
        #expect(got.map { $0.bytes[0] } == [10, 11, 12] + Array(20..<35).map(UInt8.init))
        #expect(rings.counters.notKept == 0)
    }

    /// A writer a batch behind: the segment after a not-yet-scored one kept
    /// everything meanwhile; without an earlier alert only its ring is written.
    @Test func aLaggingWriterStillWritesOnlyTheRingOfAFlowThatHadNotAlerted() throws {
        var c = FlowTableConfig()
        c.stripes = 1
        c.maxFlows = 16
        c.activeTimeout = 10
        let t = FlowTable(config: c)
        let rings = FlowPacketRings(stripes: 1, slotsPerStripe: t.stripeLayout.slotsPerStripe, ringPackets: 3,
                                    snaplen: 128, memcapBytes: 256 * FlowPacketRings.cellBytes(snaplen: 128))
        t.packetRings = rings
        let w = try AlertPcapWriter(config: AlertPcapConfig(directory: directory()))
        var s = FlowSink()
        for i in 0..<25 {
            var p = DecodedPacket()
            p.timestampNs = Int64(i) * 1_000_000_000
            p.src = IPAddress(v4: 10, 0, 0, 1); p.dst = IPAddress(v4: 10, 0, 1, 1)
            p.srcPort = 1000; p.dstPort = 53; p.hasPorts = true; p.proto = 17; p.ipVersion = 4
            let bytes = [UInt8](repeating: UInt8(i), count: 70)
            bytes.withUnsafeBytes { t.process(&p, bytes: ByteView($0), sink: &s) }
        }
        t.flushAll(sink: &s)
        #expect(s.records.map(\.packetRing.count) == [3, 10, 5])
        let out = s.records.map { w.write($0, alerting: $0.segment == 1, rings: rings) }
        #expect(out[0].capture == nil && out[1].capture?.packets == 3 && !out[1].afterAlert)
        // Segment 2 comes after segment 1's alert: whole.
        #expect(out[2].capture?.packets == 5 && out[2].afterAlert)
    }
}
