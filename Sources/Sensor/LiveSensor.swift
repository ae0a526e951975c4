import Alerts
import Capture
import Decoding
import Flows
import Locking
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// libpcap's filter compiler is not thread-safe: every open (and the BPF
/// compile inside it) happens under this lock, one handle after another.
let pcapOpenLock = FSMutex<Int>(0)

/// What one capture worker publishes (about once a second) for stats.
struct WorkerCounters: Sendable {
    var packets: UInt64 = 0
    var decoded: UInt64 = 0
    var bytes: UInt64 = 0
    var anomalies = AnomalyCounters()
    var kernel = CaptureStats()
    var reopens: UInt64 = 0
}

final class WorkerSlot: Sendable {
    let value = FSMutex(WorkerCounters())
    /// The timestamp of the worker's latest packet, and the wall clock (ns)
    /// when it last had packets to work on (checked every 32 packets): the
    /// expiry clock follows a busy worker's packet time (see `sweepClock`).
    let lastPacketNs = Atomic<Int64>(0)
    let busyAtNs = Atomic<Int64>(0)
}

/// The live sensor: N capture threads feeding one shared `FlowTable`, a
/// bounded queue of ended flow records, and one output thread that formats
/// and writes them, expires idle flows (on the wall clock, held back to a busy worker's packet time), writes stats
/// records and pings the systemd watchdog.
///
/// ```
/// worker 0: LiveCapture → decode → table.process ─┐
/// worker 1: LiveCapture → decode → table.process ─┼→ BoundedQueue<FlowRecord> → output thread → onRecords → files
///                                  table.expire(now: wall clock) every 0.5 s ──┘ (output thread)
/// ```
///
/// Use: `init` (validates, opens the log files) → set `onRecords` /
/// `onReload` → `start()` (opens every capture handle, then READY=1) →
/// `stop()` from any thread (or a signal) → `wait()`.
package final class LiveSensor: @unchecked Sendable {
    /// Called on the output thread with each batch of ended flow records.
    /// The default writes EVE flow records to `outputs.flows`. Scoring and
    /// alerts plug in here (write alerts to `outputs.alerts`).
    package typealias RecordHandler = (inout [FlowRecord], inout JSONBuffer, OutputFiles) -> Void
    /// Called on the output thread after each expiry sweep (`final` false)
    /// with a flow time by which every flow that ended before it has been
    /// handed to `onRecords`: the sweep's wall clock minus the longest idle
    /// timeout. Once more at shutdown after the last records were handled
    /// (`final` true). The scoring stage writes closing alerts here.
    package typealias SweepHandler = (_ nowNs: Int64, _ final: Bool, OutputFiles) -> Void

    package let config: SensorConfig
    package let interface: String
    package let filter: String?
    package let table: FlowTable
    package let queue: BoundedQueue<FlowRecord>
    package let outputs: OutputFiles
    package let notify: SystemdNotify
    package let log: @Sendable (String) -> Void
    package let eveContext: EveContext

    /// Set before `start()`.
    package var onRecords: RecordHandler
    /// Set before `start()`; see `SweepHandler`.
    package var onSweep: SweepHandler?
    /// Called on the output thread for SIGUSR2 (between RELOADING=1 and READY=1).
    package var onReload: (() -> Void)?
    /// Adds fields to each stats record (the scoring stage's counters); runs on the output thread.
    package var statsExtra: ((inout JSONBuffer) -> Void)?
    /// Called once a second on the output thread with a fresh snapshot (metrics endpoint).
    package var onTick: ((SensorStats) -> Void)?
    /// Test hook: every decoded packet with the index of the worker that read it.
    package var onPacket: (@Sendable (Int, DecodedPacket) -> Void)?
    /// Seconds between wall-clock expiry sweeps.
    package var expireInterval: Double = 0.5
    /// Seconds between attempts to reopen a vanished/down interface.
    package var reopenInterval: Double = 0.5

    private let stopping = Atomic<Bool>(false)
    private let captureDone = Atomic<Bool>(false)
    private let reopenRequested = Atomic<Bool>(false)
    private let reloadRequested = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)
    private let handles: FSMutex<[LiveCapture?]>
    private let counters: [WorkerSlot]
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
    /// (append, never truncated) and allocates the flow table.
    package init(config: SensorConfig, notify: SystemdNotify = SystemdNotify(socketPath: nil),
                log: @escaping @Sendable (String) -> Void = LiveSensor.stderrLog) throws(SensorConfigError) {
        try config.validate()
        self.config = config
        self.interface = config.interface!
        self.filter = try config.resolvedFilter()
        self.notify = notify
        self.log = log
        do {
            outputs = try OutputFiles(alerts: config.outputPath(config.alerts), flows: config.outputPath(config.flows),
                                      stats: config.outputPath(config.stats), mode: config.fileMode, log: log)
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
        ctx.includeSequence = config.includeSequence
        eveContext = ctx
        onRecords = LiveSensor.flowRecordWriter(context: ctx)
    }

    /// The default output stage: every record as an EVE flow event to `outputs.flows`.
    package static func flowRecordWriter(context: EveContext) -> RecordHandler {
        let formatter = EveFlowFormatter(context: context)
        return { records, json, out in
            guard let flows = out.flows else { return }
            json.reset()
            for r in records { formatter.append(r, into: &json) }
            out.write(flows, json.bytes, records: records.count)
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
        let me = self
        outputThread = spawnThread(name: "fs-output") { me.outputLoop() }
        for (i, c) in opened.enumerated() {
            let cap = c
            threads.append(spawnThread(name: "fs-capture-\(i)") { me.workerLoop(index: i, initial: cap) })
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
    /// True once `wait()` has everything written.
    package var isFinished: Bool { finished.load(ordering: .acquiring) }

    /// Reopens every log file by name (after rename rotation), on the output thread.
    package func reopenLogs() {
        reopenRequested.store(true, ordering: .releasing)
        queue.wake()
    }

    /// Runs `onReload` on the output thread (SIGUSR2).
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
        for c in counters {
            let w = c.value.withLock { $0 }
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
        return s
    }

    /// Most records an expiry sweep or the shutdown flush builds before handing them on.
    static let flushChunk = 4096

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

    // MARK: capture workers

    private func workerLoop(index: Int, initial: LiveCapture) {
        var cap: LiveCapture? = initial
        var decoder = PacketDecoder(linkType: initial.linkType)
        // Packets reach the table one behind the decoder (see PacketPipeline);
        // nothing stays held while the capture is idle, fails or stops.
        var pipe = PacketPipeline()
        var sink = FlowSink(reserve: 256)
        var local = WorkerCounters()
        var kernelBase = CaptureStats()
        var kernelCur = CaptureStats()
        var nextPublish = monotonicSeconds() + 1
        var nextRetry = 0.0
        var lastWarn = -Double.infinity
        var downSince = 0.0
        var sincePoll = 0
        var sawPacket = false
        let slot = counters[index]
        let hook = onPacket

        func publish() {
            local.kernel = CaptureStats(received: kernelBase.received &+ kernelCur.received,
                                        dropped: kernelBase.dropped &+ kernelCur.dropped,
                                        ifDropped: kernelBase.ifDropped &+ kernelCur.ifDropped)
            let snap = local
            counters[index].value.withLock { $0 = snap }
        }

        // After the table has seen a packet (`seen`: it was decoded).
        func after(_ ts: Int64, _ seen: Bool, _ sink: inout FlowSink) {
            guard seen else { return }
            if !sink.isEmpty { queue.push(sink.records); sink.removeAll() }
            slot.lastPacketNs.store(ts, ordering: .relaxed)
            sawPacket = true
        }

        while !stopping.load(ordering: .relaxed) {
            if let c = cap {
                do {
                    if let cp = try c.next() {
                        local.packets &+= 1
                        local.bytes &+= UInt64(cp.wireLength)
                        if cp.linkType != decoder.linkType { decoder = PacketDecoder(linkType: cp.linkType) }
                        let ok = decoder.decode(cp.bytes, wireLength: cp.wireLength, timestampNs: cp.timestampNs,
                                                into: &pipe.current.pointee)
                        if ok {
                            local.decoded &+= 1
                            hook?(index, pipe.current.pointee)
                        } else {
                            local.anomalies.bump(pipe.current.pointee.anomaly)
                        }
                        pipe.step(decoded: ok, bytes: cp.bytes, timestampNs: cp.timestampNs, table: table,
                                  sink: &sink, after: after)
                        sincePoll &+= 1
                        if sincePoll < 32 { continue }
                    } else {
                        pipe.flush(table: table, sink: &sink, after: after)  // idle
                    }
                    sincePoll = 0
                    if sawPacket { slot.busyAtNs.store(Self.wallClockNs(), ordering: .relaxed); sawPacket = false }
                } catch {
                    pipe.flush(table: table, sink: &sink, after: after)
                    if stopping.load(ordering: .relaxed) { break }
                    if let s = try? c.stats() { kernelCur = s }
                    kernelBase = CaptureStats(received: kernelBase.received &+ kernelCur.received,
                                              dropped: kernelBase.dropped &+ kernelCur.dropped,
                                              ifDropped: kernelBase.ifDropped &+ kernelCur.ifDropped)
                    kernelCur = CaptureStats()
                    handles.withLock { $0[index] = nil }
                    cap = nil
                    let now = monotonicSeconds()
                    downSince = now
                    nextRetry = now + reopenInterval
                    if index == 0 || !error.isInterfaceUnavailable {
                        log("flowsentry: warning: worker \(index): \(error); retrying every \(formatFixed(reopenInterval, 1)) s, flow state kept")
                    }
                    lastWarn = now
                    publish()
                    continue
                }
            } else {
                let now = monotonicSeconds()
                if now < nextRetry {
                    usleep(UInt32(min(50_000, max(1_000, (nextRetry - now) * 1e6))))
                    continue
                }
                nextRetry = now + reopenInterval
                do {
                    let c = try openHandle()
                    let registered = handles.withLock { h -> Bool in
                        if stopping.load(ordering: .acquiring) { return false }
                        h[index] = c
                        return true
                    }
                    if !registered { break }
                    cap = c
                    decoder = PacketDecoder(linkType: c.linkType)
                    local.reopens &+= 1
                    if index == 0 || config.workers == 1 {
                        log("flowsentry: \(interface): interface recovered after \(formatFixed(now - downSince, 1)) s (worker \(index) reopened)")
                    }
                } catch {
                    if now - lastWarn >= 30 {
                        lastWarn = now
                        if index == 0 { log("flowsentry: warning: \(interface) still unavailable: \(error)") }
                    }
                }
            }
            let now = monotonicSeconds()
            if now >= nextPublish {
                nextPublish = now + 1
                if let c = cap, let s = try? c.stats() { kernelCur = s }
                publish()
            }
        }
        pipe.flush(table: table, sink: &sink, after: after)
        if let c = cap, let s = try? c.stats() { kernelCur = s }
        publish()
        if !sink.isEmpty { queue.push(sink.records); sink.removeAll() }
    }

    // MARK: output thread

    private func outputLoop() {
        let sweepLagNs = config.flow.longestIdleTimeoutNs
        var batch: [FlowRecord] = []
        let spin = Double(config.outputSpinMicros) * 1e-6
        batch.reserveCapacity(4096)
        var json = JSONBuffer(reserve: 1 << 18)
        var sink = FlowSink(reserve: 1024)
        var lastSweepClock = Int64.min
        let start = monotonicSeconds()
        var nextExpire = start + expireInterval
        var nextStats = start + config.statsInterval
        var nextDropCheck = start + 1
        var nextWatchdog = notify.watchdogInterval.map { start + $0 } ?? Double.infinity
        var lastDrops: UInt64 = 0
        var lastIfDrops: UInt64 = 0
        var dropWarnAt = -Double.infinity
        var unreportedDrops: UInt64 = 0
        var lastOverflow: UInt64 = 0
        var overflowWarnAt = -Double.infinity

        func handle(_ records: inout [FlowRecord]) {
            if records.isEmpty { return }
            onRecords(&records, &json, outputs)
            records.removeAll(keepingCapacity: true)
        }
        var swept: [FlowRecord] = []
        func handle(_ s: inout FlowSink) {
            if s.isEmpty { return }
            swept.append(contentsOf: s.records)
            s.removeAll()
            handle(&swept)
        }

        func writeStats() {
            guard let f = outputs.stats else { return }
            var j = JSONBuffer(reserve: 2048)
            snapshot().appendRecord(timestampNs: Self.wallClockNs(), host: config.sensorName, interface: interface,
                                    extra: statsExtra, into: &j)
            outputs.write(f, j.bytes)
        }

        while true {
            let done = captureDone.load(ordering: .acquiring)
            let now0 = monotonicSeconds()
            let untilTick = min(nextExpire, nextStats, nextDropCheck, nextWatchdog) - now0
            queue.popAll(into: &batch, timeout: done ? 0 : max(0.001, min(0.1, untilTick)), spin: spin)
            handle(&batch)
            if reopenRequested.exchange(false, ordering: .acquiringAndReleasing) {
                outputs.reopenAll()
                log("flowsentry: reopened log files")
            }
            if reloadRequested.exchange(false, ordering: .acquiringAndReleasing) {
                notify.send("RELOADING=1")
                if let r = onReload { r() } else { log("flowsentry: reload requested (no model loaded yet; nothing to reload)") }
                notify.send("READY=1")
            }
            let now = monotonicSeconds()
            if now >= nextExpire {
                let clock = sweepClock(wall: Self.wallClockNs(), last: &lastSweepClock)
                table.expire(now: clock, chunk: Self.flushChunk, sink: &sink) { handle(&$0) }
                handle(&sink)
                onSweep?(clock - sweepLagNs, false, outputs)
                nextExpire = now + expireInterval
            }
            if now >= nextDropCheck {
                nextDropCheck = now + 1
                let s = snapshot()
                onTick?(s)
                if s.kernel.dropped > lastDrops || s.kernel.ifDropped > lastIfDrops {
                    unreportedDrops &+= (s.kernel.dropped - lastDrops) &+ (s.kernel.ifDropped - lastIfDrops)
                    lastDrops = s.kernel.dropped
                    lastIfDrops = s.kernel.ifDropped
                    if now - dropWarnAt >= 10 {
                        dropWarnAt = now
                        log("flowsentry: warning: \(interface): the kernel dropped \(unreportedDrops) packets since the last warning "
                            + "(kernel_drops \(s.kernel.dropped), kernel_ifdrops \(s.kernel.ifDropped), "
                            + formatFixed(s.dropPercent, 2) + "% of kernel_packets); raise capture.buffer_mb, add workers, or filter traffic")
                        unreportedDrops = 0
                    }
                }
                if s.queueOverflow > lastOverflow && now - overflowWarnAt >= 10 {
                    overflowWarnAt = now
                    log("flowsentry: warning: output queue full: \(s.queueOverflow - lastOverflow) flow records dropped (queue_overflow \(s.queueOverflow), capacity \(s.queueCapacity))")
                    lastOverflow = s.queueOverflow
                }
            }
            if now >= nextStats {
                writeStats()
                nextStats = now + config.statsInterval
            }
            if now >= nextWatchdog {
                notify.send("WATCHDOG=1")
                nextWatchdog = now + (notify.watchdogInterval ?? 1)
            }
            outputs.flushAll()
            if done && queue.depth == 0 { break }
        }
        // Shutdown: every open flow, then the final stats, all on disk.
        table.flushAll(reason: .shutdown, chunk: Self.flushChunk, sink: &sink) { handle(&$0) }
        handle(&sink)
        onSweep?(Self.wallClockNs() - sweepLagNs, true, outputs)
        queue.close()
        writeStats()
        outputs.syncAll(final: true)
        finalStats.withLock { $0 = snapshot() }
    }
}
