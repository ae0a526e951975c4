import CPcap
import Decoding
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Errors from opening or reading a live interface. Each names the interface.
/// `isInterfaceUnavailable` marks the ones a sensor should retry (the
/// interface vanished, went down, or does not exist yet).
public enum LiveCaptureError: Error, CustomStringConvertible, Sendable, Equatable {
    case noSuchInterface(interface: String, reason: String)
    case permissionDenied(interface: String, reason: String)
    case promiscuousPermissionDenied(interface: String, reason: String)
    case interfaceNotUp(interface: String, reason: String)
    case cannotOpen(interface: String, reason: String)
    case unsupportedLinkType(interface: String, dlt: Int32, name: String)
    case badFilter(interface: String, filter: String, reason: String)
    case fanoutFailed(interface: String, groupID: UInt16, reason: String)
    /// The interface disappeared or went down while capturing: reopen later.
    case interfaceGone(interface: String, reason: String)
    case readFailed(interface: String, reason: String)
    case statsFailed(interface: String, reason: String)
    case ioctlFailed(interface: String, request: String, reason: String)

    public var interface: String {
        switch self {
        case let .noSuchInterface(i, _), let .permissionDenied(i, _), let .promiscuousPermissionDenied(i, _),
             let .interfaceNotUp(i, _), let .cannotOpen(i, _), let .unsupportedLinkType(i, _, _),
             let .badFilter(i, _, _), let .fanoutFailed(i, _, _), let .interfaceGone(i, _),
             let .readFailed(i, _), let .statsFailed(i, _), let .ioctlFailed(i, _, _):
            return i
        }
    }

    /// True when the interface is missing, down or gone: worth retrying the open.
    public var isInterfaceUnavailable: Bool {
        switch self {
        case .noSuchInterface, .interfaceNotUp, .interfaceGone: return true
        default: return false
        }
    }

    /// How to give the sensor capture rights; part of the permission errors.
    public static let capabilityHint =
        "packet capture needs CAP_NET_RAW: run it as the flowsentry@<interface> systemd unit "
        + "(AmbientCapabilities=CAP_NET_RAW), or grant the binary the capability with "
        + "'setcap cap_net_raw=eip /usr/local/bin/flowsentry', or run as root"

    public var description: String {
        switch self {
        case let .noSuchInterface(i, reason):
            return "\(i): no such interface (\(reason)); list interfaces with 'ip link'"
        case let .permissionDenied(i, reason):
            return "\(i): permission denied opening the interface (\(reason)); \(Self.capabilityHint)"
        case let .promiscuousPermissionDenied(i, reason):
            return "\(i): permission denied enabling promiscuous mode (\(reason)); \(Self.capabilityHint); or set promiscuous: false"
        case let .interfaceNotUp(i, reason):
            return "\(i): interface is not up (\(reason)); bring it up with 'ip link set \(i) up'"
        case let .cannotOpen(i, reason):
            return "\(i): cannot open interface: \(reason)"
        case let .unsupportedLinkType(i, dlt, name):
            return "\(i): unsupported link type \(dlt) (\(name)); supported: Ethernet, Linux SLL/SLL2, raw IP, BSD loopback/NULL, PPP, PPPoE, Cisco HDLC"
        case let .badFilter(i, filter, reason):
            return "\(i): bad BPF filter '\(filter)': \(reason)"
        case let .fanoutFailed(i, group, reason):
            return "\(i): cannot join PACKET_FANOUT group \(group): \(reason); every interface needs its own fanout group id, and all members must use the same mode"
        case let .interfaceGone(i, reason):
            return "\(i): interface went away or down while capturing (\(reason)); will retry"
        case let .readFailed(i, reason):
            return "\(i): read error: \(reason)"
        case let .statsFailed(i, reason):
            return "\(i): cannot read capture statistics: \(reason)"
        case let .ioctlFailed(i, request, reason):
            return "\(i): \(request) failed: \(reason)"
        }
    }

    /// Maps a negative `pcap_activate` result to an error. Pure, so the
    /// message text can be tested without dropping privileges.
    public static func activationFailure(interface: String, code: Int32, message: String) -> LiveCaptureError {
        let reason = message.isEmpty ? statusString(code) : message
        switch code {
        case PCAP_ERROR_NO_SUCH_DEVICE: return .noSuchInterface(interface: interface, reason: reason)
        case PCAP_ERROR_PERM_DENIED: return .permissionDenied(interface: interface, reason: reason)
        case PCAP_ERROR_PROMISC_PERM_DENIED: return .promiscuousPermissionDenied(interface: interface, reason: reason)
        case PCAP_ERROR_IFACE_NOT_UP: return .interfaceNotUp(interface: interface, reason: reason)
        default: return .cannotOpen(interface: interface, reason: "\(statusString(code)): \(reason)")
        }
    }

