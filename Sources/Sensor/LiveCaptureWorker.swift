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

/// A worker's kernel counters across reopens: a reopened handle counts from
/// zero, so what the closed handles counted is kept apart.
struct KernelCounters {
    /// Summed over the handles closed so far.
    var closed = CaptureStats()
    /// The open handle's, as of its last poll.
    var current = CaptureStats()

    var total: CaptureStats {
        CaptureStats(received: closed.received &+ current.received, dropped: closed.dropped &+ current.dropped,
                     ifDropped: closed.ifDropped &+ current.ifDropped)
    }

    mutating func poll(_ c: LiveCapture?) {
        if let c, let s = try? c.stats() { current = s }
    }

    /// The open handle failed: its last counts move to `closed`.
    mutating func handleClosed() {
        closed = total
        current = CaptureStats()
    }
}

/// When a worker whose handle failed tries to open it again, and when it
/// last said so.
struct ReopenSchedule {
    var nextRetry = 0.0
    var lastWarn = -Double.infinity
    var downSince = 0.0
}

/// The worker's periodic chores: every 32 packets (or when idle) it marks
/// itself busy for the sweep clock; once a second it publishes its counters.
struct WorkerClock {
    var sincePoll = 0
    /// A packet reached the table since the last busy mark.
    var sawPacket = false
    var nextPublish: Double
}

/// One capture thread: reads its handle, decodes each packet, feeds the
/// shared flow table and pushes ended flows to the output queue. A handle
/// that fails (interface down or gone) is reopened every `reopenInterval`
/// with the flow state kept.
struct LiveCaptureWorker {
    let index: Int
    let sensor: LiveSensor
    let slot: WorkerSlot

    init(index: Int, sensor: LiveSensor) {
        self.index = index
        self.sensor = sensor
        slot = sensor.counters[index]
    }

    func run(initial: LiveCapture) {
        let table = sensor.table, queue = sensor.queue, hook = sensor.testHooks.onPacket
        let slot = self.slot
        var cap: LiveCapture? = initial
        var decoder = PacketDecoder(linkType: initial.linkType)
        // Packets reach the table one behind the decoder (see PacketPipeline);
        // nothing stays held while the capture is idle, fails or stops.
        var pipe = PacketPipeline()
        pipe.holdsBack = table.packetRings == nil
        table.packetRings?.linkType = initial.linkType.pcapLinkType
        var sink = FlowSink(reserve: 256)
        var counters = WorkerCounters()
        var kernel = KernelCounters()
        var reopen = ReopenSchedule()
        var clock = WorkerClock(nextPublish: monotonicSeconds() + 1)

        // After the table has seen a packet (`seen`: it was decoded).
        func after(_ ts: Int64, _ seen: Bool, _ sink: inout FlowSink) {
            guard seen else { return }
            if !sink.isEmpty { pushReleasingDropped(queue, sink.records, rings: table.packetRings); sink.removeAll() }
            slot.lastPacketNs.store(ts, ordering: .relaxed)
            clock.sawPacket = true
        }

        capture: while !sensor.isStoppingRelaxed {
            if let c = cap {
                do {
                    if let cp = try c.next() {
                        counters.packets &+= 1
                        counters.bytes &+= UInt64(cp.wireLength)
                        if cp.linkType != decoder.linkType { decoder = PacketDecoder(linkType: cp.linkType) }
                        let ok = decoder.decode(cp.bytes, wireLength: cp.wireLength, timestampNs: cp.timestampNs,
                                                into: &pipe.current.pointee)
                        if ok {
                            counters.decoded &+= 1
                            hook?(index, pipe.current.pointee)
                        } else {
                            counters.anomalies.bump(pipe.current.pointee.anomaly)
                        }
                        pipe.step(decoded: ok, bytes: cp.bytes, timestampNs: cp.timestampNs, table: table,
                                  sink: &sink, after: after)
                        clock.sincePoll &+= 1
                        if clock.sincePoll < 32 { continue }
                    } else {
                        pipe.flush(table: table, sink: &sink, after: after)  // idle
                    }
                    clock.sincePoll = 0
                    if clock.sawPacket {
                        slot.busyAtNs.store(LiveSensor.wallClockNs(), ordering: .relaxed)
                        clock.sawPacket = false
                    }
                } catch {
                    pipe.flush(table: table, sink: &sink, after: after)
                    if sensor.isStoppingRelaxed { break capture }
                    kernel.poll(c)
                    kernel.handleClosed()
                    cap = nil
                    handleFailed(error, &reopen)
                    publish(&counters, kernel)
                    continue
                }
            } else {
                let now = monotonicSeconds()
                if now < reopen.nextRetry {
                    usleep(UInt32(min(50_000, max(1_000, (reopen.nextRetry - now) * 1e6))))
                    continue
                }
                switch tryReopen(&reopen, now: now) {
                case .stopping: break capture
                case .opened(let c):
                    cap = c
                    decoder = PacketDecoder(linkType: c.linkType)
                    counters.reopens &+= 1
                case .stillDown: break
                }
            }
            let now = monotonicSeconds()
            if now >= clock.nextPublish {
                clock.nextPublish = now + 1
                kernel.poll(cap)
                publish(&counters, kernel)
            }
        }
        pipe.flush(table: table, sink: &sink, after: after)
        kernel.poll(cap)
        publish(&counters, kernel)
        if !sink.isEmpty { pushReleasingDropped(queue, sink.records, rings: table.packetRings); sink.removeAll() }
    }

    private func publish(_ counters: inout WorkerCounters, _ kernel: KernelCounters) {
        counters.kernel = kernel.total
        let snap = counters
        slot.value.withLock { $0 = snap }
    }

    /// The handle failed: it is dropped, and reopened from the next retry on.
    private func handleFailed(_ error: LiveCaptureError, _ reopen: inout ReopenSchedule) {
        sensor.setHandle(nil, at: index)
        let now = monotonicSeconds()
        let interval = sensor.reopenInterval
        reopen.downSince = now
        reopen.nextRetry = now + interval
        if index == 0 || !error.isInterfaceUnavailable {
            sensor.log("flowsentry: warning: worker \(index): \(error); retrying every \(formatFixed(interval, 1)) s, flow state kept")
        }
        reopen.lastWarn = now
    }

    enum Reopened { case opened(LiveCapture), stillDown, stopping }

    private func tryReopen(_ reopen: inout ReopenSchedule, now: Double) -> Reopened {
        reopen.nextRetry = now + sensor.reopenInterval
        do {
            let c = try sensor.openHandle()
            guard sensor.registerHandle(c, at: index) else { return .stopping }
            if index == 0 || sensor.config.workers == 1 {
                sensor.log("flowsentry: \(sensor.interface): interface recovered after \(formatFixed(now - reopen.downSince, 1)) s (worker \(index) reopened)")
            }
            return .opened(c)
        } catch {
            if now - reopen.lastWarn >= 30 {
                reopen.lastWarn = now
                if index == 0 { sensor.log("flowsentry: warning: \(sensor.interface) still unavailable: \(error)") }
            }
            return .stillDown
        }
    }
}
