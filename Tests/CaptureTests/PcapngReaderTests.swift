import Foundation
import Testing
@testable import Capture
import Decoding

/// pcapng blocks (draft-ietf-opsawg-pcapng): type (4), total length (4),
/// body, total length again.
struct Pcapng {
    var b: Bytes
    init(bigEndian: Bool = false) { b = Bytes(bigEndian: bigEndian) }
    var bytes: [UInt8] { b.out }

    private mutating func block(_ type: UInt32, _ body: (inout Bytes) -> Void) {
        var inner = Bytes(bigEndian: b.bigEndian)
        body(&inner)
        let len = UInt32(12 + inner.out.count)
        b.u32(type); b.u32(len); b.raw(inner.out); b.u32(len)
    }

    /// Section Header Block: byte-order magic, version 1.0, section length -1.
    mutating func shb() {
        block(0x0A0D_0D0A) { $0.u32(0x1A2B_3C4D); $0.u16(1); $0.u16(0); $0.u32(0xFFFF_FFFF); $0.u32(0xFFFF_FFFF) }
    }

    /// Interface Description Block, with an optional if_tsresol (9) and if_tsoffset (14).
    mutating func idb(linkType: UInt16 = 1, snaplen: UInt32 = 65535, tsresol: UInt8? = nil, tsoffset: Int64? = nil) {
        block(1) { o in
            o.u16(linkType); o.u16(0); o.u32(snaplen)
            if let tsresol { o.u16(9); o.u16(1); o.raw([tsresol]); o.pad4(1) }
            if let tsoffset {
                o.u16(14); o.u16(8)
                let v = UInt64(bitPattern: tsoffset)
                if o.bigEndian { o.u32(UInt32(v >> 32)); o.u32(UInt32(v & 0xffff_ffff)) }
                else { o.u32(UInt32(v & 0xffff_ffff)); o.u32(UInt32(v >> 32)) }
            }
            if tsresol != nil || tsoffset != nil { o.u16(0); o.u16(0) }  // opt_endofopt
        }
    }

    /// Enhanced Packet Block: interface id, timestamp (high, low), caplen, wire length, data padded.
    mutating func epb(interface: UInt32 = 0, ts: UInt64, wire: UInt32? = nil, _ data: [UInt8]) {
        block(6) { o in
            o.u32(interface); o.u32(UInt32(ts >> 32)); o.u32(UInt32(ts & 0xffff_ffff))
            o.u32(UInt32(data.count)); o.u32(wire ?? UInt32(data.count))
            o.raw(data); o.pad4(data.count)
        }
    }

    /// Simple Packet Block: original length, data padded.
    mutating func spb(wire: UInt32, _ data: [UInt8]) {
        block(3) { o in o.u32(wire); o.raw(data); o.pad4(data.count) }
    }

    /// A block the reader must skip (Name Resolution Block, type 4, empty record list).
    mutating func nrb() { block(4) { o in o.u16(0); o.u16(0) } }
}

@Suite struct PcapngReaderTests {
    func open(_ file: Pcapng, _ name: String, in dir: String) throws -> PcapFileReader {
        let path = dir + "/" + name
        try write(file.bytes, to: path)
        return try PcapFileReader(path: path)
    }

    @Test func minimalLittleEndianFile() throws {
        try withTempDir { dir in
            var f = Pcapng()
            f.shb(); f.idb(); f.nrb()
            // Default resolution: microseconds. 1700000000.123456 s.
            f.epb(ts: 1_700_000_000_123_456, udpFrame(payload: 0x7a))
            f.epb(ts: 1_700_000_000_500_000, wire: 1514, Array(tcpFrame().prefix(33)))
            #expect(f.bytes.count == 28 + 20 + 16 + (32 + 60) + (32 + 36))
            let r = try open(f, "min.pcapng", in: dir)
            #expect(!r.isClassicPcap && r.linkType == .ethernet && r.dlt == 1 && r.snaplen == 65535)
            let p1 = try #require(try r.next())
            #expect(p1.timestampNs == 1_700_000_000_123_456_000)
            #expect(p1.bytes.count == 60 && p1.wireLength == 60 && p1.bytes.u8(59) == 0x7a)
            let p2 = try #require(try r.next())
            // 33 bytes captured (padded to 36 in the block), 1514 on the wire.
            #expect(p2.timestampNs == 1_700_000_000_500_000_000)
            #expect(p2.bytes.count == 33 && p2.wireLength == 1514)
            #expect(try r.next() == nil && r.packetsRead == 2)
        }
    }

