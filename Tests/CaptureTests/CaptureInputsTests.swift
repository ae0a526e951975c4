import Foundation
import Testing
@testable import Capture
import Decoding
#if canImport(Glibc)
import Glibc
#endif

/// Streams (a FIFO stands in for a pipe: it cannot seek or be mapped) and
/// directories of captures. Files are written here byte by byte.
@Suite struct CaptureInputsTests {
    /// A FIFO at `path` fed `bytes` by another thread while `body` reads it.
    func throughFIFO<T>(_ bytes: [UInt8], at path: String, _ body: () throws -> T) throws -> T {
        #expect(mkfifo(path, 0o600) == 0)
        let writer = Thread {
            let fd = open(path, O_WRONLY)
            guard fd >= 0 else { return }
            bytes.withUnsafeBytes { raw in
                var done = 0
                while done < raw.count {
                    let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                    if n <= 0 { break }
                    done += n
                }
            }
            close(fd)
        }
        writer.start()
        return try body()
    }

    @Test func whatCountsAsAStream() throws {
        try withTempDir { dir in
            #expect(CaptureStream.isStream("-"))
            try write([1, 2, 3, 4], to: dir + "/file.pcap")
            #expect(!CaptureStream.isStream(dir + "/file.pcap"))
            #expect(!CaptureStream.isStream(dir))
            #expect(!CaptureStream.isStream(dir + "/missing.pcap"))
            #expect(mkfifo(dir + "/fifo", 0o600) == 0)
            #expect(CaptureStream.isStream(dir + "/fifo"))
        }
    }

    @Test func classicPcapFromAFIFO() throws {
        try withTempDir { dir in
            // More than a pipe's 64 KiB, so the reader waits on the writer.
            let frame = udpFrame()
            let records = (0..<2000).map { i in (sec: UInt32(1_700_000_000 + i), frac: UInt32(i), wire: UInt32(60), data: frame) }
            let bytes = classicPcap(records: records)
            #expect(bytes.count > 65536)
            try throughFIFO(bytes, at: dir + "/fifo") {
                let r = try PcapFileReader(path: dir + "/fifo")
                #expect(r.isClassicPcap && r.linkType == .ethernet)
                var n = 0
                while let p = try r.next() {
                    #expect(p.timestampNs == Int64(1_700_000_000 + n) * 1_000_000_000 + Int64(n) * 1000)
                    n += 1
                }
                #expect(n == 2000)
                #expect(r.nextRecordOffset == bytes.count)
            }
        }
    }

    @Test func pcapngFromAFIFO() throws {
        try withTempDir { dir in
            var f = Pcapng()
            f.shb(); f.idb(tsresol: 9)
            f.epb(ts: 1_700_000_000_123_456_789, udpFrame())
            f.epb(ts: 1_700_000_001_000_000_000, tcpFrame())
            try throughFIFO(f.bytes, at: dir + "/fifo") {
                let r = try PcapFileReader(path: dir + "/fifo")
                #expect(!r.isClassicPcap && r.linkType == .ethernet)
                #expect(try r.next()?.timestampNs == 1_700_000_000_123_456_789)
                #expect(try r.next()?.timestampNs == 1_700_000_001_000_000_000)
                #expect(try r.next() == nil)
            }
        }
    }

    @Test func cutOffStreamNamesItselfAndTheRecordOffset() throws {
        try withTempDir { dir in
            let frame = udpFrame()
            let whole = classicPcap(records: [(1, 0, 60, frame), (2, 0, 60, frame)])
            let cut = Array(whole.dropLast(10))
            try throughFIFO(cut, at: dir + "/fifo") {
                let r = try PcapFileReader(path: dir + "/fifo")
                #expect(try r.next() != nil)
                do {
                    _ = try r.next()
                    Issue.record("a cut-off record must throw")
                } catch {
                    // The second record starts after the 24-byte header and the first 16 + 60.
                    #expect(String(describing: error).hasPrefix(dir + "/fifo, byte offset 100: "))
                }
            }
        }
    }

    @Test func directoryInFirstPacketOrder() throws {
        try withTempDir { dir in
            let frame = udpFrame()
            // Names run against the packet order; the empty capture comes first.
            try write(classicPcap(records: [(300, 0, 60, frame)]), to: dir + "/a.pcap")
            try write(classicPcap(records: [(100, 0, 60, frame)]), to: dir + "/b.pcap")
            var ng = Pcapng()
            ng.shb(); ng.idb(); ng.epb(ts: 200_000_000, frame)
            try write(ng.bytes, to: dir + "/c.pcapng")
            try write(classicPcap(records: []), to: dir + "/d-empty.pcap")
            try write(Array("not a capture\n".utf8), to: dir + "/notes.txt")
            try write(classicPcap(records: [(1, 0, 60, frame)]), to: dir + "/.partial.pcap")
            try FileManager.default.createDirectory(atPath: dir + "/sub/deeper", withIntermediateDirectories: true)
            try write(classicPcap(records: [(250, 0, 60, frame)]), to: dir + "/sub/deeper/e.pcap")

            let flat = try CaptureDirectory(path: dir, recursive: false)
            #expect(flat.files == ["d-empty.pcap", "b.pcap", "c.pcapng", "a.pcap"].map { dir + "/" + $0 })
            #expect(flat.skipped == [dir + "/notes.txt"])

            let deep = try CaptureDirectory(path: dir + "/", recursive: true)
            #expect(deep.files == ["d-empty.pcap", "b.pcap", "c.pcapng", "sub/deeper/e.pcap", "a.pcap"].map { dir + "/" + $0 })
        }
    }

    @Test func unlistableDirectoryIsNamed() throws {
        do {
            _ = try CaptureDirectory(path: "/nonexistent-flowsentry-dir", recursive: false)
            Issue.record("a missing directory must throw")
        } catch {
            #expect(String(describing: error).hasPrefix("/nonexistent-flowsentry-dir: cannot list directory: "))
        }
    }
}
