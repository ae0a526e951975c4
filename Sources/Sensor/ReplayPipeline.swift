import Alerts
import Behaviour
import Capture
import Decoding
import Features
import Flows
#if canImport(Glibc)
import Glibc
#endif

/// Counts for one run, printed as the summary and kept for stats records.
package struct RunSummary: Sendable {
    package var files = 0
    package var packetsRead: UInt64 = 0
    package var packetsDecoded: UInt64 = 0
    package var bytesRead: UInt64 = 0
    package var anomalies = AnomalyCounters()
    package var flows = FlowCounters()
    package var flowsWritten: UInt64 = 0
    package var wallSeconds: Double = 0
    package var errors: [String] = []
    package var histogramsExhausted: UInt64 = 0
    /// Flows that carried payload but found no free application-layer stream prefix.
    package var appStreamsExhausted: UInt64 = 0
    package init() {}

    package var packetsPerSecond: Double { wallSeconds > 0 ? Double(packetsRead) / wallSeconds : 0 }

    /// The human summary printed on stderr after a replay.
    package var text: String {
        var s = "flowsentry: read \(packetsRead) packets from \(files) file\(files == 1 ? "" : "s") in "
        s += formatFixed(wallSeconds, 3) + " s (" + formatFixed(packetsPerSecond, 0) + " packets/s)\n"
        let skipped = packetsRead - packetsDecoded
        s += "  decoded \(packetsDecoded), skipped \(skipped)"
        var reasons: [String] = []
        for a in Anomaly.allCases where a != .none && anomalies[a] > 0 {
            reasons.append("\(a.name) \(anomalies[a])")
        }
        if !reasons.isEmpty { s += ": " + reasons.joined(separator: ", ") }
        s += "\n  flows \(flowsWritten)"
        var ends: [String] = []
        for r in EndReason.allCases where flows.ended(r) > 0 { ends.append("\(r.name) \(flows.ended(r))") }
        if !ends.isEmpty { s += ": " + ends.joined(separator: ", ") }
        if flows.fragmentsMatched + flows.fragmentOrphans > 0 {
            s += "\n  fragments: \(flows.fragmentsMatched) matched to their flow, \(flows.fragmentOrphans) orphaned"
        }
        if flows.negativeIATs > 0 { s += "\n  timestamps going backwards (clamped): \(flows.negativeIATs)" }
        if histogramsExhausted > 0 { s += "\n  payload histograms exhausted: \(histogramsExhausted) flows without payload entropy" }
        return s
    }
}

func formatFixed(_ v: Double, _ places: Int) -> String {
    var j = JSONBuffer(reserve: 32)
    if places == 0 { j.int(Int64(v.rounded())) } else {
        let scale = [1.0, 10, 100, 1000, 10000][min(places, 4)]
        let r = (v * scale).rounded() / scale
        j.double(r)
    }
    var s = String(decoding: j.bytes, as: UTF8.self)
    if places > 0 {
        if !s.contains(".") { s += "." }
        let frac = s.split(separator: ".", omittingEmptySubsequences: false).last?.count ?? 0
        s += String(repeating: "0", count: max(0, places - frac))
    }
    return s
}

