import Alerts
import Capture
import Decoding
import Detection
import Flows
import Indicators
import Locking
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The live sensor: N capture threads feeding one shared `FlowTable`, a
/// bounded queue of ended flow records, and one output thread that hands
/// them to the `RecordWriter` (scoring, alerts, EVE lines), expires idle
/// flows (on the wall clock, held back to a busy worker's packet time),
/// writes stats records and pings the systemd watchdog.
///
/// ```
/// worker 0: LiveCapture → decode → table.process ─┐
/// worker 1: LiveCapture → decode → table.process ─┼→ BoundedQueue<FlowRecord> → output thread → RecordWriter → files
///                                  table.expire(now: wall clock) every 0.5 s ──┘ (output thread)
/// ```
///
/// A service in the ServiceLifecycle sense, on threads: `init` (validates,
/// opens the log files, loads the model) → `start()` (opens every capture
/// handle, then READY=1) → `stop()` from any thread or a signal (graceful
/// shutdown: every open flow is written, the files synced) → `wait()`.
/// `run(signals:)` does all of it under SIGTERM/SIGINT/SIGHUP/SIGUSR2.
/// The jobs live in `LiveCaptureWorker` and `LiveOutputLoop`.
package final class LiveSensor: @unchecked Sendable {
    package let config: SensorConfig
    package let interface: String
    package let filter: String?
    package let table: FlowTable
    package let queue: BoundedQueue<FlowRecord>
    package let outputs: OutputFiles
    package let notify: SystemdNotify
    package let log: @Sendable (String) -> Void
    package let eveContext: EveContext
    /// Scores (when a model was loaded), formats and writes every batch of records.
    package let writer: RecordWriter
    /// Where SIGUSR2 reloads the model and policy from; nil without scoring.
    package let modelSource: ModelSource?

    /// The Prometheus endpoint to refresh once a second; set before `start()`.
    package var metrics: MetricsEndpoint?
    /// Seconds between wall-clock expiry sweeps.
    package var expireInterval: Double = 0.5
    /// Seconds between attempts to reopen a vanished/down interface.
    package var reopenInterval: Double = 0.5

    /// Observation points for tests; set before `start()`, nil in the product.
    package struct TestHooks {
        /// Every decoded packet with the index of the worker that read it (capture threads).
        package var onPacket: (@Sendable (Int, DecodedPacket) -> Void)?
        /// Before each batch of this many records is written (output thread).
        package var onBatch: ((Int) -> Void)?
        /// After each expiry sweep (`final` false) and once at shutdown after
        /// the last records and closing alerts (`final` true), with the flow
        /// time by which every flow that ended before it has been written
        /// (output thread).
        package var onSweep: ((_ nowNs: Int64, _ final: Bool) -> Void)?
        package init() {}
    }
    package var testHooks = TestHooks()

    private let stopping = Atomic<Bool>(false)
    let captureDone = Atomic<Bool>(false)
    let reopenRequested = Atomic<Bool>(false)
    let reloadRequested = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)
    private let handles: FSMutex<[LiveCapture?]>
    let counters: [WorkerSlot]
    private var threads: [pthread_t] = []
    private var outputThread: pthread_t?
    private var startMono: Double = 0
    private let lifecycle = FSMutex<Int>(0)  // 0 new, 1 started, 2 waited
    private let finalStats = FSMutex<SensorStats?>(nil)

    package static let stderrLog: @Sendable (String) -> Void = { msg in
        var s = msg.hasSuffix("\n") ? msg : msg + "\n"
        s.withUTF8 { buf in _ = Glibc.write(2, buf.baseAddress, buf.count) }
    }

    /// Validates `config`, reads the filter file, opens the log files
    /// (append, never truncated), allocates the flow table and, given
    /// `scoring`, loads the model and policy (a bad bundle stops the start,
    /// before any packet).
    package init(config: SensorConfig, scoring: ModelSource? = nil, notify: SystemdNotify = SystemdNotify(socketPath: nil),
                log: @escaping @Sendable (String) -> Void = LiveSensor.stderrLog) throws {
        try config.validate()
        self.config = config
        self.interface = config.interface!
        self.filter = try config.resolvedFilter()
        self.notify = notify
        self.log = log
        do {
            outputs = try OutputFiles(alerts: config.outputPath(config.alerts), flows: config.outputPath(config.flows),
                                      stats: config.outputPath(config.stats), mode: config.fileMode,
                                      network: config.networkOutputs, queueRecords: config.fileQueueRecords,
                                      queueBytes: config.fileQueueBytes, log: log)
        } catch {
            throw SensorConfigError(file: nil, key: nil, reason: error.description)
        }
        table = FlowTable(config: config.flow)
        queue = BoundedQueue(capacity: config.queueCapacity)
        handles = FSMutex(Array(repeating: nil, count: config.workers))
        counters = (0..<config.workers).map { _ in WorkerSlot() }
        var ctx = EveContext()
        ctx.host = config.sensorName
        ctx.inIface = config.interface
        ctx.communityIDSeed = config.communityIDSeed
        ctx.flowDetail = config.flowDetail
        eveContext = ctx
        var stage: ScoringStage?
        if let scoring {
            let (m, p, what) = try scoring.loadDescribed()
            stage = ScoringStage(model: m, policy: p, behaviourWindowSeconds: config.behaviour.windowSeconds)
            stage?.evidenceGate = config.evidenceGate
            log("flowsentry: scoring with \(what)")
            if config.drift.enabled && stage?.enableDrift(config.drift) == false {
                log("flowsentry: input drift not followed: the bundle has no \"\(DriftReference.section)\" section (docs/drift.md)")
            }
        }
        modelSource = scoring
        var indicators: IndicatorSet?
        if !config.indicatorFiles.isEmpty {
            do throws(IndicatorLoadError) {
                indicators = try IndicatorSet.load(paths: config.indicatorFiles)
            } catch {
                throw SensorConfigError(file: nil, key: "detection.indicators", reason: "\n" + error.description)
            }
            log("flowsentry: " + indicators!.summary)
        }
        writer = RecordWriter(context: ctx, scoring: stage, outputs: outputs,
                              behaviour: BehaviourStage(config: config.behaviour), indicators: indicators)
        writer.notesLatency = true
        // The capture workers keep their cores busy: the output thread and its helpers get the others.
        writer.useThreads(config.outputThreads ?? max(1, WorkerPool.availableCores - config.workers))
        if var ap = config.alertPcap {
            guard config.alerts != nil else {
                throw SensorConfigError(file: nil, key: "outputs.alert_pcap", reason: "writes the packets of alerts: give outputs.alerts (or --alerts) too")
            }
            ap.directory = config.outputPath(ap.directory) ?? ap.directory
            try attachAlertPcap(ap, table: table, writer: writer)
        }
    }

    var captureOptions: LiveCaptureOptions {
        var o = LiveCaptureOptions()
        o.snaplen = Int32(config.snaplen)
        o.promiscuous = config.promiscuous
        o.timeoutMs = Int32(config.timeoutMs)
        o.bufferSize = Int32(config.bufferMB) << 20
        o.filter = filter
        if config.workers > 1 { o.fanout = (UInt16(config.fanoutGroup), .hash) }
        return o
    }

    func openHandle() throws(LiveCaptureError) -> LiveCapture {
        let opts = captureOptions
        let iface = interface
        return try pcapOpenLock.withLock { _ throws(LiveCaptureError) -> LiveCapture in
            try LiveCapture(interface: iface, options: opts)
        }
    }

    /// Forgets worker `index`'s handle (it failed).
    func setHandle(_ c: LiveCapture?, at index: Int) {
        handles.withLock { $0[index] = c }
    }

    /// Registers worker `index`'s reopened handle, so `stop()` can break its
    /// loop; false (not registered) once the sensor is stopping.
    func registerHandle(_ c: LiveCapture, at index: Int) -> Bool {
        handles.withLock { h -> Bool in
            if stopping.load(ordering: .acquiring) { return false }
            h[index] = c
            return true
        }
    }

    func setFinalStats(_ s: SensorStats) { finalStats.withLock { $0 = s } }

    /// Opens every capture handle (one after another; joined to one fanout
    /// group when workers > 1), starts the threads, then sends READY=1.
    /// Errors opening the interface at start are returned, not retried.
    package func start() throws(LiveCaptureError) {
        let first = lifecycle.withLock { s -> Bool in
            if s != 0 { return false }
            s = 1
            return true
        }
        precondition(first, "LiveSensor.start() called twice")
        startMono = monotonicSeconds()
        if config.warnOffloads, let o = try? InterfaceInfo.offloads(interface: interface),
           let w = o.warning(interface: interface) {
            log("flowsentry: warning: \(w)")
        }
        var opened: [LiveCapture] = []
        for _ in 0..<config.workers {
            let c = try openHandle()
            for w in c.warnings { log("flowsentry: \(w)") }
            opened.append(c)
        }
        handles.withLock { h in for (i, c) in opened.enumerated() { h[i] = c } }
        let loop = LiveOutputLoop(sensor: self)
        outputs.startNetwork()
        outputThread = spawnThread(name: "fs-output") { loop.run() }
        for (i, c) in opened.enumerated() {
            let worker = LiveCaptureWorker(index: i, sensor: self), cap = c
            threads.append(spawnThread(name: "fs-capture-\(i)") { worker.run(initial: cap) })
        }
        var msg = "flowsentry: capturing on \(interface) (\(opened[0].linkTypeName)) with \(config.workers) worker"
        msg += config.workers == 1 ? "" : "s in fanout group \(config.fanoutGroup) (hash, defrag)"
        if let f = filter { msg += ", filter '\(f)'" }
        log(msg)
        notify.send("READY=1\nSTATUS=capturing on \(interface)")
    }

    /// Asks the sensor to stop: capture ends (breakLoop on every handle), the
    /// output thread writes every open flow with reason `shutdown`, flushes
    /// and fsyncs. Safe from any thread; idempotent. Returns immediately.
    package func stop() {
        if stopping.exchange(true, ordering: .acquiringAndReleasing) { return }
        notify.send("STOPPING=1")
        handles.withLock { h in for c in h { c?.breakLoop() } }
        queue.wake()
    }

    package var isStopping: Bool { stopping.load(ordering: .acquiring) }
    /// `isStopping` for the capture loop's per-packet check.
    var isStoppingRelaxed: Bool { stopping.load(ordering: .relaxed) }
    /// True once `wait()` has everything written.
    package var isFinished: Bool { finished.load(ordering: .acquiring) }

    /// Reopens every log file by name (after rename rotation), on the output thread.
    package func reopenLogs() {
        reopenRequested.store(true, ordering: .releasing)
        queue.wake()
    }

    /// Loads the model and policy again from `modelSource`, and the
    /// indicator files, on the output thread (SIGUSR2); a bad bundle or
    /// indicator file is rejected and the running one stays.
    package func requestReload() {
        reloadRequested.store(true, ordering: .releasing)
        queue.wake()
    }

    /// Waits for the threads to end after `stop()` and returns the final stats.
    @discardableResult
    package func wait() -> SensorStats {
        for t in threads { pthread_join(t, nil) }
        threads = []
        captureDone.store(true, ordering: .releasing)
        queue.wake()
        if let t = outputThread { pthread_join(t, nil); outputThread = nil }
        handles.withLock { h in for i in h.indices { h[i] = nil } }
        finished.store(true, ordering: .releasing)
        return finalStats.withLock { $0 } ?? snapshot()
    }

    /// Current counters (any thread). Kernel counters are as of the last
    /// per-second poll of each handle.
    package func snapshot() -> SensorStats {
        var s = SensorStats()
        s.uptimeSeconds = startMono == 0 ? 0 : monotonicSeconds() - startMono
        s.workers.reserveCapacity(counters.count)
        for c in counters {
            let w = c.value.withLock { $0 }
            var one = SensorStats.Worker()
            one.packets = w.packets; one.bytes = w.bytes; one.decoded = w.decoded
            one.kernel = w.kernel; one.reopens = w.reopens
            s.workers.append(one)
            s.packets &+= w.packets
            s.decoded &+= w.decoded
            s.bytes &+= w.bytes
            s.anomalies.merge(w.anomalies)
            s.kernel.received &+= w.kernel.received
            s.kernel.dropped &+= w.kernel.dropped
            s.kernel.ifDropped &+= w.kernel.ifDropped
            s.reopens &+= w.reopens
        }
        s.flowsActive = table.activeFlows
        s.flows = table.counters
        s.memcapBytes = UInt64(table.config.maxFlows) * UInt64(FlowTable.bytesPerFlowSlot)
        s.queueDepth = queue.depth
        s.queueCapacity = queue.capacity
        s.queueOverflow = queue.overflow
        s.recordsWritten = outputs.recordsWritten
        s.writeErrors = outputs.writeErrors
        s.recordsDropped = outputs.recordsDropped
        s.recordsPending = outputs.recordsPending
        s.outputs = outputs.perOutput
        return s
    }

    /// The time expiry sweeps use: the wall clock, except that a worker busy
    /// with packets (it had some within the last 200 ms) holds it back to its
    /// latest packet's timestamp, as Suricata's flow manager follows its
    /// slowest thread's packet time. A capture thread that falls behind (a
    /// burst, a stall, a slow machine) then cannot have the sweep end its
    /// flows before their packets were counted (it split flows, and shifted
    /// the host context from what offline replay of the same packets gives);
    /// an idle link still expires on the wall clock. Never goes backwards.
    func sweepClock(wall: Int64, last: inout Int64) -> Int64 {
        let workers = counters.map { (busyAtNs: $0.busyAtNs.load(ordering: .relaxed),
                                      lastPacketNs: $0.lastPacketNs.load(ordering: .relaxed)) }
        return Self.sweepClock(wall: wall, workers: workers, last: &last)
    }

    /// `sweepClock` from each worker's (wall time it was last busy, latest
    /// packet timestamp); 0 = never.
    package static func sweepClock(wall: Int64, workers: [(busyAtNs: Int64, lastPacketNs: Int64)], last: inout Int64) -> Int64 {
        var t = wall
        for w in workers {
            if w.busyAtNs == 0 || wall - w.busyAtNs > 200_000_000 { continue }  // idle: the wall clock
            if w.lastPacketNs > 0 { t = min(t, w.lastPacketNs) }
        }
        t = max(t, last)
        last = t
        return t
    }

    static func wallClockNs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
