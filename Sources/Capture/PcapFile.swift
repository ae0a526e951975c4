import CPcap
import Decoding
#if canImport(Glibc)
import Glibc
#endif

/// Errors from opening or reading a capture. Each names the file (or
/// interface) and, where libpcap knows it, the byte offset.
public enum CaptureError: Error, CustomStringConvertible, Sendable {
    case cannotOpen(path: String, reason: String)
    case unsupportedLinkType(path: String, dlt: Int32, name: String)
    case readFailed(path: String, offset: Int?, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason):
            return "\(path): \(reason)"
        case let .unsupportedLinkType(path, dlt, name):
            return "\(path): unsupported link type \(dlt) (\(name)); supported: Ethernet, Linux SLL/SLL2, raw IP, BSD loopback/NULL, PPP, PPPoE, Cisco HDLC"
        case let .readFailed(path, offset, reason):
            if let offset { return "\(path), byte offset \(offset): \(reason)" }
            return "\(path): \(reason)"
        }
    }
}

/// One packet as libpcap hands it over: borrowed bytes valid until the next read.
public struct CapturedPacket {
    public var timestampNs: Int64
    public var wireLength: Int
    public var bytes: ByteView
    /// The link layer of this packet (pcapng interfaces may differ).
    public var linkType: LinkType
}

/// A pcap or pcapng file opened through libpcap with nanosecond timestamps.
/// Packets are read in place: `next()` returns a view into libpcap's buffer,
/// valid until the following call. Not thread-safe; one reader per thread.
public final class PcapFileReader {
    public let path: String
    public let linkType: LinkType
    public let dlt: Int32
    public let snaplen: Int
    private var handle: OpaquePointer?
    private var pcapng: PcapngReader?
    public private(set) var packetsRead: UInt64 = 0
    /// True for classic pcap (fixed 24-byte header, 16-byte record headers),
    /// whose record offsets we can compute exactly; false for pcapng.
    public let isClassicPcap: Bool
    /// Byte offset where the next classic-pcap record starts.
    public private(set) var nextRecordOffset: Int = 24

    public init(path: String, filter: String? = nil) throws(CaptureError) {
        self.path = path
        // A pipe, FIFO, socket or terminal (`-`, `/dev/stdin`, `<(cat x.pcap)`)
        // cannot be peeked at and read again, nor mapped: libpcap reads it
        // once, from the front, and tells the format by the first bytes.
        if CaptureStream.isStream(path) {
            let h = try Self.openStream(path)
            // libpcap reports a classic file's own version (2.x) and a
            // pcapng section's (1.x).
            isClassicPcap = pcap_major_version(h) == 2
            (handle, dlt, linkType, snaplen) = try Self.prepare(h, path: path, filter: filter)
            return
        }
        isClassicPcap = Self.isClassic(path)
        if Self.isPcapng(path) {
            let r = try PcapngReader(path: path, filter: filter)
            guard let lt = r.firstLinkType else {
                let d = r.firstDLT
                let name = d < 0 ? "none" : (pcap_datalink_val_to_name(d).map { String(cString: $0) } ?? "unknown")
                if d < 0 {
                    // No interface before the first packet (or an empty file): nothing to read.
                    if r.interfaces.isEmpty { pcapng = r; dlt = -1; linkType = .ethernet; snaplen = 0; return }
                }
                throw .unsupportedLinkType(path: path, dlt: d, name: name)
            }
            pcapng = r
            dlt = r.firstDLT
            linkType = lt
            snaplen = r.interfaces.first?.snaplen ?? 0
            return
        }
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        // The file opened here, without stdio locking (see fs_fopen_unlocked);
        // libpcap closes it with the handle.
        guard let f = fs_fopen_unlocked(path) else {
            throw .cannotOpen(path: path, reason: "cannot open: " + String(cString: strerror(errno)))
        }
        guard let h = pcap_fopen_offline_with_tstamp_precision(f, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errbuf) else {
            fclose(f)
            throw .cannotOpen(path: path, reason: PcapErrorText.plain(Self.string(errbuf)))
        }
        (handle, dlt, linkType, snaplen) = try Self.prepare(h, path: path, filter: filter)
    }

    /// A libpcap handle on the stream `path` names: standard input for `-`,
    /// else the pipe, FIFO or socket opened here (libpcap closes it).
    private static func openStream(_ path: String) throws(CaptureError) -> OpaquePointer {
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        let fd = path == "-" ? dup(0) : open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0, let f = fdopen(fd, "rb") else {
            let reason = String(cString: strerror(errno))
            throw .cannotOpen(path: path, reason: "cannot open: " + reason)
        }
        guard let h = pcap_fopen_offline_with_tstamp_precision(f, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errbuf) else {
            fclose(f)
            throw .cannotOpen(path: path, reason: streamReason(PcapErrorText.plain(Self.string(errbuf))))
        }
        return h
    }

    /// libpcap's reason, with the way out when it refuses a pcapng whose
    /// interfaces differ in link type (only streams go to libpcap's pcapng
    /// reader; files go to PcapngReader, which takes them).
    private static func streamReason(_ reason: String) -> String {
        guard reason.contains("different from the type of the first interface") else { return reason }
        return reason + " (a pcapng whose interfaces differ in link type is read from a file, not a pipe)"
    }

