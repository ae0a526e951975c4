import AppLayer
import Flows

/// Writes a flow's application-layer objects (`dns`, `tls`, `http`, `ssh`, `quic`)
/// in the layout of Suricata's EVE, into an open object, then `login`
/// (FlowSentry's own: how the connection's logins went). `app_proto`
/// itself is written with the header (`writeEveHeader`).
public func writeEveAppLayer(_ r: FlowRecord, into j: inout JSONBuffer) {
    guard let app = r.app else { return }
    if let d = app.dns { d.writeEve(&j) }
    if let t = app.tls { t.writeEve(&j) }
    if let h = app.http { h.writeEve(&j) }
    if let s = app.ssh { s.writeEve(&j) }
    if let q = app.quic { q.writeEve(&j) }
    if let l = app.login { l.writeEve(&j) }
}

extension LoginOutcome {
    /// `"login": {"protocol", "failures", "success"}` (`success` left out
    /// when the answers did not say, as for HTTP). Zeek's ssh.log calls the
    /// same facts `auth_attempts` and `auth_success`.
    package func writeEve(_ j: inout JSONBuffer) {
        j.key("login")
        j.beginObject()
        j.key("protocol"); j.string(proto.name)
        j.key("failures"); j.int(failures)
        if let succeeded { j.key("success"); j.bool(succeeded) }
        j.endObject()
    }
}