    @Test func bigEndianSectionWithNanosecondsAndOffset() throws {
        try withTempDir { dir in
            var f = Pcapng(bigEndian: true)
            f.shb(); f.idb(tsresol: 9, tsoffset: 1_000)
            f.epb(ts: 2_000_000_007, udpFrame())
            #expect(Array(f.bytes[8..<12]) == [0x1a, 0x2b, 0x3c, 0x4d])
            let r = try open(f, "be.pcapng", in: dir)
            let p = try #require(try r.next())
            // 2.000000007 s in nanosecond units, plus 1000 s of if_tsoffset.
            #expect(p.timestampNs == 1_002_000_000_007)
            #expect(p.bytes.u16(12) == 0x0800)
        }
    }

    @Test func interfacesOfDifferentLinkTypesInOneFile() throws {
        try withTempDir { dir in
            var f = Pcapng()
            f.shb(); f.idb(linkType: 1); f.idb(linkType: 101, tsresol: 3)  // LINKTYPE_RAW, milliseconds
            f.epb(interface: 1, ts: 42_250, Array(udpFrame().dropFirst(14)))
            f.epb(interface: 0, ts: 1, udpFrame())
            let r = try open(f, "two.pcapng", in: dir)
            #expect(r.linkType == .ethernet)
            let raw = try #require(try r.next())
            #expect(raw.linkType == .rawIP && raw.bytes.u8(0) == 0x45)
            #expect(raw.timestampNs == 42_250_000_000)
            let eth = try #require(try r.next())
            #expect(eth.linkType == .ethernet && eth.timestampNs == 1_000)
        }
    }

    @Test func simplePacketBlockUsesTheFirstInterface() throws {
        try withTempDir { dir in
            var f = Pcapng()
            f.shb(); f.idb(snaplen: 40)
            f.spb(wire: 60, Array(udpFrame().prefix(40)))
            let r = try open(f, "spb.pcapng", in: dir)
            let p = try #require(try r.next())
            // No timestamp in an SPB; the captured part is min(wire, block data, snaplen).
            #expect(p.timestampNs == 0 && p.wireLength == 60 && p.bytes.count == 40)
        }
    }