    static func statusString(_ code: Int32) -> String {
        pcap_statustostr(code).map { String(cString: $0) } ?? "pcap status \(code)"
    }
}

/// A positive `pcap_activate` result: the capture works, but the caller
/// should log this (e.g. promiscuous mode not supported).
public struct LiveCaptureWarning: Sendable, Equatable, CustomStringConvertible {
    public let interface: String
    public let code: Int32
    public let message: String
    public var description: String { "\(interface): warning: \(message)" }
}

/// Options for opening an interface; the defaults suit an IDS sensor
/// (block-buffered TPACKET_V3, 64 MiB ring, 10 ms block timeout).
public struct LiveCaptureOptions: Sendable {
    public var snaplen: Int32 = 262_144
    public var promiscuous = true
    /// libpcap's read timeout (the TPACKET_V3 block timeout), milliseconds.
    public var timeoutMs: Int32 = 10
    /// How long `next()` waits for a packet before returning nil, milliseconds.
    public var pollTimeoutMs: Int32 = 100
    public var bufferSize: Int32 = 64 << 20
    public var immediateMode = false
    public var nanosecondTimestamps = true
    public var filter: String?
    /// Join this PACKET_FANOUT group right after activation.
    public var fanout: (groupID: UInt16, mode: FanoutMode)?

    public init(snaplen: Int32 = 262_144, promiscuous: Bool = true, timeoutMs: Int32 = 10,
                pollTimeoutMs: Int32 = 100, bufferSize: Int32 = 64 << 20, immediateMode: Bool = false,
                nanosecondTimestamps: Bool = true, filter: String? = nil,
                fanout: (groupID: UInt16, mode: FanoutMode)? = nil) {
        self.snaplen = snaplen
        self.promiscuous = promiscuous
        self.timeoutMs = timeoutMs
        self.pollTimeoutMs = pollTimeoutMs
        self.bufferSize = bufferSize
        self.immediateMode = immediateMode
        self.nanosecondTimestamps = nanosecondTimestamps
        self.filter = filter
        self.fanout = fanout
    }
}

/// 64-bit capture counters, wrap-safe over libpcap's 32-bit ones.
public struct CaptureStats: Sendable, Equatable {
    /// Packets that passed the filter, including those later dropped (`ps_recv`).
    public var received: UInt64
    /// Dropped because the ring buffer was full (`ps_drop`).
    public var dropped: UInt64
    /// Dropped by the interface/driver (`ps_ifdrop`; Linux counts it only in promiscuous mode).
    public var ifDropped: UInt64

    public init(received: UInt64 = 0, dropped: UInt64 = 0, ifDropped: UInt64 = 0) {
        self.received = received
        self.dropped = dropped
        self.ifDropped = ifDropped
    }
}

/// Accumulates libpcap's wrapping 32-bit counters into 64-bit totals. Must be
/// fed more often than a counter can wrap twice (at 1 Mpps: every ~70 minutes).
public struct CaptureStatsAccumulator: Sendable, Equatable {
    public private(set) var totals = CaptureStats()
    private var lastReceived: UInt32 = 0
    private var lastDropped: UInt32 = 0
    private var lastIfDropped: UInt32 = 0

    public init() {}

    /// Adds the step from `last` to `current` of a 32-bit counter that may
    /// have wrapped once since `last`.
    public static func advance(_ total: UInt64, from last: UInt32, to current: UInt32) -> UInt64 {
        total &+ UInt64(current &- last)
    }

    /// Feeds one raw `pcap_stats` reading; returns the running totals.
    @discardableResult
    public mutating func update(received: UInt32, dropped: UInt32, ifDropped: UInt32) -> CaptureStats {
        totals.received = Self.advance(totals.received, from: lastReceived, to: received)
        totals.dropped = Self.advance(totals.dropped, from: lastDropped, to: dropped)
        totals.ifDropped = Self.advance(totals.ifDropped, from: lastIfDropped, to: ifDropped)
        lastReceived = received
        lastDropped = dropped
        lastIfDropped = ifDropped
        return totals
    }
}

