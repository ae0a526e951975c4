import Alerts
import Capture
import Decoding
import Flows
import Foundation
import Testing

/// `PacketPipeline` (packets fed to the table one behind the decoder) against
/// the plain loop it replaces — decode, process, sweep — on real captures:
/// the same records in the same order, and the caller's per-packet step run
/// once per packet read, in capture order, after the table has seen it.
struct PacketPipelineTests {
    struct Run {
        var lines: [String] = []
        /// (capture timestamp, flows created so far) at each per-packet step.
        var steps: [(Int64, UInt64)] = []
        var held = 0
        var payloadPackets = 0
    }

    /// Replays `path` through one table, sweeping every second of packet
    /// time as `replay` does; with `pipelined`, through a `PacketPipeline`.
    static func run(_ path: String, pipelined: Bool) throws -> Run {
        let reader = try PcapFileReader(path: path)
        let decoder = PacketDecoder(linkType: reader.linkType)
        // Small table and a short timeout: evictions and sweeps happen too.
        var config = FlowTableConfig()
        config.maxFlows = 512
        config.stripes = 4
        let table = FlowTable(config: config)
        var sink = FlowSink(reserve: 64)
        let fmt = EveFlowFormatter()
        var json = JSONBuffer()
        var out = Run()
        var nextSweep = Int64.min
        func after(_ ts: Int64, _: Bool, _ sink: inout FlowSink) {
            out.steps.append((ts, table.counters.created))
            if ts >= nextSweep {
                table.expire(now: ts, sink: &sink)
                nextSweep = ts + 1_000_000_000
            }
            sink.drain { r in json.reset(); fmt.append(r, into: &json); out.lines.append(String(decoding: json.bytes, as: UTF8.self)) }
        }
        var pipe = PacketPipeline()
        var packet = DecodedPacket()
        while let c = try reader.next() {
            if pipelined {
                let ok = decoder.decode(c.bytes, wireLength: c.wireLength, timestampNs: c.timestampNs, into: &pipe.current.pointee)
                if ok && pipe.current.pointee.payloadLength > 0 { out.payloadPackets += 1 }
                pipe.step(decoded: ok, bytes: c.bytes, timestampNs: c.timestampNs, table: table, sink: &sink, after: after)
                if pipe.holding { out.held += 1 }
            } else {
                if decoder.decode(c.bytes, wireLength: c.wireLength, timestampNs: c.timestampNs, into: &packet) {
                    table.process(&packet, bytes: c.bytes, sink: &sink)
                }
                after(c.timestampNs, true, &sink)
            }
        }
        pipe.flush(table: table, sink: &sink, after: after)
        let stillHolding = pipe.holding
        #expect(!stillHolding)
        table.flushAll(sink: &sink)
        sink.drain { r in json.reset(); fmt.append(r, into: &json); out.lines.append(String(decoding: json.bytes, as: UTF8.self)) }
        return out
    }

    static let captures = ["mixed-1.pcap", "attack-dos.pcap", "attack-scan.pcap", "benign-1.pcap"]

    @Test(arguments: captures)
    func sameRecordsAndStepsAsThePlainLoop(_ name: String) throws {
        let path = Repo.root.appendingPathComponent("captures/\(name)").path
        let plain = try Self.run(path, pipelined: false)
        let piped = try Self.run(path, pipelined: true)
        #expect(plain.lines.count > 10, "\(name): too few records to compare")
        #expect(piped.lines == plain.lines, "\(name): records differ")
        #expect(piped.steps.count == plain.steps.count)
        // The step after each packet saw the table as the plain loop's did.
        let diverged = piped.steps.indices.first { i in
            i >= plain.steps.count || piped.steps[i] != plain.steps[i]
        }
        #expect(diverged == nil, "\(name): step \(diverged ?? -1) differs")
        // Both paths were taken: packets held back and packets with payload.
        #expect(piped.held > 0 && piped.payloadPackets > 0, "\(name): held \(piped.held), with payload \(piped.payloadPackets)")
    }
}
