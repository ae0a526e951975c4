#if canImport(Glibc)
import Glibc
#endif
import Alerts
import Behaviour
import Detection
import Flows
import Indicators

/// Where a `RecordWriter`'s lines go: the flows log and the alerts log,
/// each optional. `write` never throws: each kind of output deals with its
/// own errors (live: counted and logged, the sensor keeps running; replay:
/// the first kept for the summary and the exit code).
package protocol RecordOutputs: AnyObject {
    var flows: OutputFile? { get }
    var alerts: OutputFile? { get }
    /// True: each record is its own `write` (replay: a failing file refuses,
    /// and counts, records one at a time, and each line is copied while it
    /// is in cache). False: one `write` per log per batch (live: one counter
    /// update per batch).
    var writesEachRecord: Bool { get }
    /// Queues `bytes`, `records` complete lines, for `file` (nothing when nil).
    func write(_ file: OutputFile?, _ bytes: [UInt8], records: Int)
    /// Whether any output takes records of type `type` (the writer formats only those).
    func wants(_ type: EveRecordType) -> Bool
    /// Queues `records` complete lines of type `type` for every output that takes them.
    func write(_ type: EveRecordType, _ bytes: [UInt8], records: Int)
    /// Hands what is buffered to the kernel.
    func flush()
}

extension RecordOutputs {
    /// The log files alone: flows to the flows log, alerts to the alerts log.
    package func wants(_ type: EveRecordType) -> Bool {
        type == .flow ? flows != nil : type == .alert ? alerts != nil : false
    }

    package func write(_ type: EveRecordType, _ bytes: [UInt8], records: Int) {
        write(type == .flow ? flows : type == .alert ? alerts : nil, bytes, records: records)
    }
}

extension OutputFiles: RecordOutputs {
    package var writesEachRecord: Bool { false }
    package func flush() { flushAll() }
    package func wants(_ type: EveRecordType) -> Bool { wantsType(type) }
    package func write(_ type: EveRecordType, _ bytes: [UInt8], records: Int) { writeType(type, bytes, records: records) }
}

