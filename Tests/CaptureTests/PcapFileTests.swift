import Foundation
import Testing
@testable import Capture
import Decoding

/// Classic pcap through libpcap. Files are written here byte by byte; the
/// expected timestamps are the record fields scaled by hand.
@Suite struct PcapFileTests {
    @Test func littleEndianMicrosecondFile() throws {
        try withTempDir { dir in
            let path = dir + "/le-usec.pcap"
            let a = udpFrame(payload: 0x61), b = tcpFrame()
            try write(classicPcap(records: [(1_700_000_000, 123_456, 60, a),
                                            (1_700_000_001, 999_999, 1514, Array(b.prefix(34)))]), to: path)
            let r = try PcapFileReader(path: path)
            #expect(r.isClassicPcap && r.dlt == 1 && r.linkType == .ethernet && r.snaplen == 65535)
            #expect(r.linkTypeName == "EN10MB")
            let p1 = try #require(try r.next())
            // 1700000000 s + 123456 µs, in nanoseconds.
            #expect(p1.timestampNs == 1_700_000_000_123_456_000)
            #expect(p1.wireLength == 60 && p1.bytes.count == 60 && p1.linkType == .ethernet)
            #expect(p1.bytes.u8(59) == 0x61 && p1.bytes.u16(12) == 0x0800)
            let p2 = try #require(try r.next())
            #expect(p2.timestampNs == 1_700_000_001_999_999_000)
            // Captured 34 of 1514 bytes: the wire length is the record's.
            #expect(p2.wireLength == 1514 && p2.bytes.count == 34)
            #expect(try r.next() == nil)
            #expect(try r.next() == nil)
            #expect(r.packetsRead == 2)
            #expect(r.nextRecordOffset == 24 + 16 + 60 + 16 + 34)
        }
    }

    @Test func bigEndianNanosecondFile() throws {
        try withTempDir { dir in
            let path = dir + "/be-nsec.pcap"
            // LINKTYPE_RAW (101): an IPv4 packet without a link header.
            let ip = Array(udpFrame().dropFirst(14))
            try write(classicPcap(bigEndian: true, nanosecond: true, linkType: 101,
                                  records: [(1, 1, 46, ip), (0, 999_999_999, 46, ip)]), to: path)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            #expect(Array(bytes.prefix(4)) == [0xa1, 0xb2, 0x3c, 0x4d])  // the nanosecond magic, big-endian
            let r = try PcapFileReader(path: path)
            #expect(r.linkType == .rawIP)
            let p1 = try #require(try r.next())
            #expect(p1.timestampNs == 1_000_000_001)
            #expect(p1.bytes.u8(0) == 0x45 && p1.wireLength == 46)
            #expect(try r.next()?.timestampNs == 999_999_999)
        }
    }

    @Test func recordHeaderCutOffNamesFileAndRecordOffset() throws {
        try withTempDir { dir in
            let path = dir + "/cut-header.pcap"
            let whole = classicPcap(records: [(10, 0, 60, udpFrame()), (11, 0, 60, udpFrame())])
            // Keep the first record and 5 bytes of the second's header.
            try write(Array(whole.prefix(24 + 76 + 5)), to: path)
            let r = try PcapFileReader(path: path)
            #expect(try r.next() != nil)
            do throws(CaptureError) {
                _ = try r.next()
                Issue.record("a cut record header read as a packet or as the end")
            } catch {
                guard case let .readFailed(p, offset, _) = error else { Issue.record("got \(error)"); return }
                #expect(p == path && offset == 100)
                #expect(error.description == path + ", byte offset 100: cut off: the record header needs 16 bytes, only 5 left")
            }
        }
    }

    @Test func recordDataCutOffNamesTheRecordStart() throws {
        try withTempDir { dir in
            let path = dir + "/cut-data.pcap"
            let whole = classicPcap(records: [(10, 0, 60, udpFrame()), (11, 0, 54, tcpFrame()), (12, 0, 60, udpFrame())])
            // Two records whole; the third's header claims 60 bytes, 20 follow.
            let cut = 24 + 76 + 70 + 16 + 20
            try write(Array(whole.prefix(cut)), to: path)
            let r = try PcapFileReader(path: path)
            #expect(try r.next() != nil && r.next() != nil)
            #expect(throws: CaptureError.self) { _ = try r.next() }
            // The error, once more, to read its fields (a fresh reader: the first is spent).
            let r2 = try PcapFileReader(path: path)
            _ = try r2.next(); _ = try r2.next()
            do throws(CaptureError) { _ = try r2.next(); Issue.record("expected a read error") } catch {
                guard case let .readFailed(_, offset, reason) = error else { Issue.record("got \(error)"); return }
                #expect(offset == 24 + 76 + 70)
                #expect(!reason.isEmpty)
            }
        }
    }

    @Test func headerOnlyFileHasNoPackets() throws {
        try withTempDir { dir in
            let path = dir + "/empty.pcap"
            try write(classicPcap(records: []), to: path)
            let r = try PcapFileReader(path: path)
            #expect(try r.next() == nil && r.packetsRead == 0)
        }
    }

