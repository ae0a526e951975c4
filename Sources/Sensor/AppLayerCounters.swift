import Alerts
import AppLayer
import Flows

/// What the application-layer parsers made of the flows written so far:
/// flows per `app_proto`, malformed messages by the parser's reason (as
/// decoder anomalies are counted), and how the stream prefixes were put
/// together. Kept by the record writer (one thread), for stats records,
/// metrics and the replay summary.
package struct AppLayerCounters: Sendable {
    package var flows = [UInt64](repeating: 0, count: AppProto.allCases.count)
    package var malformed: [String: UInt64] = [:]
    package var truncated: UInt64 = 0
    package var midstream: UInt64 = 0
    package var outOfOrder: UInt64 = 0
    package var overlaps: UInt64 = 0
    package var gaps: UInt64 = 0

    package init() {}

    package mutating func count(_ r: FlowRecord) {
        guard let app = r.app else { return }
        flows[Int(app.proto.rawValue)] &+= 1
        if let m = app.malformed { malformed[m, default: 0] &+= 1 }
        for s in [app.client, app.server] {
            if s.truncated { truncated &+= 1 }
            if s.midstream { midstream &+= 1 }
            outOfOrder &+= UInt64(s.outOfOrder)
            overlaps &+= UInt64(s.overlaps)
            gaps &+= UInt64(s.dropped) + UInt64(s.gaps)
        }
    }

    package var malformedTotal: UInt64 { malformed.values.reduce(0, +) }

    /// The `app_layer {…}` object of stats records; `exhausted` is the flow
    /// table's count of flows that found no free stream prefix.
    package func appendStats(exhausted: UInt64, into j: inout JSONBuffer) {
        j.key("app_layer"); j.beginObject()
        j.key("flows"); j.beginObject()
        for p in AppProto.allCases { j.key(p.name); j.uint(flows[Int(p.rawValue)]) }
        j.endObject()
        j.key("malformed"); j.beginObject()
        for (reason, n) in malformed.sorted(by: { $0.key < $1.key }) { j.key(reason); j.uint(n) }
        j.endObject()
        j.key("streams"); j.beginObject()
        j.key("truncated"); j.uint(truncated)
        j.key("midstream"); j.uint(midstream)
        j.key("out_of_order"); j.uint(outOfOrder)
        j.key("overlaps"); j.uint(overlaps)
        j.key("gaps"); j.uint(gaps)
        j.key("no_buffer"); j.uint(exhausted)
        j.endObject()
        j.endObject()
    }

    /// One line for the replay summary.
    package func summary(exhausted: UInt64) -> String {
        let named = AppProto.allCases.filter { flows[Int($0.rawValue)] > 0 }.map { "\($0.name) \(flows[Int($0.rawValue)])" }
        var s = "app_layer: " + (named.isEmpty ? "no payload parsed" : named.joined(separator: ", "))
        let m = malformed.sorted { $0.value > $1.value }.prefix(4).map { "\($0.key) \($0.value)" }
        s += "; malformed \(malformedTotal)" + (m.isEmpty ? "" : " (" + m.joined(separator: ", ") + ")")
        s += "; streams: \(outOfOrder) out of order, \(overlaps) overlaps, \(gaps) gaps, \(truncated) cut at the prefix"
        if exhausted > 0 { s += ", \(exhausted) flows found no free prefix" }
        return s
    }
}