/// The one writer of flow records and alerts, for `replay` and `run` alike:
/// scores each batch (when it has a scoring stage), formats the EVE flow
/// records with their verdicts and the alerts, puts each closing aggregate
/// alert after the flow records it follows, and hands the lines to its
/// outputs (a write per record or per batch, as the outputs ask).
///
/// With `useThreads(n)` (n > 1) the work of a batch that does not depend on
/// order — application-layer parsing, the models' inference and formatting
/// the flow records — is split across a `WorkerPool` of n threads, and the
/// rest (policy, alert aggregation and closing alerts, indicator hits,
/// alert lines, every write) stays in order on the calling thread, so the
/// bytes written are the same for any number of threads.
///
/// Not thread-safe: used by one thread at a time (replay's writer thread,
/// then the main thread for `finish`; live, the output thread); its pool's
/// threads only ever work inside `write`.
package final class RecordWriter: @unchecked Sendable {
    /// Scores, applies the policy and aggregates alerts; nil: flow records only.
    package let scoring: ScoringStage?
    package let outputs: any RecordOutputs
    /// The behaviour table's stage: values for every flow record, verdicts through `scoring`; nil: none kept.
    package let behaviour: BehaviourStage?
    /// Notes each record's end → written latency in the scoring counters
    /// (live, where flow times are wall-clock times; replay's are not).
    package var notesLatency = false
    /// What the application-layer parsers made of the records written.
    package private(set) var appLayer = AppLayerCounters()
    /// Indicators matched on every record (an alert line per hit), scored or
    /// not; nil: none loaded. Swapped by `reloadIndicators` (SIGUSR2).
    package private(set) var indicators: IndicatorSet?
    package private(set) var indicatorCounters = IndicatorCounters()
    private var hits: [IndicatorHit] = []
    /// `--alert-pcap`: the kept packets of each record that gets an alert
    /// line, and of every later record of its flow, are written here
    /// (`AlertPcapWriter.write(_:alerting:rings:)`), and every record's are
    /// given back to the flow table's rings once written (nil: off).
    package var alertPcap: (writer: AlertPcapWriter, rings: FlowPacketRings)?

    private var flowFormatter: EveFlowFormatter
    private var alertFormatter: EveAlertFormatter
    private var flowJSON = JSONBuffer(reserve: 1 << 18)
    private var alertJSON = JSONBuffer(reserve: 1 << 14)
    private var scored: [ScoredVerdict] = []
    /// Capture files in the order read (replay). A record's source is its
    /// file's index here; a closing alert names its flow's file by it.
    private var files: [String] = []
    private var sources: [Int32] = []
    /// The threads of `useThreads` (nil: everything on the calling thread).
    private var pool: WorkerPool?
    /// Per chunk of the batch: a flow formatter and the records it formatted.
    private var formatChunks: [FlowFormatChunk] = []
    /// Per record of the batch, whether an indicator matched (parallel path, indicators loaded).
    private var indicatorMatched: [Bool] = []
    /// Records per chunk the pool's threads take for parsing and inference
    /// (a model batch this size loses little to a full one), and for formatting.
    static let inferenceChunk = 64
    static let formatChunk = 32

    package init(context: EveContext, scoring: ScoringStage?, outputs: any RecordOutputs,
                 behaviour: BehaviourStage? = nil, indicators: IndicatorSet? = nil) {
        self.scoring = scoring
        self.outputs = outputs
        self.behaviour = behaviour
        self.indicators = indicators
        behaviour?.communityIDSeed = context.communityIDSeed
        flowFormatter = EveFlowFormatter(context: context)
        alertFormatter = EveAlertFormatter(context: context, modelVersion: scoring?.model.meta.modelVersion ?? "")
    }

    deinit { pool?.shutdown() }

    /// Threads the order-independent work of a batch runs on (the calling
    /// thread counts as one).
    package var threads: Int { pool?.width ?? 1 }

    /// Spreads each batch's order-independent work over `n` threads (the
    /// calling thread and n − 1 workers); 1 keeps everything on the calling
    /// thread. Call before the first batch.
    package func useThreads(_ n: Int) {
        pool?.shutdown()
        pool = nil
        formatChunks = []
        guard n > 1 else { return }
        let p = WorkerPool(width: n)
        pool = p
        scoring?.prepareThreads(p.width)
    }

    /// Scores and writes one batch, then empties it. A closing alert due
    /// before record i (its key's next alert folded nothing more, or the
    /// flow time moved two intervals past it) is written before record i's
    /// alert; the ones due after the batch follow its last record's.
    package func write(_ batch: RecordBatch) {
        guard !batch.isEmpty else { return }
        let tagged = !batch.files.isEmpty
        if tagged {
            sources.removeAll(keepingCapacity: true)
            for f in batch.files {
                if files.last != f { files.append(f) }
                sources.append(Int32(files.count - 1))
            }
        }
        behaviour?.observe(batch)
        // A batch of one chunk stays on this thread: waking another costs more.
        let parallel = pool != nil && batch.count > Self.formatChunk
        let inferenceChunks = WorkerPool.chunks(count: batch.count, chunkSize: Self.inferenceChunk)
        if parallel {
            resolveAndInferInParallel(batch, chunks: inferenceChunks)
        } else {
            // The application layer is parsed here, off the capture path, before scoring reads its features.
            for i in batch.records.indices { batch.records[i].resolveAppLayer() }
        }
        if let scoring {
            syncModelVersion(scoring)
            // batch.records is used in place: a second reference to its
            // storage would make emptying it below copy.
            if parallel {
                scoring.judgeChunks(inferenceChunks, batch.records, sources: tagged ? sources : nil, behaviour: batch.behaviour,
                                   examples: batch.examples, into: &scored)
            } else {
                scoring.score(batch.records, sources: tagged ? sources : nil, behaviour: batch.behaviour,
                              examples: batch.examples, into: &scored)
            }
        }
        let flowsOut = outputs.wants(.flow), alertsOut = outputs.wants(.alert)
        let eachRecord = outputs.writesEachRecord
        // Flow records formatted ahead by the pool, taken in order below (false: formatted in the loop).
        let formatted = parallel && flowsOut
        if formatted { formatFlowsInParallel(batch) }
        var chunk = 0, inChunk = 0, chunkEnd = formatted ? formatChunks[0].ends.count : 0
        flowJSON.reset()
        alertJSON.reset()
        var flows = 0, alerts = 0
        var c = 0
        // Records are read in place (a class property's element passed by
        // value would be copied, ~2 KB and its references retained, per use).
        batch.records.withUnsafeBufferPointer { recs in
            // The verdicts too (a copy of one retains its strings).
            scored.withUnsafeBufferPointer { verdicts in
                for i in recs.indices {
                    appLayer.count(recs[i])
                    if let scoring, !scoring.closing.isEmpty { alerts += appendClosing(scoring, &c, before: i) }
                    if tagged && flowFormatter.context.pcapFilename != batch.files[i] {
                        // Encoded once per file, not per record.
                        flowFormatter.context.pcapFilename = batch.files[i]
                        alertFormatter.context.pcapFilename = batch.files[i]
                    }
                    let values = i < batch.behaviour.count ? batch.behaviour[i] : nil
                    var matched = false
                    // (Formatted ahead: the records without a match are known already.)
                    if let set = indicators, !formatted || indicatorMatched[i] {
                        set.match(src: recs[i].srcIP, dst: recs[i].dstIP, app: recs[i].app, into: &hits)
                        if !hits.isEmpty {
                            matched = true
                            indicatorCounters.flowsMatched &+= 1
                            for h in hits { indicatorCounters.hits[Int(h.meta.kind.rawValue)] &+= 1 }
                        }
                    }
                    if let ap = alertPcap {
                        let alerting = alertsOut && (matched || scoring.map { _ in verdicts[i].alerted || !verdicts[i].behaviourAlerts.isEmpty } ?? false)
                        let written = ap.writer.write(recs[i], alerting: alerting, rings: ap.rings)
                        alertFormatter.capture = written.capture
                        flowFormatter.capture = written.afterAlert ? written.capture : nil
                    }
                    if formatted {
                        // Record i is the next one of its chunk.
                        while inChunk == chunkEnd { chunk += 1; inChunk = 0; chunkEnd = formatChunks[chunk].ends.count }
                        if eachRecord {
                            let fc = formatChunks[chunk]
                            flowJSON.bytes.append(contentsOf: fc.json.bytes[(inChunk == 0 ? 0 : fc.ends[inChunk - 1])..<fc.ends[inChunk]])
                            flows += 1
                            writeFlows(&flows)
                        }
                        inChunk += 1
                    }
                    if let scoring {
                        let s = verdicts.baseAddress.unsafelyUnwrapped + i
                        if flowsOut && !formatted {
                            flowFormatter.append(recs[i], verdict: { writeVerdictSummary(s.pointee, into: &$0) },
                                                 behaviour: values, alerted: s.pointee.alerted || !s.pointee.behaviourAlerts.isEmpty || matched,
                                                 into: &flowJSON)
                            flows += 1
                            if eachRecord { writeFlows(&flows) }
                        }
                        if alertsOut && s.pointee.alerted {
                            alertFormatter.append(recs[i], s.pointee, into: &alertJSON)
                            alerts += 1
                            if eachRecord { writeAlerts(&alerts) }
                        }
                        for b in s.pointee.behaviourAlerts where alertsOut {
                            alertFormatter.appendBehaviour(recs[i], b, severity: b.severity,
                                                           windowSeconds: scoring.behaviourWindowSeconds, into: &alertJSON)
                            alerts += 1
                            if eachRecord { writeAlerts(&alerts) }
                        }
                    } else if flowsOut && !formatted {
                        flowFormatter.append(recs[i], behaviour: values, alerted: matched, into: &flowJSON)
                        flows += 1
                        if eachRecord { writeFlows(&flows) }
                    }
                    if matched && alertsOut, let set = indicators {
                        for h in hits {
                            alertFormatter.appendIndicator(recs[i], h, in: set, into: &alertJSON)
                            alerts += 1
                            if eachRecord { writeAlerts(&alerts) }
                        }
                    }
                    alertFormatter.capture = nil
                }
            }
        }
        if let ap = alertPcap {
            for i in batch.records.indices where !batch.records[i].packetRing.isEmpty { ap.rings.release(batch.records[i].packetRing) }
        }
        if let scoring, !scoring.closing.isEmpty || !scoring.behaviourClosing.isEmpty {
            alerts += appendClosing(scoring, &c, before: nil)
            alerts += appendBehaviourClosing(scoring)
            scoring.clearClosing()
        }
        if formatted && !eachRecord {
            // The batch's flow records, chunk by chunk in order, before its alerts (as one thread writes them).
            for c in 0..<WorkerPool.chunks(count: batch.count, chunkSize: Self.formatChunk) {
                outputs.write(.flow, formatChunks[c].json.bytes, records: formatChunks[c].ends.count)
            }
        }
        writeFlows(&flows)
        writeAlerts(&alerts)
        if notesLatency, let scoring {
            var ts = timespec()
            clock_gettime(CLOCK_REALTIME, &ts)
            scoring.noteWritten(batch.records, nowNs: Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec))
        }
        batch.removeAll()
    }

    /// Parses each record's application layer and runs the models' inference
    /// (when scoring) on the pool, each thread on its share of the records.
    private func resolveAndInferInParallel(_ batch: RecordBatch, chunks: Int) {
        guard let pool else { return }
        let scoring = self.scoring
        scoring?.prepareChunks(chunks)
        batch.records.withUnsafeMutableBufferPointer { recs in
            let recs = recs
            pool.run(count: recs.count, chunkSize: Self.inferenceChunk) { thread, chunk, range in
                for i in range { recs[i].resolveAppLayer() }
                scoring?.infer(thread: thread, chunk: chunk, records: UnsafeBufferPointer(recs), range: range)
            }
        }
    }

    /// Formats the batch's flow records on the pool into `formatChunks`,
    /// each chunk's records in order, exactly as the one-thread loop would
    /// (the indicator matches, needed for `alerted`, are found first, in order).
    private func formatFlowsInParallel(_ batch: RecordBatch) {
        guard let pool else { return }
        let chunks = WorkerPool.chunks(count: batch.count, chunkSize: Self.formatChunk)
        while formatChunks.count < chunks { formatChunks.append(FlowFormatChunk(flowFormatter)) }
        indicatorMatched.removeAll(keepingCapacity: true)
        if let set = indicators {
            for i in batch.records.indices {
                set.match(src: batch.records[i].srcIP, dst: batch.records[i].dstIP, app: batch.records[i].app, into: &hits)
                indicatorMatched.append(!hits.isEmpty)
            }
        }
        let scored = scoring == nil ? nil : self.scored
        let matched = indicatorMatched, values = batch.behaviour, files = batch.files
        let formatChunks = self.formatChunks
        batch.records.withUnsafeBufferPointer { recs in
            pool.run(count: recs.count, chunkSize: Self.formatChunk) { _, chunk, range in
                let fp = formatChunks[chunk]
                fp.json.reset()
                fp.ends.removeAll(keepingCapacity: true)
                for i in range {
                    if !files.isEmpty && fp.formatter.context.pcapFilename != files[i] {
                        fp.formatter.context.pcapFilename = files[i]
                    }
                    let v = i < values.count ? values[i] : nil
                    let m = !matched.isEmpty && matched[i]
                    if let scored {
                        let s = scored[i]
                        fp.formatter.append(recs[i], verdict: { writeVerdictSummary(s, into: &$0) }, behaviour: v,
                                            alerted: s.alerted || !s.behaviourAlerts.isEmpty || m, into: &fp.json)
                    } else {
                        fp.formatter.append(recs[i], behaviour: v, alerted: m, into: &fp.json)
                    }
                    fp.ends.append(fp.json.bytes.count)
                }
            }
        }
    }

    /// After a live expiry sweep: keys quiet for two intervals at flow time
    /// `nowNs` (every flow that ended before it has been written) get their
    /// closing alerts.
    package func sweep(nowNs: Int64) {
        guard let scoring else { return }
        scoring.expire(nowNs: nowNs)
        writeClosing(scoring)
    }

    /// End of input or shutdown, after the last batch: every key with folded
    /// flows gets its closing alert. The outputs are not flushed here.
    package func finish() {
        guard let scoring else { return }
        scoring.finish()
        writeClosing(scoring)
    }

    /// Swaps in a new model and policy (SIGUSR2; both already validated).
    /// The keys pending under the old model are closed; their alerts go out
    /// with the next batch or sweep.
    package func reload(model: EnsembleModel, policy: Policy) {
        scoring?.reload(model: model, policy: policy)
    }

    /// Swaps in a new indicator set (SIGUSR2; already loaded and checked).
    package func reloadIndicators(_ set: IndicatorSet?) { indicators = set }

    /// The `scoring {…}` object of stats records (nothing without scoring),
    /// the behaviour table's, and `indicators {…}` when a set is loaded.
    package func appendStats(into j: inout JSONBuffer) {
        scoring?.appendStats(into: &j)
        scoring?.drift?.appendStats(into: &j)
        behaviour?.appendStats(into: &j)
        if let set = indicators { appendIndicatorStats(set, into: &j) }
    }

    /// `indicators {loaded, flows_matched, hits {kind: n}}`.
    private func appendIndicatorStats(_ set: IndicatorSet, into j: inout JSONBuffer) {
        j.key("indicators"); j.beginObject()
        j.key("loaded"); j.int(set.count)
        j.key("flows_matched"); j.uint(indicatorCounters.flowsMatched)
        j.key("hits"); j.beginObject()
        for k in IndicatorKind.allCases where indicatorCounters.hits[Int(k.rawValue)] > 0 {
            j.key(k.name); j.uint(indicatorCounters.hits[Int(k.rawValue)])
        }
        j.endObject()
        j.endObject()
    }

    /// Hands the `n` flow records formatted so far to the flows log.
    private func writeFlows(_ n: inout Int) {
        guard n > 0 else { return }
        outputs.write(.flow, flowJSON.bytes, records: n)
        flowJSON.reset()
        n = 0
    }

    /// Hands the `n` alerts formatted so far to the alerts log.
    private func writeAlerts(_ n: inout Int) {
        guard n > 0 else { return }
        outputs.write(.alert, alertJSON.bytes, records: n)
        alertJSON.reset()
        n = 0
    }

    private func syncModelVersion(_ scoring: ScoringStage) {
        let v = scoring.model.meta.modelVersion
        if alertFormatter.modelVersion != v { alertFormatter.modelVersion = v }
        let c = scoring.policy.categories
        if alertFormatter.categories != c { alertFormatter.categories = c }
    }

    /// Writes every pending closing alert on its own.
    private func writeClosing(_ scoring: ScoringStage) {
        guard !scoring.closing.isEmpty || !scoring.behaviourClosing.isEmpty else { return }
        syncModelVersion(scoring)
        alertJSON.reset()
        var c = 0
        var n = appendClosing(scoring, &c, before: nil)
        n += appendBehaviourClosing(scoring)
        scoring.clearClosing()
        writeAlerts(&n)
    }

    /// Formats the pending behaviour closing lines; returns how many wait in `alertJSON`.
    private func appendBehaviourClosing(_ scoring: ScoringStage) -> Int {
        guard outputs.wants(.alert) else { return 0 }
        for b in scoring.behaviourClosing {
            if !files.isEmpty {
                let f = Int(b.last.source)
                alertFormatter.context.pcapFilename = f < files.count ? files[f] : nil
            }
            alertFormatter.appendBehaviourClosing(b, windowSeconds: scoring.behaviourWindowSeconds, into: &alertJSON)
            if outputs.writesEachRecord { var one = 1; writeAlerts(&one) }
        }
        if !files.isEmpty { alertFormatter.context.pcapFilename = flowFormatter.context.pcapFilename }
        return outputs.writesEachRecord ? 0 : scoring.behaviourClosing.count
    }

    /// Formats the closing alerts from `c` on that are due before record
    /// `position` (all of them when nil); returns how many wait in
    /// `alertJSON` to be written (none without an alerts log, nor when
    /// each record is written at once).
    private func appendClosing(_ scoring: ScoringStage, _ c: inout Int, before position: Int?) -> Int {
        let closing = scoring.closing
        let start = c
        let formatting = outputs.wants(.alert)
        while c < closing.count && (position.map { closing[c].position <= $0 } ?? true) {
            if formatting {
                if !files.isEmpty {
                    let f = Int(closing[c].flow.source)
                    alertFormatter.context.pcapFilename = f < files.count ? files[f] : nil
                }
                alertFormatter.appendClosing(closing[c], into: &alertJSON)
                if outputs.writesEachRecord { var one = 1; writeAlerts(&one) }
            }
            c += 1
        }
        if !files.isEmpty && c > start { alertFormatter.context.pcapFilename = flowFormatter.context.pcapFilename }
        return formatting && !outputs.writesEachRecord ? c - start : 0
    }
}