    /// Checks the link type of a freshly opened libpcap handle and sets its
    /// BPF filter; closes the handle when it throws.
    private static func prepare(_ h: OpaquePointer, path: String, filter: String?)
        throws(CaptureError) -> (OpaquePointer, Int32, LinkType, Int) {
        let d = pcap_datalink(h)
        guard let lt = LinkType(dlt: d) else {
            let name = pcap_datalink_val_to_name(d).map { String(cString: $0) } ?? "unknown"
            pcap_close(h)
            throw .unsupportedLinkType(path: path, dlt: d, name: name)
        }
        if let filter, !filter.isEmpty {
            var prog = bpf_program()
            if pcap_compile(h, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0 {
                let reason = String(cString: pcap_geterr(h))
                pcap_close(h)
                throw .cannotOpen(path: path, reason: "bad BPF filter '\(filter)': \(reason)")
            }
            defer { pcap_freecode(&prog) }
            if pcap_setfilter(h, &prog) != 0 {
                let reason = String(cString: pcap_geterr(h))
                pcap_close(h)
                throw .cannotOpen(path: path, reason: "cannot set BPF filter: \(reason)")
            }
        }
        return (h, d, lt, Int(pcap_snapshot(h)))
    }

    deinit { if let handle { pcap_close(handle) } }

    private static func isPcapng(_ path: String) -> Bool {
        guard let f = fopen(path, "rb") else { return false }
        defer { fclose(f) }
        var magic: UInt32 = 0
        guard fread(&magic, 4, 1, f) == 1 else { return false }
        return magic == 0x0A0D_0D0A
    }

    private static func isClassic(_ path: String) -> Bool {
        guard let f = fopen(path, "rb") else { return false }
        defer { fclose(f) }
        var magic: UInt32 = 0
        guard fread(&magic, 4, 1, f) == 1 else { return false }
        return magic != 0x0A0D_0D0A
    }

    static func string(_ buf: [CChar]) -> String {
        buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// Current byte offset in the file, where libpcap can tell.
    public var offset: Int? {
        guard let handle, let f = pcap_file(handle) else { return nil }
        let o = ftell(f)
        return o >= 0 ? o : nil
    }

    /// The next packet, nil at the end of the file. A file cut off mid-record
    /// throws with the offset (everything before it has been returned).
    @inline(__always)
    public func next() throws(CaptureError) -> CapturedPacket? {
        if let pcapng {
            while let (cp, lt, d) = try pcapng.next() {
                guard lt != nil else {
                    let name = pcap_datalink_val_to_name(d).map { String(cString: $0) } ?? "unknown"
                    throw .unsupportedLinkType(path: path, dlt: d, name: name)
                }
                packetsRead &+= 1
                return cp
            }
            return nil
        }
        guard let handle else { return nil }
        var hdr: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        let rc = pcap_next_ex(handle, &hdr, &data)
        if rc == 1, let hdr, let data {
            packetsRead &+= 1
            let h = hdr.pointee
            nextRecordOffset &+= 16 &+ Int(h.caplen)
            let ts = Int64(h.ts.tv_sec) * 1_000_000_000 + Int64(h.ts.tv_usec)  // nanoseconds (NANO precision)
            return CapturedPacket(timestampNs: ts, wireLength: Int(h.len),
                                  bytes: ByteView(base: UnsafeRawPointer(data), count: Int(h.caplen)),
                                  linkType: linkType)
        }
        if rc == PCAP_ERROR_BREAK || rc == -2 { return nil }
        if rc == 0 { return nil }
        let reason = Self.streamReason(PcapErrorText.plain(String(cString: pcap_geterr(handle))))
        // For classic pcap, name the start of the record that could not be read.
        throw .readFailed(path: path, offset: isClassicPcap ? nextRecordOffset : offset, reason: reason)
    }

    /// A raw pcapng timestamp in nanoseconds since 1970, clamped to
    /// `PacketTime` (any 64-bit value, resolution and offset a file may hold).
    public static func pcapngTimestampNs(raw: UInt64, unitsPerSecond ups: UInt64, offsetSeconds: Int64) -> Int64 {
        let ups = max(ups, 1)
        let whole = Int64(clamping: min(raw / ups, UInt64(PacketTime.maxSeconds) + 1))
        let offset = min(max(offsetSeconds, -PacketTime.maxSeconds - 1), PacketTime.maxSeconds + 1)
        let secs = whole + offset
        if secs < 0 { return 0 }
        if secs > PacketTime.maxSeconds { return PacketTime.maxNs }
        let frac = raw % ups
        let ns = ups == 1_000_000_000 ? Int64(frac) : Int64((Double(frac) * 1e9 / Double(ups)).rounded(.down))
        return PacketTime.clamp(secs * 1_000_000_000 + min(ns, 999_999_999))
    }

    /// Name of the libpcap link type, e.g. "EN10MB".
    public var linkTypeName: String {
        pcap_datalink_val_to_name(dlt).map { String(cString: $0) } ?? "\(dlt)"
    }
}