/// Reads captures in order through decode → flow table, handing every
/// finished flow record to `onRecord` with the name of the file being read.
/// Time comes only from packet timestamps (expiry sweeps once per second of
/// packet time), so the same input always gives the same records.
package final class ReplayPipeline {
    package let table: FlowTable
    package let filter: String?
    /// Observes each record before `run(files:resolveAppLayer:onRecord:)`
    /// hands it over, so its behaviour features are set as the sensor sets
    /// them (train, evaluate, features); nil leaves them zero. The two-thread
    /// replay leaves this to its writer's stage.
    package let behaviour: BehaviourStage?
    package var summary = RunSummary()
    /// While `run(files:writer:)` runs: hands the records read so far to the
    /// writer and has them flushed (called from the reading thread, between
    /// files, e.g. by `CaptureWatch.beforeWaiting`).
    package private(set) var handOver: (() -> Void)?
    /// The behaviour values of the record being handed to `onRecord` (the
    /// one-thread replay; nil without a behaviour stage or for a long flow's later segments).
    package private(set) var currentBehaviour: BehaviourValues?
    private var sink = FlowSink(reserve: ReplayPipeline.chunk)
    /// Most records built at once by an expiry sweep or the end-of-input
    /// flush: 512 records (~0.7 MB) stay in the core's cache between being
    /// built and being written (4,096 measured 4–7 % slower on mixed traffic).
    package static let chunk = 512

    /// `preallocate` writes the flow and behaviour tables' memory before the
    /// first packet, as live capture does: the replay's peak memory is then
    /// the configured tables' from the start, and a machine without it
    /// fails at once. Otherwise (the default) a table's pages are touched
    /// when its entries are first used: a small capture pays for what it
    /// holds, not for the configured capacity (~330 MB at the defaults).
    package init(config: FlowTableConfig, filter: String? = nil, behaviour: BehaviourConfig? = BehaviourConfig(),
                 preallocate: Bool = false) {
        table = FlowTable(config: config, prefault: preallocate)
        self.filter = filter
        self.behaviour = behaviour.map { BehaviourStage(config: $0, prefault: preallocate) }
    }

    /// Replays `files`. Errors (unreadable file, cut-off capture) are
    /// recorded in the summary and reading moves on; every flow read so far
    /// is still ended and handed over.
    /// With `resolveAppLayer` (the default) each record's application layer
    /// is parsed before `onRecord` sees it; the two-thread replay leaves that
    /// to its writer.
    package func run(files: [String], resolveAppLayer: Bool = true,
                     onRecord: (inout FlowRecord, String) throws -> Void) rethrows {
        try run(files: files, resolveAppLayer: resolveAppLayer, behaviour: behaviour, onRecord: onRecord)
    }

    private func run(files: some Sequence<String>, resolveAppLayer: Bool, behaviour: BehaviourStage?,
                     onRecord: (inout FlowRecord, String) throws -> Void) rethrows {
        let start = monotonicSeconds()
        var pipe = PacketPipeline()
        pipe.holdsBack = table.packetRings == nil
        var nextSweep: Int64 = Int64.min
        var lastFile = ""
        for path in files {
            lastFile = path
            let reader: PcapFileReader
            do {
                reader = try PcapFileReader(path: path, filter: filter)
            } catch {
                summary.errors.append(error.description)
                continue
            }
            summary.files += 1
            var decoder = PacketDecoder(linkType: reader.linkType)
            table.packetRings?.linkType = reader.linkType.pcapLinkType
            // After the table has seen each packet read (see PacketPipeline).
            func after(_ ts: Int64, _: Bool, _ sink: inout FlowSink) throws {
                if ts >= nextSweep {
                    if nextSweep != Int64.min {
                        try table.expire(now: ts, chunk: Self.chunk, sink: &sink) { s in
                            try drain(&s, path, resolve: resolveAppLayer, behaviour, onRecord)
                        }
                    }
                    nextSweep = ts + 1_000_000_000
                }
                if !sink.isEmpty {
                    try drain(&sink, path, resolve: resolveAppLayer, behaviour, onRecord)
                }
            }
            while true {
                let captured: CapturedPacket?
                do {
                    captured = try reader.next()
                } catch {
                    summary.errors.append(error.description)
                    break
                }
                guard let cp = captured else { break }
                summary.packetsRead &+= 1
                summary.bytesRead &+= UInt64(cp.wireLength)
                if cp.linkType != decoder.linkType {
                    decoder = PacketDecoder(linkType: cp.linkType)
                    table.packetRings?.linkType = cp.linkType.pcapLinkType
                }
                let ok = decoder.decode(cp.bytes, wireLength: cp.wireLength, timestampNs: cp.timestampNs,
                                        into: &pipe.current.pointee)
                if ok {
                    summary.packetsDecoded &+= 1
                } else {
                    summary.anomalies.bump(pipe.current.pointee.anomaly)
                }
                try pipe.step(decoded: ok, bytes: cp.bytes, timestampNs: cp.timestampNs, table: table,
                              sink: &sink, after: after)
            }
            // The file's last packet is not left held back into the next file.
            try pipe.flush(table: table, sink: &sink, after: after)
        }
        // End of input: every open flow, a chunk at a time, each chunk handed
        // over before the next is built (no table-sized batch of records).
        try table.flushAll(reason: .shutdown, chunk: Self.chunk, sink: &sink) { s in
            try drain(&s, lastFile, resolve: resolveAppLayer, behaviour, onRecord)
        }
        try drain(&sink, lastFile, resolve: resolveAppLayer, behaviour, onRecord)
        summary.flows = table.counters
        summary.histogramsExhausted = table.histogramsExhausted
        summary.appStreamsExhausted = table.appStreamsExhausted
        summary.wallSeconds = monotonicSeconds() - start
    }

    private func drain(_ sink: inout FlowSink, _ path: String, resolve: Bool, _ behaviour: BehaviourStage?,
                       _ onRecord: (inout FlowRecord, String) throws -> Void) rethrows {
        try sink.drain { r in
            summary.flowsWritten &+= 1
            currentBehaviour = behaviour?.observe(&r)
            if resolve { r.resolveAppLayer() }
            try onRecord(&r, path)
        }
    }
}

