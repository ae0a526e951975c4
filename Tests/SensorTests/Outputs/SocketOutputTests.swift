#if canImport(Glibc)
import Glibc
#endif
import Sensor
import Testing

/// The syslog message's priority and the syslog and unix-socket entries of
/// `outputs.list` (delivery to real listeners is tests/python/test_socket_outputs.py).
@Suite struct SocketOutputTests {
    @Test func alertSeverityBecomesSyslogSeverity() {
        func sev(_ s: String) -> Int { SyslogTransport.severity(ofAlert: Array(s.utf8)[...]) }
        #expect(sev(#"{"event_type":"alert","alert":{"signature":"x","severity":1}}"#) == 2)  // crit
        #expect(sev(#"{"alert":{"severity":2,"category":"y"}}"#) == 3)  // err
        #expect(sev(#"{"alert":{"severity":3}}"#) == 4)  // warning
        #expect(sev(#"{"alert":{}}"#) == 5)  // notice when the alert has none
        var s = SyslogSettings()
        s.facility = 4  // auth
        let t = SyslogTransport(s)
        let alert = String(decoding: t.message(type: .alert, line: Array(#"{"alert":{"severity":1}}"#.utf8)[...]), as: UTF8.self)
        #expect(alert.hasPrefix("<34>1 "), "auth (4) × 8 + crit (2)")
        #expect(alert.hasSuffix(#" flowsentry \#(getpid()) alert - {"alert":{"severity":1}}"#))
        let flow = String(decoding: t.message(type: .flow, line: Array("{}".utf8)[...]), as: UTF8.self)
        #expect(flow.hasPrefix("<38>1 ") && flow.hasSuffix(" flow - {}"), "flows are info (6)")
    }

    @Test func syslogAndUnixSocketEntries() throws {
        let c = try SensorConfig.parse(yaml: """
            outputs:
              - {type: syslog}
              - {type: syslog, address: "tcp:[::1]:6514", facility: local0, types: [alert, stats]}
              - {type: unix_dgram, path: /run/eve.sock}
              - {type: unix_stream, name: s, path: /run/eve2.sock, backoff_max: 1}
            """)
        #expect(c.networkOutputs.map(\.name) == ["syslog", "syslog-2", "unix_dgram", "s"])
        #expect(c.networkOutputs[0].transport == .syslog(SyslogSettings()) && c.networkOutputs[0].types == [.alert])
        var tcp = SyslogSettings()
        tcp.address = .tcp(host: "::1", port: 6514)
        tcp.facility = 16
        #expect(c.networkOutputs[1].transport == .syslog(tcp))
        #expect(c.networkOutputs[2].transport == .unixSocket(path: "/run/eve.sock", stream: false))
        #expect(c.networkOutputs[3].transport == .unixSocket(path: "/run/eve2.sock", stream: true)
            && c.networkOutputs[3].backoffMaxSeconds == 1)
        #expect(SyslogSettings.parseAddress("udp:logs.example.net:514") == .udp(host: "logs.example.net", port: 514))
        for bad in ["udp:host", "tcp::514", "unix:", "http://x", "udp:h:70000", "tcp:[::1:514"] {
            #expect(SyslogSettings.parseAddress(bad) == nil, "\(bad)")
        }
    }

    @Test(arguments: [
        ("outputs: [{type: syslog, address: \"x\"}]", "outputs[0].address", "unix:PATH, udp:HOST:PORT or tcp:HOST:PORT"),
        ("outputs: [{type: syslog, facility: local9}]", "outputs[0].facility", "must be one of"),
        ("outputs: [{type: syslog, path: /x}]", "outputs[0].path", "unknown key"),
        ("outputs: [{type: unix_dgram}]", "outputs[0].path", "needs the socket's path"),
        ("outputs: [{type: unix_stream, path: /x, address: y}]", "outputs[0].address", "unknown key"),
    ])
    func mistakesNameTheirKey(_ yaml: String, _ key: String, _ reason: String) {
        #expect {
            _ = try SensorConfig.parse(yaml: yaml, file: "f.yaml")
        } throws: { e in
            guard let e = e as? SensorConfigError else { return false }
            return e.key == key && e.reason.contains(reason)
        }
    }
}
