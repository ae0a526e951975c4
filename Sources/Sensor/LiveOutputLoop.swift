import Alerts
import Flows
import Indicators
#if canImport(Glibc)
import Glibc
#endif

/// When each periodic job of the output loop is next due (monotonic seconds).
struct OutputSchedule {
    var expire: Double
    var stats: Double
    var dropCheck: Double
    var watchdog: Double

    var next: Double { min(expire, stats, dropCheck, watchdog) }
}

/// Warnings about packets the kernel dropped and records the output queue
/// dropped: at most one of each per 10 s, each with the count since the last.
struct DropWarnings {
    var lastDrops: UInt64 = 0
    var lastIfDrops: UInt64 = 0
    var unreportedDrops: UInt64 = 0
    var dropWarnedAt = -Double.infinity
    var lastOverflow: UInt64 = 0
    var overflowWarnedAt = -Double.infinity

    /// The warnings due at monotonic time `now` given the counters `s`.
    mutating func check(_ s: SensorStats, now: Double, interface: String) -> [String] {
        var out: [String] = []
        if s.kernel.dropped > lastDrops || s.kernel.ifDropped > lastIfDrops {
            unreportedDrops &+= (s.kernel.dropped - lastDrops) &+ (s.kernel.ifDropped - lastIfDrops)
            lastDrops = s.kernel.dropped
            lastIfDrops = s.kernel.ifDropped
            if now - dropWarnedAt >= 10 {
                dropWarnedAt = now
                out.append("flowsentry: warning: \(interface): the kernel dropped \(unreportedDrops) packets since the last warning "
                           + "(kernel_drops \(s.kernel.dropped), kernel_ifdrops \(s.kernel.ifDropped), "
                           + formatFixed(s.dropPercent, 2) + "% of kernel_packets); raise capture.buffer_mb, add workers, or filter traffic")
                unreportedDrops = 0
            }
        }
        if s.queueOverflow > lastOverflow && now - overflowWarnedAt >= 10 {
            overflowWarnedAt = now
            out.append("flowsentry: warning: output queue full: \(s.queueOverflow - lastOverflow) flow records dropped (queue_overflow \(s.queueOverflow), capacity \(s.queueCapacity))")
            lastOverflow = s.queueOverflow
        }
        return out
    }
}

/// The live sensor's output thread: takes ended flows off the queue and
/// hands them to the record writer; sweeps idle flows every
/// `expireInterval`; serves log reopen (SIGHUP) and reload (SIGUSR2)
/// requests; once a second refreshes the metrics and checks for drops;
/// writes stats records and pings the systemd watchdog. At shutdown it
/// writes every open flow (reason `shutdown`), the closing alerts and the
/// final stats, and syncs the files. Used by the output thread only
/// (created before it starts).
final class LiveOutputLoop: @unchecked Sendable {
    /// Most records an expiry sweep or the shutdown flush builds before handing them on.
    static let flushChunk = 4096

    let sensor: LiveSensor
    let writer: RecordWriter
    private let batch = RecordBatch(reserve: 4096)
    private var sink = FlowSink(reserve: 1024)
    /// The expiry clock of the last sweep (it never goes back).
    private var lastSweepClock = Int64.min
    private var schedule: OutputSchedule
    private var warnings = DropWarnings()

    init(sensor: LiveSensor) {
        self.sensor = sensor
        writer = sensor.writer
        let start = monotonicSeconds()
        schedule = OutputSchedule(expire: start + sensor.expireInterval, stats: start + sensor.config.statsInterval,
                                  dropCheck: start + 1,
                                  watchdog: sensor.notify.watchdogInterval.map { start + $0 } ?? Double.infinity)
    }

    func run() {
        let queue = sensor.queue, spin = Double(sensor.config.outputSpinMicros) * 1e-6
        while true {
            let done = sensor.captureDone.load(ordering: .acquiring)
            let untilDue = schedule.next - monotonicSeconds()
            queue.popAll(into: &batch.records, timeout: done ? 0 : max(0.001, min(0.1, untilDue)), spin: spin)
            write()
            serveRequests()
            let now = monotonicSeconds()
            if now >= schedule.expire {
                sweep()
                schedule.expire = now + sensor.expireInterval
            }
            if now >= schedule.dropCheck {
                schedule.dropCheck = now + 1
                if let w = writer.scoring?.drift?.check(now: now) { sensor.log(w) }
                let s = sensor.snapshot()
                if let metrics = sensor.metrics { metrics.update(metricsSnapshot(s)) }
                for w in warnings.check(s, now: now, interface: sensor.interface) { sensor.log(w) }
            }
            if now >= schedule.stats {
                writeStats()
                schedule.stats = now + sensor.config.statsInterval
            }
            if now >= schedule.watchdog {
                sensor.notify.send("WATCHDOG=1")
                schedule.watchdog = now + (sensor.notify.watchdogInterval ?? 1)
            }
            if done && queue.depth == 0 { break }
        }
        shutdown()
    }

