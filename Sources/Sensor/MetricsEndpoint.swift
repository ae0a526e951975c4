import Locking
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The optional Prometheus endpoint (off by default): one thread accepting
/// plain HTTP/1.0 `GET /metrics` and answering with text exposition 0.0.4.
/// The sensor's part of the body is rendered once a second by `update` (on
/// the output thread, from a counters snapshot); `flowsentry_build_info` and
/// the `process_*` metrics are added at each scrape.
///
/// It listens on `host:port` (`MetricsListenAddress`): an IPv4 address, a
/// bracketed IPv6 address or a host name resolved with getaddrinfo, bound to
/// the first address that accepts the bind.
package final class MetricsEndpoint: @unchecked Sendable {
    private let fd: Int32
    private let stopping = Atomic<Bool>(false)
    private var thread: pthread_t?
    /// The address and port bound (the port the kernel chose for port 0).
    package let boundAddress: SocketAddress
    package var port: UInt16 { boundAddress.port }
    /// The sensor's metrics as of the last `update`.
    private let sensorText = FSMutex<String>("")

    package struct StartError: Error, CustomStringConvertible { package let description: String }

    /// Checks `listen`'s form (no DNS): the config loader and check-config use it.
    package static func validate(_ listen: String) throws(MetricsListenAddress.ParseError) {
        _ = try MetricsListenAddress.parse(listen)
    }

    package init(listen: String) throws(StartError) {
        let address: MetricsListenAddress
        do { address = try MetricsListenAddress.parse(listen) } catch {
            throw StartError(description: "metrics_listen: \(error)")
        }
        let candidates: [SocketAddress]
        do { candidates = try address.resolve() } catch {
            throw StartError(description: "metrics_listen \"\(listen)\": \(error)")
        }
        var failures: [String] = []
        var bound: (Int32, SocketAddress)?
        for a in candidates {
            let s = socket(a.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard s >= 0 else { failures.append("\(a.host): socket: \(String(cString: strerror(errno)))"); continue }
            var one: Int32 = 1
            setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            let rc = a.withSockaddr { bind(s, $0, $1) }
            if rc == 0, Glibc.listen(s, 16) == 0, let b = SocketAddress.bound(to: s) {
                bound = (s, b)
                break
            }
            failures.append("\(a.family == AF_INET6 ? "[\(a.host)]" : a.host):\(address.port): \(String(cString: strerror(errno)))")
            close(s)
        }
        guard let (s, b) = bound else {
            throw StartError(description: "metrics_listen \"\(listen)\": cannot listen on " + failures.joined(separator: "; "))
        }
        fd = s
        boundAddress = b
        thread = spawnThread(name: "fs-metrics") { [self] in serve() }
    }

    /// `http://host:port/metrics` as bound (numeric host).
    package var url: String {
        let h = boundAddress.family == AF_INET6 ? "[\(boundAddress.host)]" : boundAddress.host
        return "http://\(h):\(port)/metrics"
    }

    /// Stops serving: the thread sees the flag within 200 ms, closes the
    /// socket and is joined before this returns. Idempotent.
    package func stop() {
        if stopping.exchange(true, ordering: .acquiringAndReleasing) { return }
        if let t = thread { pthread_join(t, nil) }
    }

    /// Renders the sensor's metrics from `snapshot`; served until the next update.
    package func update(_ snapshot: SensorMetricsSnapshot) {
        var t = PrometheusText()
        snapshot.append(to: &t)
        sensorText.withLock { $0 = t.text }
    }

    /// The whole exposition as served now.
    package func exposition() -> String {
        var t = PrometheusText()
        BuildInfo.append(to: &t)
        ProcessMetrics.read().append(to: &t)
        return t.text + sensorText.withLock { $0 }
    }

    private func serve() {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while !stopping.load(ordering: .acquiring) {
            guard poll(&pfd, 1, 200) > 0 else { continue }
            let c = accept(fd, nil, nil)
            guard c >= 0 else { continue }
            _ = fcntl(c, F_SETFD, FD_CLOEXEC)
            var tv = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            var buf = [UInt8](repeating: 0, count: 2048)
            let n = read(c, &buf, buf.count)
            let request = n > 0 ? String(decoding: buf[0..<n], as: UTF8.self) : ""
            let ok = request.hasPrefix("GET /metrics") || request.hasPrefix("GET / ")
            let body: [UInt8] = ok ? Array(exposition().utf8) : Array("not found\n".utf8)
            let head = "HTTP/1.0 \(ok ? "200 OK" : "404 Not Found")\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                + "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n"
            let out = Array(head.utf8) + body
            var sent = 0
            while sent < out.count {
                let w = out.withUnsafeBytes { write(c, $0.baseAddress! + sent, $0.count - sent) }
                if w < 0 && errno == EINTR { continue }
                if w <= 0 { break }
                sent += w
            }
            close(c)
        }
        close(fd)
    }
}
