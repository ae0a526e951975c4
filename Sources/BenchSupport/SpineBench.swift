import Alerts
import Capture
import Decoding
import Flows
import Sensor

/// Measurements of the packet path over one capture, each stage timed on
/// the same file in the same run so they can be compared as ratios.
package enum SpineBench {
    package struct Stage: Sendable {
        package var name: String
        package var packets: UInt64
        package var seconds: Double
        package var packetsPerSecond: Double { seconds > 0 ? Double(packets) / seconds : 0 }
    }

    /// Bare libpcap read loop: every packet read, its length summed, nothing
    /// else; straight `pcap_next_ex` calls, no reader of ours (the baseline a
    /// C program would measure).
    package static func readLoop(_ path: String) throws(CaptureError) -> Stage {
        let r = try BareLibpcapLoop.run(path, clock: monotonicSeconds)
        blackHole(r.bytes)
        return Stage(name: "read loop (bare libpcap)", packets: r.packets, seconds: r.seconds)
    }

    /// The same loop through FlowSentry's reader (`PcapFileReader`, what
    /// `replay` reads with), for its overhead over the bare loop.
    package static func readerLoop(_ path: String) throws(CaptureError) -> Stage {
        let r = try PcapFileReader(path: path)
        var n: UInt64 = 0, bytes = 0
        let t0 = monotonicSeconds()
        while let p = try r.next() { n &+= 1; bytes &+= p.bytes.count }
        let t = monotonicSeconds() - t0
        blackHole(bytes)
        return Stage(name: "read loop (FlowSentry reader)", packets: n, seconds: t)
    }

    /// Read + decode.
    package static func decodeOnly(_ path: String) throws(CaptureError) -> Stage {
        let r = try PcapFileReader(path: path)
        let d = PacketDecoder(linkType: r.linkType)
        var p = DecodedPacket()
        var n: UInt64 = 0, ok = 0
        let t0 = monotonicSeconds()
        while let c = try r.next() {
            n &+= 1
            if d.decode(c.bytes, wireLength: c.wireLength, timestampNs: c.timestampNs, into: &p) { ok &+= 1 }
        }
        let t = monotonicSeconds() - t0
        blackHole(ok)
        return Stage(name: "read + decode", packets: n, seconds: t)
    }

    /// The whole spine: read, decode, flow table, features, expiry, finished
    /// records (drained, not written). With `json`, records are also
    /// formatted as EVE JSON into a reused buffer.
    package static func spine(_ path: String, config: FlowTableConfig, json: Bool,
                             around: (() -> Void) -> Void = { $0() }) throws(CaptureError) -> Stage {
        let r = try PcapFileReader(path: path)
        let d = PacketDecoder(linkType: r.linkType)
        let table = FlowTable(config: config)
        var sink = FlowSink(reserve: ReplayPipeline.chunk)
        var buf = JSONBuffer(reserve: 1 << 16)
        let fmt = EveFlowFormatter()
        var n: UInt64 = 0, records = 0
        var nextSweep = Int64.min
        var failure: CaptureError?
        var elapsed = 0.0
        func drain(_ s: inout FlowSink) {
            s.drain { rec in
                records &+= 1
                // Records are written with their application layer, which the writer parses.
                if json { rec.resolveAppLayer(); buf.reset(); fmt.append(rec, into: &buf) }
            }
        }
        var pipe = PacketPipeline()  // set-up, outside the counted region
        around {
            let t0 = monotonicSeconds()
            func sweep(_ ts: Int64, _: Bool, _ sink: inout FlowSink) {
                if ts >= nextSweep {
                    // Chunked like `replay`: a sweep never builds more than a chunk of records.
                    table.expire(now: ts, chunk: ReplayPipeline.chunk, sink: &sink, drain: drain)
                    nextSweep = ts + 1_000_000_000
                }
                if !sink.isEmpty { drain(&sink) }
            }
            while true {
                let c: CapturedPacket?
                do throws(CaptureError) { c = try r.next() } catch { failure = error; break }
                guard let c else { break }
                n &+= 1
                let ok = d.decode(c.bytes, wireLength: c.wireLength, timestampNs: c.timestampNs, into: &pipe.current.pointee)
                pipe.step(decoded: ok, bytes: c.bytes, timestampNs: c.timestampNs, table: table, sink: &sink, after: sweep)
            }
            pipe.flush(table: table, sink: &sink, after: sweep)
            table.flushAll(reason: .shutdown, chunk: ReplayPipeline.chunk, sink: &sink, drain: drain)
            drain(&sink)
            elapsed = monotonicSeconds() - t0
        }
        if let failure { throw failure }
        blackHole(records)
        return Stage(name: json ? "whole spine + EVE JSON" : "whole spine (decode, flows, features)",
                     packets: n, seconds: elapsed)
    }

    @inline(never)
    static func blackHole<T>(_ v: T) { _ = v }
}