/// One chunk's flow formatting: its formatter (the writer's, with the
/// capture file name of its records) and the records it formatted, one
/// after another in `json`, record k ending at `ends[k]`. Owned by the
/// thread that took the chunk inside `WorkerPool.run`, by the writer's
/// thread otherwise; kept from batch to batch (no allocation once grown).
final class FlowFormatChunk: @unchecked Sendable {
    var formatter: EveFlowFormatter
    var json = JSONBuffer(reserve: RecordWriter.formatChunk * 2048)
    var ends: [Int] = []

    init(_ formatter: EveFlowFormatter) {
        self.formatter = formatter
        ends.reserveCapacity(RecordWriter.formatChunk)
    }
}

/// `replay`'s outputs: the flows and alerts files, with the first write
/// error kept (replay reports it after the summary and exits 1).
package final class ReplayOutputs: RecordOutputs {
    package let flows: OutputFile?
    package let alerts: OutputFile?
    package private(set) var firstError: OutputError?

    package init(flows: OutputFile?, alerts: OutputFile?) {
        self.flows = flows
        self.alerts = alerts
    }

    package var writesEachRecord: Bool { true }

    package func write(_ file: OutputFile?, _ bytes: [UInt8], records: Int) {
        guard let file else { return }
        do { try file.write(bytes, records: records) } catch { keep(error) }
    }

    /// Hands what is buffered to the kernel (the flows file first; a failure
    /// there leaves the alerts file to its deinit).
    package func flush() {
        do { try flows?.flush(); try alerts?.flush() } catch { keep(error) }
    }

    private func keep(_ e: OutputError) { if firstError == nil { firstError = e } }
}