/// A live interface opened through libpcap (TPACKET_V3 on Linux), in
/// non-blocking mode with its own poll so that `next()` returns nil after
/// `pollTimeoutMs` without traffic (libpcap's own timeout does not fire on an
/// idle TPACKET_V3 ring). Packets are read in place: `next()` returns a view
/// into libpcap's ring, valid until the following call.
///
/// Not thread-safe: one reader thread per handle. Only `breakLoop()` may be
/// called from another thread (e.g. a signal-handling task).
public final class LiveCapture: @unchecked Sendable {
    public let interface: String
    public let linkType: LinkType
    public let dlt: Int32
    public let snaplen: Int
    public let options: LiveCaptureOptions
    /// Positive `pcap_activate` results, for the caller to log.
    public let warnings: [LiveCaptureWarning]
    /// Whether libpcap delivers nanosecond timestamps (else microseconds, scaled).
    public let nanosecondTimestamps: Bool
    public private(set) var packetsRead: UInt64 = 0
    /// The PACKET_FANOUT group joined, if any.
    public internal(set) var fanoutGroup: UInt16?

    let handle: OpaquePointer
    let fd: Int32
    /// False for pseudo-interfaces such as "any" that have no index to check.
    let checksPresence: Bool
    private let stopRequested = Atomic<Bool>(false)
    private var statsAccumulator = CaptureStatsAccumulator()

    public init(interface: String, options: LiveCaptureOptions = LiveCaptureOptions()) throws(LiveCaptureError) {
        self.interface = interface
        self.options = options
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let h = pcap_create(interface, &errbuf) else {
            throw .cannotOpen(interface: interface, reason: Self.string(errbuf))
        }
        _ = pcap_set_snaplen(h, options.snaplen)
        _ = pcap_set_promisc(h, options.promiscuous ? 1 : 0)
        _ = pcap_set_timeout(h, options.timeoutMs)
        _ = pcap_set_buffer_size(h, options.bufferSize)
        _ = pcap_set_immediate_mode(h, options.immediateMode ? 1 : 0)
        if options.nanosecondTimestamps {
            // Fails with PCAP_ERROR_TSTAMP_PRECISION_NOTSUP where unsupported: keep microseconds.
            _ = pcap_set_tstamp_precision(h, Int32(PCAP_TSTAMP_PRECISION_NANO))
        }
        let rc = pcap_activate(h)
        if rc < 0 {
            let message = String(cString: pcap_geterr(h))
            pcap_close(h)
            throw LiveCaptureError.activationFailure(interface: interface, code: rc, message: message)
        }
        var warnings: [LiveCaptureWarning] = []
        if rc > 0 {
            let detail = String(cString: pcap_geterr(h))
            let status = LiveCaptureError.statusString(rc)
            warnings.append(LiveCaptureWarning(interface: interface, code: rc,
                                               message: detail.isEmpty ? status : "\(status): \(detail)"))
        }
        let d = pcap_datalink(h)
        guard let lt = LinkType(dlt: d) else {
            let name = pcap_datalink_val_to_name(d).map { String(cString: $0) } ?? "unknown"
            pcap_close(h)
            throw .unsupportedLinkType(interface: interface, dlt: d, name: name)
        }
        if pcap_setnonblock(h, 1, &errbuf) != 0 {
            pcap_close(h)
            throw .cannotOpen(interface: interface, reason: "cannot set non-blocking mode: \(Self.string(errbuf))")
        }
        let selectable = pcap_get_selectable_fd(h)
        if selectable < 0 {
            pcap_close(h)
            throw .cannotOpen(interface: interface, reason: "libpcap gives no selectable descriptor")
        }
        handle = h
        fd = selectable
        checksPresence = InterfaceInfo.exists(interface: interface)
        dlt = d
        linkType = lt
        snaplen = Int(pcap_snapshot(h))
        nanosecondTimestamps = pcap_get_tstamp_precision(h) == Int32(PCAP_TSTAMP_PRECISION_NANO)
        self.warnings = warnings
        // From here on deinit closes the handle if anything below throws.
        if let fanout = options.fanout {
            try joinFanout(groupID: fanout.groupID, mode: fanout.mode)
        }
        if let filter = options.filter, !filter.isEmpty {
            try setFilter(filter)
        }
    }

    deinit { pcap_close(handle) }