package func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

extension ReplayPipeline {
    /// Replays `files` into `writer` on two threads: this one reads, decodes
    /// and keeps the flow table; a writer thread scores, formats and writes
    /// finished flows, batch by batch in order (back-pressure, nothing
    /// dropped), so replay runs at the pace of the slower side instead of
    /// the sum of both. The writer's helpers (`RecordWriter.useThreads`)
    /// share its parsing, inference and formatting. Ends with the writer's
    /// closing alerts and a flush; the summary's wall time runs up to the
    /// last record written, not only read.
    /// `files` may be a `CaptureWatch`, which yields captures until a stop signal.
    package func run(files: some Sequence<String>, writer: RecordWriter) {
        let channel = BatchChannel<RecordBatch>(capacity: 4)
        let writerThread = spawnThread(name: "fs-replay-out") {
            while let batch = channel.receive() {
                let flush = batch.flushAfter
                writer.write(batch)
                if flush { writer.outputs.flush() }
                channel.recycle(batch)
            }
        }
        let start = monotonicSeconds()
        var batch = RecordBatch()
        // The behaviour table follows the records on this thread (it is one
        // stage of the record path: here it shares the work with the writer's;
        // on the writer, records-only replay measured slower on two cores).
        let behaviour = writer.behaviour
        let keepsPackets = table.packetRings != nil
        // Between captures (`replay --watch` waiting): the records so far
        // go to the writer, which writes and flushes them.
        handOver = {
            behaviour?.observe(batch)
            batch.flushAfter = true
            channel.send(batch)
            batch = channel.takeEmpty() ?? RecordBatch()
        }
        run(files: files, resolveAppLayer: false, behaviour: nil) { record, file in
            let b = batch
            // Copied once, from the sink's storage straight into the batch's
            // (`append(record)` of the inout record went through a temporary
            // copy first: a record is ~2 KB).
            withUnsafePointer(to: &record) { b.records.append(contentsOf: UnsafeBufferPointer(start: $0, count: 1)) }
            b.files.append(file)
            // `--alert-pcap`: a record whose flow goes on is handed over at
            // once; its verdict decides what the flow's next segment keeps.
            if b.records.count >= RecordBatch.size || (record.reason == .activeTimeout && keepsPackets) {
                behaviour?.observe(batch)
                channel.send(batch)
                batch = channel.takeEmpty() ?? RecordBatch()
            }
        }
        if !batch.isEmpty { behaviour?.observe(batch); channel.send(batch) }
        handOver = nil
        channel.close()
        pthread_join(writerThread, nil)
        writer.finish()
        writer.outputs.flush()
        summary.wallSeconds = monotonicSeconds() - start
    }
}
