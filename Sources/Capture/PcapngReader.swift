import CPcap
import Decoding
#if canImport(Glibc)
import Glibc
#endif

/// A pcapng reader of our own, used for every pcapng file so that one file
/// may hold interfaces of different link types (libpcap 1.10 refuses those:
/// "an interface has a type … different from the type of the first
/// interface"). Reads Section Header, Interface Description (with
/// `if_tsresol` and `if_tsoffset`), Enhanced, Simple and obsolete Packet
/// blocks in either byte order, several sections, and skips every other
/// block. The file is memory-mapped; packets are views into the mapping.
final class PcapngReader {
    struct Interface {
        var linkType: LinkType?
        var dlt: Int32
        var snaplen: Int
        /// Timestamp units per second and the offset in seconds.
        var unitsPerSecond: UInt64 = 1_000_000
        var offsetSeconds: Int64 = 0
        var filter: bpf_program?
    }

    /// No real block is larger: a length beyond it is corruption, not a
    /// packet to read (a packet is at most 256 KiB; Wireshark's limit for
    /// any block is 16 MiB).
    static let largestBlock = 16 << 20

    let path: String
    private let base: UnsafeRawPointer
    private let size: Int
    private var pos = 0
    private var bigEndian = false
    private(set) var interfaces: [Interface] = []
    private let filterText: String?
    /// The first interface's link type (for callers that want one).
    private(set) var firstLinkType: LinkType?
    private(set) var firstDLT: Int32 = -1