    /// What the metrics endpoint shows, from the counters snapshot `s`.
    private func metricsSnapshot(_ s: SensorStats) -> SensorMetricsSnapshot {
        var m = SensorMetricsSnapshot(stats: s, interface: sensor.interface)
        m.stats.alertPcap = .init(writer.alertPcap)
        if let scoring = writer.scoring {
            m.scoring = scoring.counters
            m.modelVersion = scoring.model.meta.modelVersion
            m.modelClasses = scoring.model.classes
            m.drift = scoring.drift?.snapshot
        }
        m.behaviour = writer.behaviour?.table.counters
        m.appLayer = writer.appLayer
        m.appStreamsExhausted = sensor.table.appStreamsExhausted
        if let set = writer.indicators {
            m.indicators = writer.indicatorCounters
            m.indicatorsLoaded = set.count
        }
        return m
    }

    /// Writes (and empties) `batch`.
    private func write() {
        if batch.isEmpty { return }
        sensor.testHooks.onBatch?(batch.count)
        writer.write(batch)
    }

    /// Writes the records a sweep or the shutdown flush built (and empties `s`).
    private func write(_ s: inout FlowSink) {
        if s.isEmpty { return }
        batch.records.append(contentsOf: s.records)
        s.removeAll()
        write()
    }

    /// The flow time by which every flow that ended before it has been
    /// written: a sweep's clock less the longest idle timeout.
    private func flowTime(_ clock: Int64) -> Int64 { clock - sensor.config.flow.longestIdleTimeoutNs }

    private func sweep() {
        let clock = sensor.sweepClock(wall: LiveSensor.wallClockNs(), last: &lastSweepClock)
        sensor.table.expire(now: clock, chunk: Self.flushChunk, sink: &sink) { write(&$0) }
        write(&sink)
        writer.sweep(nowNs: flowTime(clock))
        sensor.testHooks.onSweep?(flowTime(clock), false)
    }

    /// SIGHUP and SIGUSR2, as asked for by `reopenLogs` and `requestReload`.
    private func serveRequests() {
        if sensor.reopenRequested.exchange(false, ordering: .acquiringAndReleasing) {
            sensor.outputs.reopenAll()
            sensor.log("flowsentry: reopened log files")
        }
        if sensor.reloadRequested.exchange(false, ordering: .acquiringAndReleasing) {
            sensor.notify.send("RELOADING=1")
            reload()
            sensor.notify.send("READY=1")
        }
    }

    /// Loads the indicator files, the model and the policy again; a bad one
    /// is rejected and the running one stays.
    private func reload() {
        reloadIndicators()
        guard let scoring = writer.scoring, let source = sensor.modelSource else {
            if sensor.config.indicatorFiles.isEmpty {
                sensor.log("flowsentry: reload requested (no model loaded yet; nothing to reload)")
            }
            return
        }
        do {
            let (m, p) = try source.load()
            writer.reload(model: m, policy: p)
            sensor.log("flowsentry: reloaded \(m.meta.modelVersion) and its policy")
        } catch {
            sensor.log("flowsentry: error: reload rejected, keeping \(scoring.model.meta.modelVersion): \(error)")
        }
    }

    /// Reads `detection.indicators` again (SIGUSR2, with the policy): a file
    /// with a bad line keeps the running set, and the error is logged.
    private func reloadIndicators() {
        let files = sensor.config.indicatorFiles
        guard !files.isEmpty else { return }
        do throws(IndicatorLoadError) {
            let set = try IndicatorSet.load(paths: files)
            writer.reloadIndicators(set)
            sensor.log("flowsentry: reloaded " + set.summary)
        } catch {
            let held = writer.indicators.map { "\($0.count) indicators" } ?? "no indicators"
            sensor.log("flowsentry: error: indicator reload rejected, keeping \(held):\n\(error)")
        }
    }

    private func writeStats() {
        guard sensor.outputs.wantsType(.stats) else { return }
        var j = JSONBuffer(reserve: 2048)
        let writer = self.writer
        let exhausted = sensor.table.appStreamsExhausted
        var s = sensor.snapshot()
        s.alertPcap = .init(writer.alertPcap)
        s.appendRecord(timestampNs: LiveSensor.wallClockNs(), host: sensor.config.sensorName,
                       interface: sensor.interface,
                       extra: { j in
                           writer.appendStats(into: &j)
                           writer.appLayer.appendStats(exhausted: exhausted, into: &j)
                       }, into: &j)
        sensor.outputs.writeType(.stats, j.bytes, records: 1)
    }

    /// Every open flow, then the closing alerts and the final stats, all on disk.
    private func shutdown() {
        sensor.table.flushAll(reason: .shutdown, chunk: Self.flushChunk, sink: &sink) { write(&$0) }
        write(&sink)
        writer.finish()
        sensor.testHooks.onSweep?(flowTime(LiveSensor.wallClockNs()), true)
        sensor.queue.close()
        // The final stats count what the log files made of every record (a stalled file is not waited for long).
        sensor.outputs.flushAll(timeout: 1)
        writeStats()
        sensor.outputs.syncAll(final: true)
        sensor.outputs.finishNetwork()
        sensor.setFinalStats(sensor.snapshot())
    }
}
