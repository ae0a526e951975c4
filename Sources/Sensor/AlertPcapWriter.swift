import Alerts
import Flows
#if canImport(Glibc)
import Glibc
#endif

/// What `--alert-pcap` keeps and where (`outputs.alert_pcap` in the config).
package struct AlertPcapConfig: Sendable, Equatable {
    package var directory: String
    /// Packets kept per flow record: its first ones.
    package var ringPackets = 32
    /// Bytes kept of each packet (longer ones are cut; their length on the wire is kept).
    package var snaplen = 2048
    /// The arena all flows' kept packets share, fixed at start.
    package var memcapBytes = 64 << 20
    /// A file is closed and the next one started before it would pass this.
    package var fileSizeBytes = 64 << 20
    /// Files kept in the directory; the oldest are removed beyond it (0: no limit).
    package var fileCount = 16

    package init(directory: String) { self.directory = directory }
}

/// Writes the kept packets of alerted flows to classic pcap files
/// (nanosecond timestamps, the capture's link type, each packet's original
/// timestamp and length) named `flowsentry-alerts.N.pcap` in the directory,
/// N counting up from the highest already there. A flow's packets are
/// written together in one file: a file is rotated before a flow that would
/// take it past the size cap (a file holds at least one flow), or whose
/// link type differs from the file's; beyond the file count the oldest file
/// is removed.
///
/// Not thread-safe: the record writer's thread only.
package final class AlertPcapWriter: @unchecked Sendable {
    package let config: AlertPcapConfig
    package private(set) var currentPath: String?
    private var fd: Int32 = -1
    private var fileBytes = 0
    private var filePackets = 0
    private var fileLinkType: UInt16 = 0
    private var sequence: Int
    /// Files written, oldest first, for the count cap (found at start, then ours).
    private var files: [(sequence: Int, path: String)]
    private var buffer: [UInt8] = []
    package private(set) var flowsWritten: UInt64 = 0
    /// Of `flowsWritten`, records written because an earlier record of their flow alerted.
    package private(set) var recordsAfterAlert: UInt64 = 0
    package private(set) var packetsWritten: UInt64 = 0
    package private(set) var writeErrors: UInt64 = 0
    package private(set) var lastError: String?

    static let prefix = "flowsentry-alerts."
    static let suffix = ".pcap"

    /// Opens (creates) the directory; nothing is written until the first alert.
    package init(config: AlertPcapConfig) throws(SensorConfigError) {
        self.config = config
        let dir = config.directory
        if mkdir(dir, 0o755) != 0 && errno != EEXIST {
            throw SensorConfigError(file: nil, key: "alert_pcap.dir", reason: "\(dir): cannot create: \(String(cString: strerror(errno)))")
        }
        var st = stat()
        guard stat(dir, &st) == 0, st.st_mode & S_IFMT == S_IFDIR, access(dir, W_OK) == 0 else {
            throw SensorConfigError(file: nil, key: "alert_pcap.dir", reason: "\(dir): not a writable directory")
        }
        files = Self.existing(in: dir)
        sequence = (files.last?.sequence ?? 0) + 1
    }

    deinit { if fd >= 0 { close(fd) } }

    /// The `flowsentry-alerts.N.pcap` files in `dir`, by N.
    static func existing(in dir: String) -> [(sequence: Int, path: String)] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var found: [(Int, String)] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            guard name.hasPrefix(prefix), name.hasSuffix(suffix),
                  let n = Int(name.dropFirst(prefix.count).dropLast(suffix.count)) else { continue }
            found.append((n, dir + "/" + name))
        }
        return found.sorted { $0.0 < $1.0 }
    }

    /// What `--alert-pcap` does with one flow record, its alert lines (if
    /// any) not yet formatted: `alerting` says whether it gets one.
    /// - A record of a flow that alerted in an earlier record (segment):
    ///   every packet it kept is written, and `afterAlert` is true (its flow
    ///   record names them).
    /// - Else an alerting record: its ring, the first `ringPackets` packets.
    /// - Else nothing.
    /// A record whose flow goes on (active timeout) has its verdict noted
    /// in the rings, for the flow's next segment to keep its packets or not.
    /// Returns where the packets are (nil: none written).
    package func write(_ r: FlowRecord, alerting: Bool, rings: FlowPacketRings) -> (capture: AlertCapture?, afterAlert: Bool) {
        let chain = r.packetRing
        let afterAlert = rings.flowAlerted(before: chain)
        if r.reason == .activeTimeout { rings.noteVerdict(chain, alerted: afterAlert || alerting) }
        if afterAlert {
            let written = write(chain, from: rings)
            if written != nil { recordsAfterAlert &+= 1 }
            return (written, true)
        }
        return (alerting ? write(chain, from: rings, limit: rings.ringPackets) : nil, false)
    }

    /// Writes `chain`'s first `limit` packets (from `rings`) as one run in
    /// the current file; returns where they are, or nil when there are none
    /// or the write failed (counted in `writeErrors`, said in `lastError`).
    package func write(_ chain: PacketChain, from rings: FlowPacketRings, limit: Int = .max) -> AlertCapture? {
        guard !chain.isEmpty else { return nil }
        buffer.removeAll(keepingCapacity: true)
        var linkType: UInt16 = 0
        var packets = 0
        rings.forEach(chain, limit: limit) { p in
            if packets == 0 { linkType = p.linkType }
            appendRecord(p)
            packets += 1
        }
        if fd >= 0 && filePackets > 0 && (fileBytes + buffer.count > config.fileSizeBytes || linkType != fileLinkType) {
            closeFile()
        }
        if fd < 0 {
            guard openNext(linkType: linkType, snaplen: rings.snaplen) else { return nil }
        }
        guard writeAll(buffer) else {
            writeErrors &+= 1
            lastError = "\(currentPath ?? config.directory): \(String(cString: strerror(errno)))"
            // A partly written run is cut off again (it would leave a cut-off
            // record in the file); the next flow starts a new file.
            _ = ftruncate(fd, off_t(fileBytes))
            closeFile()
            return nil
        }
        let first = filePackets + 1
        fileBytes += buffer.count
        filePackets += packets
        flowsWritten &+= 1
        packetsWritten &+= UInt64(packets)
        return AlertCapture(file: currentPath!, firstPacket: first, packets: packets)
    }

    /// Closes the current file (the next flow starts a new one).
    package func closeFile() {
        if fd >= 0 { close(fd) }
        fd = -1
        currentPath = nil
    }

    private func appendRecord(_ p: FlowPacketRings.Packet) {
        let sec = p.timestampNs >= 0 ? p.timestampNs / 1_000_000_000 : (p.timestampNs - 999_999_999) / 1_000_000_000
        let nsec = p.timestampNs - sec * 1_000_000_000
        appendU32(UInt32(truncatingIfNeeded: sec))
        appendU32(UInt32(truncatingIfNeeded: nsec))
        appendU32(UInt32(p.bytes.count))
        appendU32(UInt32(p.wireLength))
        buffer.append(contentsOf: p.bytes)
    }

    private func appendU32(_ v: UInt32) {
        withUnsafeBytes(of: v.littleEndian) { buffer.append(contentsOf: $0) }
    }

    private func openNext(linkType: UInt16, snaplen: Int) -> Bool {
        let path = config.directory + "/" + Self.prefix + String(sequence) + Self.suffix
        let f = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard f >= 0 else {
            writeErrors &+= 1
            lastError = "\(path): \(String(cString: strerror(errno)))"
            return false
        }
        fd = f
        currentPath = path
        sequence += 1
        // Classic pcap, little-endian, nanosecond timestamps, version 2.4.
        var header: [UInt8] = []
        withUnsafeBytes(of: UInt32(0xA1B2_3C4D).littleEndian) { header.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt16(2).littleEndian) { header.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt16(4).littleEndian) { header.append(contentsOf: $0) }
        header.append(contentsOf: [UInt8](repeating: 0, count: 8))  // thiszone, sigfigs
        withUnsafeBytes(of: UInt32(snaplen).littleEndian) { header.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt32(linkType).littleEndian) { header.append(contentsOf: $0) }
        guard writeAll(header) else {
            writeErrors &+= 1
            lastError = "\(path): \(String(cString: strerror(errno)))"
            closeFile()
            return false
        }
        fileBytes = header.count
        filePackets = 0
        fileLinkType = linkType
        files.append((sequence - 1, path))
        if config.fileCount > 0 {
            while files.count > config.fileCount { unlink(files.removeFirst().path) }
        }
        return true
    }

    private func writeAll(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                off += n
            }
            return true
        }
    }
}