    private static func string(_ buf: [CChar]) -> String {
        buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// Compiles and installs a BPF filter (in the kernel on Linux).
    public func setFilter(_ filter: String) throws(LiveCaptureError) {
        var prog = bpf_program()
        if pcap_compile(handle, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0 {
            throw .badFilter(interface: interface, filter: filter, reason: String(cString: pcap_geterr(handle)))
        }
        defer { pcap_freecode(&prog) }
        if pcap_setfilter(handle, &prog) != 0 {
            throw .badFilter(interface: interface, filter: filter,
                             reason: "cannot install: \(String(cString: pcap_geterr(handle)))")
        }
    }

    /// Asks a reader blocked in (or about to enter) `next()` to return nil.
    /// Safe to call from another thread; `next()` returns within `pollTimeoutMs`.
    public func breakLoop() {
        stopRequested.store(true, ordering: .releasing)
        pcap_breakloop(handle)
    }

    /// True once `breakLoop()` was called.
    public var isStopping: Bool { stopRequested.load(ordering: .acquiring) }

    /// The next packet, or nil when none arrived within `pollTimeoutMs` (so
    /// the caller can expire flows) or after `breakLoop()`. Throws
    /// `.interfaceGone` when the interface vanished or was set down (then
    /// reopen, retrying while the open fails with `isInterfaceUnavailable`).
    @inline(__always)
    public func next() throws(LiveCaptureError) -> CapturedPacket? {
        if stopRequested.load(ordering: .relaxed) { return nil }
        var hdr: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        var rc = pcap_next_ex(handle, &hdr, &data)
        if rc == 0 {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let n = poll(&pfd, 1, options.pollTimeoutMs)
            if stopRequested.load(ordering: .relaxed) { return nil }
            if n <= 0 {
                // Idle. libpcap swallows the ENETDOWN a downed interface
                // raises and just delivers nothing, so look for ourselves
                // (two ioctls, only on this idle path).
                if n == 0, checksPresence {
                    try checkInterfacePresent(reason: "no packets")
                }
                return nil  // timeout or EINTR
            }
            rc = pcap_next_ex(handle, &hdr, &data)
            if rc == 0 {
                if Int32(pfd.revents) & Int32(POLLERR | POLLHUP | POLLNVAL) != 0 {
                    try checkInterfacePresent(reason: "poll reported an error on the packet socket")
                }
                return nil
            }
        }
        if rc == 1, let hdr, let data {
            packetsRead &+= 1
            let h = hdr.pointee
            let sub = Int64(h.ts.tv_usec)
            let ts = Int64(h.ts.tv_sec) * 1_000_000_000 + (nanosecondTimestamps ? sub : sub * 1000)
            return CapturedPacket(timestampNs: ts, wireLength: Int(h.len),
                                  bytes: ByteView(base: UnsafeRawPointer(data), count: Int(h.caplen)),
                                  linkType: linkType)
        }
        if rc == PCAP_ERROR_BREAK { return nil }
        let reason = String(cString: pcap_geterr(handle))
        throw classifyReadError(code: rc, reason: reason, errnoValue: errno)
    }

    /// Read failures that mean the interface is gone or down become
    /// `.interfaceGone`; everything else is `.readFailed`.
    func classifyReadError(code: Int32, reason: String, errnoValue: Int32) -> LiveCaptureError {
        let lower = reason.lowercased()
        if code == PCAP_ERROR_IFACE_NOT_UP || errnoValue == ENXIO || errnoValue == ENODEV || errnoValue == ENETDOWN
            || lower.contains("disappeared") || lower.contains("went down") || lower.contains("no such device")
            || !InterfaceInfo.exists(interface: interface)
            || (try? InterfaceInfo.isUp(interface: interface)) == false {
            return .interfaceGone(interface: interface, reason: reason.isEmpty ? LiveCaptureError.statusString(code) : reason)
        }
        return .readFailed(interface: interface, reason: reason.isEmpty ? LiveCaptureError.statusString(code) : reason)
    }

    private func checkInterfacePresent(reason: String) throws(LiveCaptureError) {
        if !InterfaceInfo.exists(interface: interface) {
            throw .interfaceGone(interface: interface, reason: "\(reason); the interface no longer exists")
        }
        if (try? InterfaceInfo.isUp(interface: interface)) == false {
            throw .interfaceGone(interface: interface, reason: "\(reason); the interface is down")
        }
    }

    /// Polls `pcap_stats` and returns 64-bit running totals (poll at least
    /// every few minutes so the 32-bit counters cannot wrap twice).
    public func stats() throws(LiveCaptureError) -> CaptureStats {
        var ps = pcap_stat()
        if pcap_stats(handle, &ps) != 0 {
            throw .statsFailed(interface: interface, reason: String(cString: pcap_geterr(handle)))
        }
        return statsAccumulator.update(received: ps.ps_recv, dropped: ps.ps_drop, ifDropped: ps.ps_ifdrop)
    }

    /// Name of the libpcap link type, e.g. "EN10MB".
    public var linkTypeName: String {
        pcap_datalink_val_to_name(dlt).map { String(cString: $0) } ?? "\(dlt)"
    }
}