    @Test func absurdBlockLengthIsCorruptNotARead() throws {
        try withTempDir { dir in
            var f = Pcapng()
            f.shb(); f.idb()
            f.epb(ts: 1, udpFrame())
            var bytes = f.bytes
            // The EPB starts at 28 + 20 = 48; its length field follows its type.
            bytes.replaceSubrange(52..<56, with: [0x00, 0xFF, 0xFF, 0xFF])
            let path = dir + "/absurd.pcapng"
            try write(bytes, to: path)
            let r = try PcapFileReader(path: path)
            do throws(CaptureError) { _ = try r.next(); Issue.record("read a 4 GB block") } catch {
                #expect(error.description == path + ", byte offset 48: corrupt pcapng block: length 4294967040 "
                        + "(no block is larger than 16 MiB)")
            }
        }
    }

    @Test func truncatedBlockNamesItsOffset() throws {
        try withTempDir { dir in
            var f = Pcapng()
            f.shb(); f.idb()
            f.epb(ts: 1, udpFrame())
            f.epb(ts: 2, udpFrame())
            // Cut the second EPB: it starts at 28 + 20 + 92 = 140.
            let cut = Array(f.bytes.prefix(140 + 50))
            let path = dir + "/cut.pcapng"
            try write(cut, to: path)
            let r = try PcapFileReader(path: path)
            #expect(try r.next() != nil)
            do throws(CaptureError) { _ = try r.next(); Issue.record("a cut block read as a packet") } catch {
                guard case let .readFailed(p, offset, reason) = error else { Issue.record("got \(error)"); return }
                #expect(p == path && offset == 140)
                #expect(reason.contains("cut off"))
                #expect(error.description.hasPrefix(path + ", byte offset 140: cut off: "))
            }
            // Cut inside the next block's 12-byte minimum.
            try write(Array(f.bytes.prefix(140 + 7)), to: path)
            let r2 = try PcapFileReader(path: path)
            _ = try r2.next()
            do throws(CaptureError) { _ = try r2.next(); Issue.record("a cut block header read") } catch {
                guard case let .readFailed(_, offset, _) = error else { Issue.record("got \(error)"); return }
                #expect(offset == 140)
            }
        }
    }

    @Test func packetForAnUndescribedInterfaceIsAnError() throws {
        try withTempDir { dir in
            var f = Pcapng()
            f.shb(); f.idb()
            f.epb(interface: 3, ts: 1, udpFrame())
            let r = try open(f, "if3.pcapng", in: dir)
            do throws(CaptureError) { _ = try r.next(); Issue.record("interface 3 accepted") } catch {
                guard case let .readFailed(_, offset, reason) = error else { Issue.record("got \(error)"); return }
                #expect(offset == 48 && reason.contains("interface 3"))
            }
        }
    }

    @Test func badHeadersFailAtOpenWithTheirOffset() throws {
        try withTempDir { dir in
            let path = dir + "/bad.pcapng"
            // Shorter than a section header.
            try write(Array(Pcapng().withSHB.prefix(20)), to: path)
            do throws(CaptureError) { _ = try PcapFileReader(path: path); Issue.record("short file opened") } catch {
                guard case let .readFailed(_, offset, _) = error else { Issue.record("got \(error)"); return }
                #expect(offset == 0)
            }
            // A byte-order magic that is neither order.
            var shb = Pcapng().withSHB
            shb[8] = 0x00
            try write(shb + [UInt8](repeating: 0, count: 8), to: path)
            do throws(CaptureError) { _ = try PcapFileReader(path: path); Issue.record("bad magic opened") } catch {
                guard case let .readFailed(_, offset, reason) = error else { Issue.record("got \(error)"); return }
                #expect(offset == 8 && reason.contains("byte-order"))
            }
            // A block length that is not a multiple of 4 (the IDB at 28).
            var f = Pcapng(); f.shb(); f.idb()
            var bytes = f.bytes
            bytes[28 + 4] = 21
            try write(bytes, to: path)
            do throws(CaptureError) { _ = try PcapFileReader(path: path); Issue.record("bad length opened") } catch {
                guard case let .readFailed(_, offset, reason) = error else { Issue.record("got \(error)"); return }
                #expect(offset == 28 && reason.contains("21"))
            }
        }
    }

    @Test func filterAppliesPerInterface() throws {
        try withTempDir { dir in
            var f = Pcapng()
            f.shb(); f.idb()
            f.epb(ts: 1, tcpFrame()); f.epb(ts: 2, udpFrame()); f.epb(ts: 3, tcpFrame())
            let path = dir + "/f.pcapng"
            try write(f.bytes, to: path)
            let r = try PcapFileReader(path: path, filter: "tcp")
            #expect(try r.next()?.timestampNs == 1_000)
            #expect(try r.next()?.timestampNs == 3_000)
            #expect(try r.next() == nil)
        }
    }
}

extension Pcapng {
    /// Just a little-endian section header block.
    var withSHB: [UInt8] { var f = self; f.shb(); return f.bytes }
}