    @Test func unsupportedLinkTypeNamesFileAndType() throws {
        try withTempDir { dir in
            let path = dir + "/wifi.pcap"
            try write(classicPcap(linkType: 105, records: [(1, 0, 24, [UInt8](repeating: 0, count: 24))]), to: path)
            do throws(CaptureError) { _ = try PcapFileReader(path: path); Issue.record("802.11 accepted") } catch {
                guard case let .unsupportedLinkType(p, dlt, name) = error else { Issue.record("got \(error)"); return }
                #expect(p == path && dlt == 105 && name == "IEEE802_11")
                #expect(error.description.contains(path) && error.description.contains("105"))
            }
        }
    }

    @Test func missingAndNonCaptureFilesCannotBeOpened() throws {
        try withTempDir { dir in
            let missing = dir + "/nothing-here.pcap"
            do throws(CaptureError) { _ = try PcapFileReader(path: missing); Issue.record("opened a missing file") } catch {
                guard case .cannotOpen(let p, _) = error else { Issue.record("got \(error)"); return }
                #expect(p == missing && error.description == missing + ": cannot open: No such file or directory")
            }
            let text = dir + "/notes.txt"
            try write(Array("this is not a capture file at all\n".utf8), to: text)
            #expect(throws: CaptureError.self) { _ = try PcapFileReader(path: text) }
        }
    }

    /// libpcap's words for a broken file, said plainly and once: a record
    /// length no packet has is corrupt (not a read of 4 GB), an empty file or
    /// a directory is not a capture.
    @Test func brokenFilesAreDescribedPlainly() throws {
        try withTempDir { dir in
            let absurd = dir + "/absurd.pcap"
            var bytes = classicPcap(records: [(10, 0, 60, udpFrame())])
            bytes.replaceSubrange(32..<36, with: [0xF0, 0xFF, 0xFF, 0xFF])  // caplen of the first record
            try write(bytes, to: absurd)
            let r = try PcapFileReader(path: absurd)
            do throws(CaptureError) { _ = try r.next(); Issue.record("read a 4 GB record") } catch {
                #expect(error.description == absurd + ", byte offset 24: corrupt record: captured length 4294967280 "
                        + "is larger than the file's snapshot length 65535")
            }
            let empty = dir + "/empty.pcap"
            try write([], to: empty)
            do throws(CaptureError) { _ = try PcapFileReader(path: empty); Issue.record("opened an empty file") } catch {
                #expect(error.description == empty + ": empty file, not a capture")
            }
            do throws(CaptureError) { _ = try PcapFileReader(path: dir); Issue.record("opened a directory") } catch {
                #expect(error.description == dir + ": is a directory, not a capture file")
            }
            let text = dir + "/notes.txt"
            try write(Array("this is not a capture file at all\n".utf8), to: text)
            do throws(CaptureError) { _ = try PcapFileReader(path: text); Issue.record("opened a text file") } catch {
                #expect(error.description == text + ": not a pcap or pcapng file")
            }
        }
    }

    @Test func bpfFilterKeepsOnlyMatchingPackets() throws {
        try withTempDir { dir in
            let path = dir + "/mixed.pcap"
            try write(classicPcap(records: [(1, 0, 54, tcpFrame()), (2, 0, 60, udpFrame()), (3, 0, 54, tcpFrame())]),
                      to: path)
            let r = try PcapFileReader(path: path, filter: "udp port 53")
            let p = try #require(try r.next())
            #expect(p.timestampNs == 2_000_000_000 && p.bytes.count == 60)
            #expect(try r.next() == nil)
            do throws(CaptureError) { _ = try PcapFileReader(path: path, filter: "udp portt 53"); Issue.record("bad filter accepted") } catch {
                #expect(error.description.contains("udp portt 53") && error.description.hasPrefix(path))
            }
        }
    }

    @Test func pcapngTimestampScaling() {
        // Microseconds (the default if_tsresol 6).
        #expect(PcapFileReader.pcapngTimestampNs(raw: 1_700_000_000_123_456, unitsPerSecond: 1_000_000, offsetSeconds: 0)
                == 1_700_000_000_123_456_000)
        // Nanoseconds, taken as is.
        #expect(PcapFileReader.pcapngTimestampNs(raw: 1_000_000_001, unitsPerSecond: 1_000_000_000, offsetSeconds: 0)
                == 1_000_000_001)
        // if_tsresol 0x8a: 2^-10 s units; 5.5 s = 5632 units.
        #expect(PcapFileReader.pcapngTimestampNs(raw: 5632, unitsPerSecond: 1024, offsetSeconds: 0) == 5_500_000_000)
        // if_tsoffset adds whole seconds; a result before 1970 clamps to 0.
        #expect(PcapFileReader.pcapngTimestampNs(raw: 1_000, unitsPerSecond: 1_000, offsetSeconds: 100) == 101_000_000_000)
        #expect(PcapFileReader.pcapngTimestampNs(raw: 1_000, unitsPerSecond: 1_000, offsetSeconds: -5) == 0)
        // Units per second 0 is treated as 1 (no division by zero).
        #expect(PcapFileReader.pcapngTimestampNs(raw: 7, unitsPerSecond: 0, offsetSeconds: 0) == 7_000_000_000)
        // Far past the representable range: the largest time, not a trap.
        #expect(PcapFileReader.pcapngTimestampNs(raw: .max, unitsPerSecond: 1, offsetSeconds: .max) == PacketTime.maxNs)
    }
}
