import Alerts
import Capture
import Decoding
import Flows

/// One snapshot of the live sensor's counters, written as an EVE
/// `event_type: "stats"` record (totals since start) and exposed as
/// Prometheus metrics (MetricsExposition).
package struct SensorStats: Sendable {
    package var uptimeSeconds: Double = 0
    /// Kernel counters summed over every capture handle (64-bit, wrap-safe),
    /// including handles closed by a reopen.
    package var kernel = CaptureStats()
    package var reopens: UInt64 = 0
    package var packets: UInt64 = 0
    package var decoded: UInt64 = 0
    package var bytes: UInt64 = 0
    package var anomalies = AnomalyCounters()
    package var flowsActive = 0
    package var flows = FlowCounters()
    package var memcapBytes: UInt64 = 0
    package var queueDepth = 0
    package var queueCapacity = 0
    package var queueOverflow: UInt64 = 0
    /// Records accepted by the log files (on disk, or held in memory for retry).
    package var recordsWritten: UInt64 = 0
    /// Failed writes or flushes of the log files (and a file's writer given up on at shutdown).
    package var writeErrors: UInt64 = 0
    /// Records the log files lost: a file's queue was full (the file not
    /// keeping up), the disk refused them past the retry buffer, or shutdown
    /// could not wait for a blocked file.
    package var recordsDropped: UInt64 = 0
    /// Accepted records held in memory after a failed write, not on disk yet.
    package var recordsPending: UInt64 = 0
    /// Each capture worker's share of the totals above, by worker index.
    package var workers: [Worker] = []
    /// Each log file's share of `recordsWritten` and `recordsDropped`, and
    /// each network output's counters, by output.
    package var outputs: [Output] = []
    /// `--alert-pcap`'s counters (nil: off). Filled on the output thread, which owns the writer.
    package var alertPcap: AlertPcapCounters?

    /// What `--alert-pcap` wrote and kept, since start.
    package struct AlertPcapCounters: Sendable, Equatable {
        package var flowsWritten: UInt64 = 0
        package var packetsWritten: UInt64 = 0
        package var writeErrors: UInt64 = 0
        /// Packets copied into the flows' rings, and packets that found no free cell (the memcap).
        package var packetsKept: UInt64 = 0
        package var packetsNotKept: UInt64 = 0
        package init() {}

        /// The counters of a record writer's `alertPcap` (its thread only).
        package init?(_ alertPcap: (writer: AlertPcapWriter, rings: FlowPacketRings)?) {
            guard let (w, rings) = alertPcap else { return nil }
            flowsWritten = w.flowsWritten
            packetsWritten = w.packetsWritten
            writeErrors = w.writeErrors
            (packetsKept, packetsNotKept) = rings.counters
        }
    }

    /// One capture worker's counters (its handle's kernel counters across reopens).
    package struct Worker: Sendable, Equatable {
        package var packets: UInt64 = 0
        package var bytes: UInt64 = 0
        package var decoded: UInt64 = 0
        package var kernel = CaptureStats()
        package var reopens: UInt64 = 0
        package init() {}
    }

    /// One output's records: `name` is alerts, flows or stats for the log
    /// files, the `outputs.list` name for the others (which also reconnect).
    /// `queued`: records in the output's queue or being written now.
    package struct Output: Sendable, Equatable {
        package var name: String
        package var written: UInt64
        package var dropped: UInt64
        package var queued: UInt64 = 0
        package var reconnects: UInt64 = 0
        package init(name: String, written: UInt64, dropped: UInt64, queued: UInt64 = 0, reconnects: UInt64 = 0) {
            self.name = name; self.written = written; self.dropped = dropped
            self.queued = queued; self.reconnects = reconnects
        }
    }

    package init() {}

    package var invalid: UInt64 { packets &- decoded }

    /// Kernel drops as a percentage of packets seen by the kernel (received + dropped).
    package var dropPercent: Double {
        let total = kernel.received &+ kernel.dropped
        return total == 0 ? 0 : Double(kernel.dropped) * 100 / Double(total)
    }

    /// Appends the record and a newline:
    /// `{"timestamp","event_type":"stats","host"?,"in_iface","stats":{uptime, capture, decoder, flow, queue, output}}`.
    /// Keys that mean what Suricata's stats keys mean carry Suricata's names
    /// (`uptime`, `capture.kernel_packets`, `decoder.pkts`, `flow.total`, …;
    /// see docs/live.md); the others are FlowSentry's own. Every value is an
    /// integer.
    package func appendRecord(timestampNs: Int64, host: String?, interface: String,
                             extra: ((inout JSONBuffer) -> Void)? = nil, into j: inout JSONBuffer) {
        j.beginObject()
        j.key("timestamp"); j.rawString { EveTime.append(ns: timestampNs, to: &$0) }
        j.key("event_type"); j.string("stats")
        if let host { j.key("host"); j.string(host) }
        j.key("in_iface"); j.string(interface)
        j.key("stats"); j.beginObject()
        j.key("uptime"); j.int(Int64(uptimeSeconds.rounded(.down)))
        j.key("capture"); j.beginObject()
        j.key("kernel_packets"); j.uint(kernel.received)
        j.key("kernel_drops"); j.uint(kernel.dropped)
        j.key("kernel_ifdrops"); j.uint(kernel.ifDropped)
        j.key("reopens"); j.uint(reopens)
        j.endObject()
        j.key("decoder"); j.beginObject()
        j.key("pkts"); j.uint(packets)
        j.key("bytes"); j.uint(bytes)
        j.key("invalid"); j.uint(invalid)
        j.key("decoded"); j.uint(decoded)
        // Skipped packets by reason (the `Anomaly` names), where Suricata keeps its decoder events.
        j.key("event"); j.beginObject()
        for a in Anomaly.allCases where a != .none && anomalies[a] > 0 {
            j.key(a.name); j.uint(anomalies[a])
        }
        j.endObject()
        j.endObject()
        j.key("flow"); j.beginObject()
        j.key("total"); j.uint(flows.created)
        j.key("active"); j.int(flowsActive)
        j.key("ended"); j.beginObject()
        for r in EndReason.allCases { j.key(r.name); j.uint(flows.ended(r)) }
        j.endObject()
        j.key("evicted"); j.uint(flows.ended(.evicted))
        j.key("memcap_bytes"); j.uint(memcapBytes)
        j.endObject()
        j.key("queue"); j.beginObject()
        j.key("depth"); j.int(queueDepth)
        j.key("capacity"); j.int(queueCapacity)
        j.key("overflow"); j.uint(queueOverflow)
        j.endObject()
        j.key("output"); j.beginObject()
        j.key("records_written"); j.uint(recordsWritten)
        j.key("write_errors"); j.uint(writeErrors)
        j.key("records_pending"); j.uint(recordsPending)
        j.key("records_dropped"); j.uint(recordsDropped)
        j.endObject()
        // Each output's own counters (the log files and the outputs.list entries), when there are outputs.
        if !outputs.isEmpty {
            j.key("outputs"); j.beginObject()
            for o in outputs {
                j.key(o.name); j.beginObject()
                j.key("written"); j.uint(o.written)
                j.key("dropped"); j.uint(o.dropped)
                j.key("queued"); j.uint(o.queued)
                j.key("reconnects"); j.uint(o.reconnects)
                j.endObject()
            }
            j.endObject()
        }
        if let p = alertPcap {
            j.key("alert_pcap"); j.beginObject()
            j.key("flows_written"); j.uint(p.flowsWritten)
            j.key("packets_written"); j.uint(p.packetsWritten)
            j.key("write_errors"); j.uint(p.writeErrors)
            j.key("packets_kept"); j.uint(p.packetsKept)
            j.key("packets_not_kept"); j.uint(p.packetsNotKept)
            j.endObject()
        }
        if let extra { extra(&j) }
        j.endObject()
        j.endObject()
        j.newline()
    }

    /// The exit summary, in Suricata's words for the capture part.
    package var summary: String {
        var s = "flowsentry: stats: kernel_packets \(kernel.received), kernel_drops \(kernel.dropped) ("
        s += formatFixed(dropPercent, 2) + "%), kernel_ifdrops \(kernel.ifDropped), reopens \(reopens)\n"
        s += "  decoded \(decoded) of \(packets) packets; flows created \(flows.created)"
        var ends: [String] = []
        for r in EndReason.allCases where flows.ended(r) > 0 { ends.append("\(r.name) \(flows.ended(r))") }
        if !ends.isEmpty { s += ", ended: " + ends.joined(separator: ", ") }
        s += "\n  records written \(recordsWritten), write errors \(writeErrors), queue overflow \(queueOverflow)"
        if recordsPending > 0 || recordsDropped > 0 {
            s += "\n  records not written: \(recordsPending) still held at exit, \(recordsDropped) dropped (a log file's queue or retry buffer full)"
        }
        return s
    }
}