/// Sets up `--alert-pcap` on a flow table and a record writer: the rings
/// sized for the table, the pcap writer on the directory.
package func attachAlertPcap(_ config: AlertPcapConfig, table: FlowTable, writer: RecordWriter) throws(SensorConfigError) {
    var config = config
    while config.directory.count > 1 && config.directory.hasSuffix("/") { config.directory.removeLast() }
    let pcap = try AlertPcapWriter(config: config)
    let layout = table.stripeLayout
    let rings = FlowPacketRings(stripes: layout.stripes, slotsPerStripe: layout.slotsPerStripe,
                                ringPackets: config.ringPackets, snaplen: config.snaplen,
                                memcapBytes: config.memcapBytes)
    table.packetRings = rings
    writer.alertPcap = (pcap, rings)
}

/// Pushes ended records to the live output queue; the kept packets of
/// records the full queue drops go back to the rings at once, and a dropped
/// record whose flow goes on counts as not alerted (its next segment then
/// stops keeping packets past its ring).
package func pushReleasingDropped(_ queue: BoundedQueue<FlowRecord>, _ records: ArraySlice<FlowRecord>,
                                  rings: FlowPacketRings?) {
    let lost = queue.push(records)
    guard lost > 0, let rings else { return }
    for i in records.indices.suffix(lost) {
        if records[i].reason == .activeTimeout { rings.noteVerdict(records[i].packetRing, alerted: false) }
        if !records[i].packetRing.isEmpty { rings.release(records[i].packetRing) }
    }
}
