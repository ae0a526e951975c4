import Decoding

/// A flow's TCP connection state, from the flags its packets carried each
/// way: the handshake, FINs and RST. One byte, kept in the flow's slot; the
/// only place flow state is derived from TCP flags.
///
/// A flow opened by a bare SYN counts as half-open at its server (host
/// context) until the handshake completes or a RST ends it; `observe` says
/// when that count must be taken back.
struct TCPTracker: Sendable, Equatable {
    private(set) var bits: UInt8 = 0

    private static let synFromClient: UInt8 = 1
    private static let synAckFromServer: UInt8 = 2
    private static let finFromClient: UInt8 = 4
    private static let finFromServer: UInt8 = 8
    private static let rst: UInt8 = 16
    private static let handshakeDone: UInt8 = 32
    private static let halfOpenCounted: UInt8 = 64

    /// A SYN without ACK: a connection attempt. A non-first fragment carries
    /// no TCP header, so it is never one.
    @inline(__always)
    static func isBareSyn(proto: UInt8, flags: UInt8, nonFirstFragment: Bool) -> Bool {
        proto == IPProto.tcp && !nonFirstFragment && flags & (TCPFlag.syn | TCPFlag.ack) == TCPFlag.syn
    }

    /// A SYN-ACK: its sender is the server.
    @inline(__always)
    static func isSynAck(proto: UInt8, flags: UInt8, nonFirstFragment: Bool) -> Bool {
        proto == IPProto.tcp && !nonFirstFragment
            && flags & (TCPFlag.syn | TCPFlag.ack) == (TCPFlag.syn | TCPFlag.ack)
    }

    init() {}

    /// A new flow's state; one opened by a bare SYN is counted half-open.
    init(openedByBareSyn: Bool) {
        bits = openedByBareSyn ? Self.halfOpenCounted : 0
    }

    /// Accounts one TCP packet's flags. Returns true when this packet ends
    /// the flow's half-open count (handshake completed, or reset): the
    /// caller takes it back from the server's host context.
    @inline(__always)
    mutating func observe(flags: UInt8, fromClient: Bool) -> Bool {
        var t = bits
        if flags & TCPFlag.syn != 0 {
            if flags & TCPFlag.ack == 0 && fromClient { t |= Self.synFromClient }
            if flags & TCPFlag.ack != 0 && !fromClient { t |= Self.synAckFromServer }
        } else if fromClient && flags & TCPFlag.ack != 0 && t & Self.synAckFromServer != 0 {
            t |= Self.handshakeDone
        }
        if flags & TCPFlag.fin != 0 { t |= fromClient ? Self.finFromClient : Self.finFromServer }
        if flags & TCPFlag.rst != 0 { t |= Self.rst }
        var halfOpenEnded = false
        if t & Self.halfOpenCounted != 0 && t & (Self.handshakeDone | Self.rst) != 0 {
            t &= ~Self.halfOpenCounted
            halfOpenEnded = true
        }
        bits = t
        return halfOpenEnded
    }

    /// Reset, or FIN seen both ways.
    var isClosed: Bool {
        bits & Self.rst != 0 || (bits & Self.finFromClient != 0 && bits & Self.finFromServer != 0)
    }

    /// Why a closed connection ended.
    var closeReason: EndReason { bits & Self.rst != 0 ? .tcpRst : .tcpFin }

    /// The client sent a SYN that no SYN-ACK answered.
    var handshakeFailed: Bool { bits & Self.synFromClient != 0 && bits & Self.synAckFromServer == 0 }

    /// Still counted half-open at the server.
    var halfOpenPending: Bool { bits & Self.halfOpenCounted != 0 }

    /// Where the connection stood when the record was written, in
    /// Suricata's `tcp.state` words.
    var endState: TCPEndState {
        if bits & Self.rst != 0 { return .closed }
        let fins = bits & (Self.finFromClient | Self.finFromServer)
        if fins == Self.finFromClient | Self.finFromServer { return .closed }
        if fins != 0 { return .finWait1 }
        if bits & Self.handshakeDone != 0 { return .established }
        if bits & Self.synAckFromServer != 0 { return .synRecv }
        if bits & Self.synFromClient != 0 { return .synSent }
        return .none
    }
}

/// A TCP flow's state at the end of its record, as Suricata names it in
/// `tcp.state`: `none` (no handshake seen: picked up mid-stream),
/// `syn_sent` (SYN unanswered), `syn_recv` (SYN-ACK, no final ACK),
/// `established`, `fin_wait1` (a FIN one way only), `closed` (FIN both ways,
/// or a RST).
public enum TCPEndState: UInt8, Sendable {
    case none, synSent, synRecv, established, finWait1, closed
    public var staticName: StaticString {
        switch self {
        case .none: "none"
        case .synSent: "syn_sent"
        case .synRecv: "syn_recv"
        case .established: "established"
        case .finWait1: "fin_wait1"
        case .closed: "closed"
        }
    }
}
