import ArgumentParser
import Flows
import Sensor

/// `--alert-pcap DIR` and its limits, for `replay` and `run` (where they
/// override `outputs.alert_pcap` of the config). See docs/alert-pcap.md.
struct AlertPcapOptions: ParsableArguments {
    private static let defaults = AlertPcapConfig(directory: "")

    @Option(name: .customLong("alert-pcap"), help: ArgumentHelp(
        "Write the packets of alerted flows (each flow's first packets, and every packet after its alert) to rotated pcap files in this directory.",
        valueName: "dir"))
    var directory: String?

    @Option(name: .customLong("alert-pcap-packets"), help: ArgumentHelp("Packets kept per flow, its first ones (default \(defaults.ringPackets)).", valueName: "n"))
    var packets: Int?

    @Option(name: .customLong("alert-pcap-snaplen"), help: ArgumentHelp("Bytes kept of each packet (default \(defaults.snaplen)).", valueName: "bytes"))
    var snaplen: Int?

    @Option(name: .customLong("alert-pcap-memcap"), help: ArgumentHelp("MiB of memory for the kept packets of all flows, fixed at start (default \(defaults.memcapBytes >> 20)).", valueName: "MiB"))
    var memcapMiB: Int?

    @Option(name: .customLong("alert-pcap-file-size"), help: ArgumentHelp("MiB at which a pcap file is closed and the next started (default \(defaults.fileSizeBytes >> 20)).", valueName: "MiB"))
    var fileSizeMiB: Double?

    @Option(name: .customLong("alert-pcap-files"), help: ArgumentHelp("Pcap files kept; the oldest is removed beyond this (0: all; default \(defaults.fileCount)).", valueName: "n"))
    var files: Int?

    func validate() throws {
        if let packets, packets < 1 || packets > 65535 { throw ValidationError("--alert-pcap-packets must be 1 to 65535") }
        if let snaplen, snaplen < 64 || snaplen > 262_144 { throw ValidationError("--alert-pcap-snaplen must be 64 to 262144") }
        if let memcapMiB, memcapMiB < 1 { throw ValidationError("--alert-pcap-memcap must be at least 1 (MiB)") }
        if let fileSizeMiB, !(fileSizeMiB > 0) { throw ValidationError("--alert-pcap-file-size must be more than 0 (MiB)") }
        if let files, files < 0 { throw ValidationError("--alert-pcap-files must be 0 or more") }
        if directory == nil && (packets ?? snaplen ?? memcapMiB ?? files) != nil || directory == nil && fileSizeMiB != nil {
            throw ValidationError("the --alert-pcap-* limits need --alert-pcap DIR")
        }
    }

    /// The flags applied over `base` (a config's), or over the defaults.
    func config(over base: AlertPcapConfig?) -> AlertPcapConfig? {
        guard var c = directory.map({ AlertPcapConfig(directory: $0) }) ?? base else { return nil }
        if let directory { c.directory = directory }
        if let packets { c.ringPackets = packets }
        if let snaplen { c.snaplen = snaplen }
        if let memcapMiB { c.memcapBytes = memcapMiB << 20 }
        if let fileSizeMiB { c.fileSizeBytes = Int(fileSizeMiB * 1_048_576) }
        if let files { c.fileCount = files }
        return c
    }
}

/// The summary line of `--alert-pcap`.
func alertPcapSummary(_ writer: RecordWriter) -> String? {
    guard let (pcap, rings) = writer.alertPcap else { return nil }
    let c = rings.counters
    var s = "alert pcap: \(pcap.flowsWritten) flows (\(pcap.recordsAfterAlert) after an alert), \(pcap.packetsWritten) packets written to \(pcap.config.directory)"
    s += "; \(c.kept) packets kept in \(rings.cellCount) cells, \(c.notKept) not kept (memcap)"
    if pcap.writeErrors > 0 { s += "; \(pcap.writeErrors) write errors (last: \(pcap.lastError ?? "?"))" }
    return s
}
