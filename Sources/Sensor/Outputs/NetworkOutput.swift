import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Why a network output could not send: the connection is closed and
/// retried after a backoff.
package struct OutputTransportError: Error, CustomStringConvertible, Sendable {
    package var reason: String
    package init(_ reason: String) { self.reason = reason }
    package var description: String { reason }
}

/// How a network output reaches its destination; used by its writer thread only.
package protocol OutputTransport: AnyObject {
    /// Where it sends, for messages (no secrets).
    var endpoint: String { get }
    func connect() throws(OutputTransportError)
    /// Sends every line of `chunks`; returns how many records the
    /// destination refused (an error reply: given up, counted as dropped).
    /// Throws when the connection failed: the caller reconnects and sends
    /// the chunks again.
    func send(_ chunks: [OutputChunk]) throws(OutputTransportError) -> Int
    func disconnect()
}

/// One network output (`outputs.list` entry): its bounded queue, fed by the
/// sensor's output thread, and its own writer thread that sends what is
/// queued, reconnects with exponential backoff (0.1 s doubling up to the
/// configured bound) while the destination is away, and at shutdown keeps
/// sending for up to `drainSeconds` before it gives up on the rest (counted).
package final class NetworkOutput: @unchecked Sendable {
    package let spec: OutputSpec
    package let queue: OutputQueue
    private let transport: any OutputTransport
    private let backoffMax: Double
    private let batchRecords: Int
    private let log: @Sendable (String) -> Void
    private var thread: pthread_t?

    private let written = Atomic<UInt64>(0)
    /// Records refused by the destination or given up at shutdown (queue overflows are `queue.dropped`).
    private let abandoned = Atomic<UInt64>(0)
    private let reconnectCount = Atomic<UInt64>(0)

    package init(spec: OutputSpec, transport: any OutputTransport, backoffMax: Double, batchRecords: Int,
                 log: @escaping @Sendable (String) -> Void) {
        self.spec = spec
        self.queue = OutputQueue(capacity: spec.queueRecords)
        self.transport = transport
        self.backoffMax = max(0.1, backoffMax)
        self.batchRecords = max(1, batchRecords)
        self.log = log
    }

    /// The output for `spec`, not started yet.
    package static func make(_ spec: OutputSpec, log: @escaping @Sendable (String) -> Void) -> NetworkOutput {
        switch spec.transport {
        case .redis(let r):
            return NetworkOutput(spec: spec, transport: RedisTransport(r), backoffMax: r.backoffMaxSeconds,
                                 batchRecords: r.batch, log: log)
        case .syslog(let s):
            return NetworkOutput(spec: spec, transport: SyslogTransport(s), backoffMax: spec.backoffMaxSeconds,
                                 batchRecords: 256, log: log)
        case .unixSocket(let path, let stream):
            return NetworkOutput(spec: spec, transport: UnixSocketTransport(path: path, stream: stream),
                                 backoffMax: spec.backoffMaxSeconds, batchRecords: 256, log: log)
        }
    }

    /// Records the destination accepted.
    package var recordsWritten: UInt64 { written.load(ordering: .relaxed) }
    /// Records lost: the queue was full, the destination refused them, or shutdown came first.
    package var recordsDropped: UInt64 { queue.dropped.load(ordering: .relaxed) &+ abandoned.load(ordering: .relaxed) }
    /// Records queued or in flight now.
    package var recordsQueued: Int { queue.depth.load(ordering: .relaxed) }
    /// Connections made again after a failure.
    package var reconnects: UInt64 { reconnectCount.load(ordering: .relaxed) }

    package var counters: SensorStats.Output {
        SensorStats.Output(name: spec.name, written: recordsWritten, dropped: recordsDropped,
                           queued: UInt64(recordsQueued), reconnects: reconnects)
    }

    package func start() {
        thread = spawnThread(name: "fs-out-" + String(spec.name.prefix(8))) { [self] in run() }
    }

    /// Closes the queue and waits for the writer: it sends what it can
    /// within `drainSeconds`, then stops.
    package func finish() {
        queue.close()
        if let t = thread {
            pthread_join(t, nil)
            thread = nil
        }
    }

    private func run() {
        var batch: [OutputChunk] = []
        var connected = false
        var backoff = 0.1
        var failingSince: Double?
        var lastLog = -Double.infinity
        var drainUntil: Double?
        while true {
            if batch.isEmpty {
                guard queue.take(into: &batch, records: batchRecords, timeout: 0.5) else { break }
                if batch.isEmpty { continue }
            }
            let now = monotonicSeconds()
            if queue.isClosed {
                if drainUntil == nil { drainUntil = now + spec.drainSeconds }
                if let d = drainUntil, now > d, failingSince != nil {
                    giveUp(&batch)
                    break
                }
            }
            do throws(OutputTransportError) {
                if !connected {
                    try transport.connect()
                    connected = true
                    backoff = 0.1
                    if let since = failingSince {
                        reconnectCount.add(1, ordering: .relaxed)
                        log("flowsentry: output \(spec.name): connected to \(transport.endpoint) again after "
                            + formatFixed(monotonicSeconds() - since, 1) + " s; \(recordsDropped) records dropped in all")
                        failingSince = nil
                    }
                }
                let n = batch.reduce(0) { $0 + $1.records }
                let refused = try transport.send(batch)
                written.add(UInt64(n - refused), ordering: .relaxed)
                if refused > 0 {
                    abandoned.add(UInt64(refused), ordering: .relaxed)
                    if monotonicSeconds() - lastLog >= 10 {
                        lastLog = monotonicSeconds()
                        log("flowsentry: warning: output \(spec.name): \(transport.endpoint) refused \(refused) records (error replies; dropped and counted)")
                    }
                }
                queue.settle(n)
                batch.removeAll(keepingCapacity: true)
            } catch {
                transport.disconnect()
                connected = false
                if failingSince == nil { failingSince = monotonicSeconds() }
                if monotonicSeconds() - lastLog >= 10 {
                    lastLog = monotonicSeconds()
                    log("flowsentry: error: output \(spec.name): \(transport.endpoint): \(error); retrying (backoff up to "
                        + formatFixed(backoffMax, 1) + " s), \(recordsQueued) records held, up to \(queue.capacity), beyond that dropped and counted")
                }
                if let d = drainUntil {
                    let left = d - monotonicSeconds()
                    if left <= 0 { giveUp(&batch); break }
                    sleepSeconds(min(backoff, left))
                } else {
                    queue.pause(backoff)
                }
                backoff = min(backoff * 2, backoffMax)
            }
        }
        transport.disconnect()
    }

    /// Shutdown with the destination away: the batch and everything queued are dropped (counted).
    private func giveUp(_ batch: inout [OutputChunk]) {
        var lost = batch.reduce(0) { $0 + $1.records }
        queue.settle(lost)
        batch.removeAll()
        while queue.take(into: &batch, records: Int.max, timeout: 0), !batch.isEmpty {
            let n = batch.reduce(0) { $0 + $1.records }
            queue.settle(n)
            lost += n
            batch.removeAll()
        }
        abandoned.add(UInt64(lost), ordering: .relaxed)
        log("flowsentry: error: output \(spec.name): \(transport.endpoint) still unreachable at shutdown; \(lost) records not sent")
    }
}

func sleepSeconds(_ s: Double) {
    guard s > 0 else { return }
    var ts = timespec(tv_sec: Int(s), tv_nsec: Int((s - Double(Int(s))) * 1e9))
    var left = timespec()
    while nanosleep(&ts, &left) != 0 && errno == EINTR { ts = left }
}
