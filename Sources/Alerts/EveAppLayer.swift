import AppLayer
import Flows

/// Writes a flow's application-layer objects (`dns`, `tls`, `http`, `ssh`)
/// in the layout of Suricata's EVE, into an open object. `app_proto` itself
/// is written with the header (`writeEveHeader`).
public func writeEveAppLayer(_ r: FlowRecord, into j: inout JSONBuffer) {
    guard let app = r.app else { return }
    if let d = app.dns { d.writeEve(&j) }
    if let t = app.tls { t.writeEve(&j) }
    if let h = app.http { h.writeEve(&j) }
    if let s = app.ssh { s.writeEve(&j) }
}