    init(path: String, filter: String?) throws(CaptureError) {
        self.path = path
        self.filterText = filter
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotOpen(path: path, reason: "cannot open: " + String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .cannotOpen(path: path, reason: "cannot open: " + String(cString: strerror(errno))) }
        size = Int(st.st_size)
        guard size >= 28 else { throw .readFailed(path: path, offset: 0, reason: "cut off: shorter than a pcapng section header") }
        guard let m = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), m != MAP_FAILED else {
            throw .cannotOpen(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(m)
        madvise(m, size, MADV_SEQUENTIAL)
        // Read blocks up to the first packet so the first interface is known.
        try readHeaderBlocks()
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: base), size)
        for i in interfaces.indices where interfaces[i].filter != nil { pcap_freecode(&interfaces[i].filter!) }
    }

    private func u16(_ o: Int) -> UInt16 {
        let v = base.loadUnaligned(fromByteOffset: o, as: UInt16.self)
        return bigEndian ? UInt16(bigEndian: v) : UInt16(littleEndian: v)
    }
    private func u32(_ o: Int) -> UInt32 {
        let v = base.loadUnaligned(fromByteOffset: o, as: UInt32.self)
        return bigEndian ? UInt32(bigEndian: v) : UInt32(littleEndian: v)
    }

    private func readHeaderBlocks() throws(CaptureError) {
        while pos < size {
            guard size - pos >= 12 else { throw .readFailed(path: path, offset: pos, reason: "cut off: a pcapng block header needs 12 bytes, only \(size - pos) left") }
            let type = peekType()
            if type == 6 || type == 3 || type == 2 { return }
            try handleNonPacketBlock()
        }
    }

    private func peekType() -> UInt32 {
        let raw = base.loadUnaligned(fromByteOffset: pos, as: UInt32.self)
        if raw == 0x0A0D_0D0A { return raw }
        return bigEndian ? UInt32(bigEndian: raw) : UInt32(littleEndian: raw)
    }

    /// Validates the block at `pos` and returns its total length.
    private func blockLength() throws(CaptureError) -> Int {
        let len = Int(u32(pos + 4))
        guard len >= 12, len % 4 == 0, len <= Self.largestBlock else {
            throw .readFailed(path: path, offset: pos, reason: "corrupt pcapng block: length \(len) "
                              + (len > Self.largestBlock ? "(no block is larger than 16 MiB)" : "(must be a multiple of 4, at least 12)"))
        }
        guard len <= size - pos else {
            throw .readFailed(path: path, offset: pos, reason: "cut off: the pcapng block needs \(len) bytes, only \(size - pos) left")
        }
        return len
    }

    private func handleNonPacketBlock() throws(CaptureError) {
        let type = peekType()
        if type == 0x0A0D_0D0A {
            // Section header: the byte-order magic decides the section's endianness.
            let magic = base.loadUnaligned(fromByteOffset: pos + 8, as: UInt32.self)
            if magic == 0x1A2B_3C4D { bigEndian = false }
            else if magic == 0x4D3C_2B1A { bigEndian = true }
            else { throw .readFailed(path: path, offset: pos + 8, reason: "corrupt pcapng section header: bad byte-order magic") }
            let len = try blockLength()
            for i in interfaces.indices where interfaces[i].filter != nil { pcap_freecode(&interfaces[i].filter!) }
            interfaces.removeAll()
            pos += len
            return
        }
        let len = try blockLength()
        if type == 1 {
            guard len >= 20 else { throw .readFailed(path: path, offset: pos, reason: "corrupt interface description block: length \(len), at least 20") }
            let dlt = Int32(u16(pos + 8))
            var iface = Interface(linkType: LinkType(dlt: Self.dltFromLinkType(dlt)), dlt: Self.dltFromLinkType(dlt),
                                  snaplen: Int(u32(pos + 12)))
            // Options: code (2), length (2), value padded to 4.
            var o = pos + 16
            let end = pos + len - 4
            while o + 4 <= end {
                let code = u16(o), olen = Int(u16(o + 2))
                if code == 0 { break }
                guard o + 4 + olen <= end else { break }
                if code == 9 && olen >= 1 {
                    let r = base.load(fromByteOffset: o + 4, as: UInt8.self)
                    let exp = UInt64(r & 0x7F)
                    if r & 0x80 != 0 { iface.unitsPerSecond = exp < 64 ? 1 << exp : 1 }
                    else { var u: UInt64 = 1; for _ in 0..<min(exp, 19) { u *= 10 }; iface.unitsPerSecond = u }
                } else if code == 14 && olen == 8 {
                    let lo = UInt64(u32(o + 4)), hi = UInt64(u32(o + 8))
                    iface.offsetSeconds = Int64(bitPattern: bigEndian ? (lo << 32 | hi) : (hi << 32 | lo))
                }
                o += 4 + (olen + 3) / 4 * 4
            }
            if let f = filterText, !f.isEmpty {
                guard let dead = pcap_open_dead(iface.dlt, Int32(max(iface.snaplen, 65535))) else {
                    throw .cannotOpen(path: path, reason: "cannot compile BPF filter")
                }
                defer { pcap_close(dead) }
                var prog = bpf_program()
                if pcap_compile(dead, &prog, f, 1, PCAP_NETMASK_UNKNOWN) != 0 {
                    throw .cannotOpen(path: path, reason: "bad BPF filter '\(f)': \(String(cString: pcap_geterr(dead)))")
                }
                iface.filter = prog
            }
            if interfaces.isEmpty && firstDLT < 0 { firstDLT = iface.dlt; firstLinkType = iface.linkType }
            interfaces.append(iface)
        }
        pos += len
    }

    /// LINKTYPE_ values in files mostly equal DLT_ values; the exceptions that matter here.
    static func dltFromLinkType(_ lt: Int32) -> Int32 {
        switch lt {
        case 101: 12   // LINKTYPE_RAW → DLT_RAW
        default: lt
        }
    }

    /// The next packet (with its interface's link type), nil at the end.
    func next() throws(CaptureError) -> (CapturedPacket, LinkType?, Int32)? {
        while pos < size {
            guard size - pos >= 12 else { throw .readFailed(path: path, offset: pos, reason: "cut off: a pcapng block header needs 12 bytes, only \(size - pos) left") }
            let type = peekType()
            guard type == 6 || type == 3 || type == 2 else {
                try handleNonPacketBlock()
                continue
            }
            let start = pos
            let len = try blockLength()
            pos += len
            var ifIndex = 0, tsRaw: UInt64 = 0, caplen = 0, wire = 0, dataOffset = 0
            switch type {
            case 6:
                guard len >= 32 else { throw .readFailed(path: path, offset: start, reason: "corrupt enhanced packet block: length \(len), at least 32") }
                ifIndex = Int(u32(start + 8))
                tsRaw = UInt64(u32(start + 12)) << 32 | UInt64(u32(start + 16))
                caplen = Int(u32(start + 20)); wire = Int(u32(start + 24)); dataOffset = start + 28
            case 2:
                guard len >= 32 else { throw .readFailed(path: path, offset: start, reason: "corrupt packet block: length \(len), at least 32") }
                ifIndex = Int(u16(start + 8))
                tsRaw = UInt64(u32(start + 12)) << 32 | UInt64(u32(start + 16))
                caplen = Int(u32(start + 20)); wire = Int(u32(start + 24)); dataOffset = start + 28
            default:  // simple packet block
                guard len >= 16 else { throw .readFailed(path: path, offset: start, reason: "corrupt simple packet block: length \(len), at least 16") }
                wire = Int(u32(start + 8)); dataOffset = start + 12
                caplen = min(wire, len - 16)
                if let s = interfaces.first?.snaplen, s > 0 { caplen = min(caplen, s) }
            }
            guard ifIndex < interfaces.count else {
                throw .readFailed(path: path, offset: start, reason: "packet names interface \(ifIndex), but only \(interfaces.count) described")
            }
            guard dataOffset + caplen <= start + len - 4 else {
                throw .readFailed(path: path, offset: start, reason: "corrupt packet: captured length \(caplen) exceeds its block")
            }
            let iface = interfaces[ifIndex]
            let timestampNs = PcapFileReader.pcapngTimestampNs(raw: tsRaw, unitsPerSecond: iface.unitsPerSecond,
                                               offsetSeconds: iface.offsetSeconds)
            let data = base + dataOffset
            if var prog = iface.filter {
                var hdr = pcap_pkthdr()
                hdr.caplen = UInt32(caplen); hdr.len = UInt32(wire)
                if pcap_offline_filter(&prog, &hdr, data.assumingMemoryBound(to: UInt8.self)) == 0 { continue }
            }
            let cp = CapturedPacket(timestampNs: timestampNs, wireLength: max(wire, caplen),
                                    bytes: ByteView(base: data, count: caplen), linkType: iface.linkType ?? .ethernet)
            return (cp, iface.linkType, iface.dlt)
        }
        return nil
    }
}
