import CPcap
import Capture
#if canImport(Glibc)
import Glibc
#endif

/// The benchmark's baseline: a bare libpcap read loop, as a C program would
/// write it (`pcap_open_offline`, `pcap_next_ex` until the end, each
/// packet's captured length summed), with no reader of ours in between.
package enum BareLibpcapLoop {
    /// Packets read, bytes summed and seconds spent in the loop (opening the
    /// file is not timed).
    package static func run(_ path: String, clock: () -> Double) throws(CaptureError) -> (packets: UInt64, bytes: Int, seconds: Double) {
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let h = pcap_open_offline_with_tstamp_precision(path, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errbuf) else {
            throw .cannotOpen(path: path, reason: errbuf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
        defer { pcap_close(h) }
        var hdr: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        var n: UInt64 = 0, bytes = 0
        let t0 = clock()
        while pcap_next_ex(h, &hdr, &data) == 1 {
            n &+= 1
            bytes &+= Int(hdr.unsafelyUnwrapped.pointee.caplen)
        }
        return (n, bytes, clock() - t0)
    }
}
