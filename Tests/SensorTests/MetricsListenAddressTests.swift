import Foundation
import Sensor
import Testing

@Suite struct MetricsListenAddressTests {
    @Test(arguments: [
        ("127.0.0.1:9560", "127.0.0.1", 9560),
        ("0.0.0.0:0", "0.0.0.0", 0),
        ("localhost:9560", "localhost", 9560),
        ("sensor-1.example.org:65535", "sensor-1.example.org", 65535),
        ("[::1]:9560", "::1", 9560),
        ("[::]:9560", "::", 9560),
        ("[2001:db8::7]:80", "2001:db8::7", 80),
    ])
    func accepted(_ text: String, _ host: String, _ port: Int) throws {
        let a = try MetricsListenAddress.parse(text)
        #expect(a.host == host && Int(a.port) == port)
    }

    @Test(arguments: [
        ("127.0.0.1", "no port"),
        ("127.0.0.1:", "the port must be a number"),
        ("127.0.0.1:65536", "the port must be a number"),
        ("127.0.0.1:-1", "the port must be a number"),
        ("127.0.0.1:+80", "the port must be a number"),
        ("localhost:http", "the port must be a number"),
        (":9560", "no host"),
        ("::1:9560", "needs brackets, as [::1]:9560"),
        ("[::1]9560", "a port must follow"),
        ("[::1:9560", "without a closing ']'"),
        ("[localhost]:9560", "is not an IPv6 address"),
        ("[127.0.0.1]:9560", "is not an IPv6 address"),
        ("local host:9560", "neither an IPv4 address nor a host name"),
        ("-bad.example:9560", "neither an IPv4 address nor a host name"),
        ("a..b:9560", "neither an IPv4 address nor a host name"),
        ("http://127.0.0.1:9560", "neither an IPv4 address nor a host name"),
    ])
    func refusedWithTheReason(_ text: String, _ reason: String) {
        #expect {
            _ = try MetricsListenAddress.parse(text)
        } throws: { e in
            let d = "\(e)"
            return d.contains(reason) && d.contains("\"\(text)\"") && d.contains("e.g. 127.0.0.1:9560")
        }
    }

    @Test func namesResolveAndNumericAddressesStayThemselves() throws {
        let v4 = try MetricsListenAddress.parse("127.0.0.1:9560").resolve()
        #expect(v4.map(\.host) == ["127.0.0.1"] && v4[0].port == 9560 && v4[0].family == AF_INET)
        let v6 = try MetricsListenAddress.parse("[::1]:9560").resolve()
        #expect(v6.map(\.host) == ["::1"] && v6[0].family == AF_INET6)
        // localhost resolves to loopback addresses only (getaddrinfo, /etc/hosts).
        let local = try MetricsListenAddress.parse("localhost:80").resolve()
        #expect(!local.isEmpty && local.allSatisfy { $0.host == "127.0.0.1" || $0.host == "::1" })
    }

    @Test func anUnknownNameIsAClearErrorAtStart() {
        // .invalid never resolves (RFC 6761).
        #expect {
            _ = try MetricsEndpoint(listen: "no-such-host.invalid:9560")
        } throws: { e in
            let d = "\(e)"
            return d.hasPrefix("metrics_listen \"no-such-host.invalid:9560\": cannot resolve 'no-such-host.invalid'")
        }
        #expect { _ = try MetricsEndpoint(listen: "127.0.0.1") } throws: { "\($0)".hasPrefix("metrics_listen: \"127.0.0.1\": no port") }
    }

    @Test func aPortInUseIsNamed() throws {
        let first = try MetricsEndpoint(listen: "127.0.0.1:0")
        defer { first.stop() }
        #expect {
            _ = try MetricsEndpoint(listen: "127.0.0.1:\(first.port)")
        } throws: { "\($0)".contains("cannot listen on 127.0.0.1:\(first.port): Address already in use") }
    }

    /// The endpoint serves on IPv6 loopback and on a name, with the build and process metrics before any update.
    @Test(arguments: ["[::1]:0", "localhost:0"])
    func servesOnIPv6AndNames(_ listen: String) throws {
        let m = try MetricsEndpoint(listen: listen)
        defer { m.stop() }
        #expect(m.port != 0)
        let v6 = m.boundAddress.family == AF_INET6
        #expect(m.url == (v6 ? "http://[::1]:\(m.port)/metrics" : "http://127.0.0.1:\(m.port)/metrics"))
        let body = try #require(httpGet(host: m.boundAddress.host, port: m.port, path: "/metrics"))
        #expect(body.hasPrefix("HTTP/1.0 200 OK\r\n"))
        #expect(body.contains("Content-Type: text/plain; version=0.0.4"))
        #expect(body.contains("# TYPE flowsentry_build_info gauge\nflowsentry_build_info{version=\""))
        #expect(body.contains("# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total "))
    }
}

extension MetricsListenAddressTests {
    /// The config loader (and so check-config) names the file, the key and the reason.
    @Test func theConfigKeyIsCheckedWhenLoaded() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fs-metrics-cfg-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("bad.yaml").path
        try "metrics_listen: \"::1:9560\"\n".write(toFile: bad, atomically: true, encoding: .utf8)
        #expect {
            _ = try SensorConfig.load(path: bad)
        } throws: { e in
            let d = "\(e)"
            return d.contains(bad) && d.contains("metrics_listen") && d.contains("needs brackets, as [::1]:9560")
        }
        let good = dir.appendingPathComponent("good.yaml").path
        try "metrics_listen: localhost:9560\n".write(toFile: good, atomically: true, encoding: .utf8)
        #expect(try SensorConfig.load(path: good).metricsListen == "localhost:9560")
    }
}
