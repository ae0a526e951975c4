import Flows
import Indicators

/// Signature ids of indicator alerts: 9200001 + the kind's number
/// (`IndicatorKind.rawValue`: ip 9200001, cidr 9200002, domain 9200003, …).
public func indicatorSignatureID(_ k: IndicatorKind) -> Int { 9_200_001 + Int(k.rawValue) }

extension EveAlertFormatter {
    /// An EVE alert line for one indicator that matched flow `r`, written
    /// whatever the models made of the flow: the usual header and `alert`
    /// object (signature "FlowSentry indicator: KIND VALUE (SOURCE)",
    /// category "Potentially Bad Traffic", the indicator's severity, and
    /// Suricata-style `alert.metadata` arrays), then `indicator {value,
    /// type, kind, source, severity, matched}` — `matched` the EVE field
    /// that held the value — the flow summary and the application-layer
    /// objects. docs/indicators.md shows one.
    public func appendIndicator(_ r: FlowRecord, _ hit: IndicatorHit, in set: IndicatorSet, into j: inout JSONBuffer) {
        let value = set.value(of: hit), source = set.source(of: hit), kind = hit.meta.kind
        j.beginObject()
        writeAlertHead(r, signatureID: indicatorSignatureID(kind), signature: "FlowSentry indicator: \(kind.name) \(value) (\(source))",
                       category: "Potentially Bad Traffic", severity: Int(hit.meta.severity), metadata: { j in
            j.key("detector"); j.beginArray(); j.string("indicator"); j.endArray()
            j.key("indicator_source"); j.beginArray(); j.string(source); j.endArray()
            j.key("indicator_type"); j.beginArray(); j.string(kind.typeName); j.endArray()
        }, into: &j)
        j.key("indicator"); j.beginObject()
        j.key("value"); j.string(value)
        j.key("type"); j.string(kind.typeName)
        j.key("kind"); j.string(kind.name)
        j.key("source"); j.string(source)
        j.key("severity"); j.int(hit.meta.severity)
        j.key("matched"); j.string(hit.seenAt.field)
        j.endObject()
        writeEveFlowSummary(r, alerted: true, into: &j)
        writeEveAppLayer(r, into: &j)
        j.endObject()
        j.newline()
    }
}
