import Testing
@testable import Decoding
@testable import Flows

@Suite struct TCPTrackerTests {
    let syn = TCPFlag.syn, ack = TCPFlag.ack, fin = TCPFlag.fin, rst = TCPFlag.rst

    /// Suricata's `tcp.state` words for each stage of a connection.
    @Test func endStateNamesEachStageOfTheConnection() {
        func state(_ steps: [(UInt8, Bool)]) -> String {
            var t = TCPTracker()
            for (f, c) in steps { _ = t.observe(flags: f, fromClient: c) }
            return "\(t.endState.staticName)"
        }
        #expect(state([]) == "none")
        #expect(state([(ack, true), (ack, false)]) == "none")  // picked up mid-stream
        #expect(state([(syn, true)]) == "syn_sent")
        #expect(state([(syn, true), (syn | ack, false)]) == "syn_recv")
        #expect(state([(syn, true), (syn | ack, false), (ack, true)]) == "established")
        #expect(state([(syn, true), (syn | ack, false), (ack, true), (fin | ack, false)]) == "fin_wait1")
        #expect(state([(syn, true), (syn | ack, false), (ack, true), (fin | ack, true), (fin | ack, false)]) == "closed")
        #expect(state([(syn, true), (rst | ack, false)]) == "closed")
    }

    @Test func aBareSynIsASynWithoutAckOnTCPOnly() {
        #expect(TCPTracker.isBareSyn(proto: IPProto.tcp, flags: syn, nonFirstFragment: false))
        #expect(!TCPTracker.isBareSyn(proto: IPProto.tcp, flags: syn | ack, nonFirstFragment: false))
        #expect(!TCPTracker.isBareSyn(proto: IPProto.udp, flags: syn, nonFirstFragment: false))
        // A non-first fragment has no TCP header: whatever its flags field holds, it is no SYN.
        #expect(!TCPTracker.isBareSyn(proto: IPProto.tcp, flags: syn, nonFirstFragment: true))
        #expect(TCPTracker.isSynAck(proto: IPProto.tcp, flags: syn | ack | TCPFlag.ece, nonFirstFragment: false))
        #expect(!TCPTracker.isSynAck(proto: IPProto.tcp, flags: syn, nonFirstFragment: false))
        #expect(!TCPTracker.isSynAck(proto: IPProto.tcp, flags: syn | ack, nonFirstFragment: true))
    }

    @Test func theHalfOpenCountEndsOnceWhenTheHandshakeCompletes() {
        var t = TCPTracker(openedByBareSyn: true)
        #expect(t.halfOpenPending)
        let ended1 = t.observe(flags: syn, fromClient: true)
        #expect(!ended1)
        #expect(t.handshakeFailed)  // no SYN-ACK yet
        let ended2 = t.observe(flags: syn | ack, fromClient: false)
        #expect(!ended2)
        #expect(!t.handshakeFailed)
        // The server's own ACKs do not complete the handshake; the client's does, once.
        let ended3 = t.observe(flags: ack, fromClient: false)
        #expect(!ended3)
        #expect(t.halfOpenPending)
        let ended4 = t.observe(flags: ack, fromClient: true)
        #expect(ended4)
        #expect(!t.halfOpenPending)
        let ended5 = t.observe(flags: ack, fromClient: true)
        #expect(!ended5)
        #expect(!t.isClosed)
    }

    @Test func aResetEndsTheHalfOpenCountAndClosesTheFlow() {
        var t = TCPTracker(openedByBareSyn: true)
        let ended6 = t.observe(flags: syn, fromClient: true)
        #expect(!ended6)
        let ended7 = t.observe(flags: rst | ack, fromClient: false)
        #expect(ended7)
        #expect(t.isClosed && t.closeReason == .tcpRst && !t.halfOpenPending)
        #expect(t.handshakeFailed)  // a refused connection: SYN answered by RST
    }

    @Test func finBothWaysClosesAndOneWayDoesNot() {
        var t = TCPTracker(openedByBareSyn: false)
        #expect(!t.halfOpenPending)
        _ = t.observe(flags: fin | ack, fromClient: true)
        #expect(!t.isClosed)
        _ = t.observe(flags: fin | ack, fromClient: true)
        #expect(!t.isClosed)  // the same side twice is still half-closed
        _ = t.observe(flags: fin | ack, fromClient: false)
        #expect(t.isClosed && t.closeReason == .tcpFin)
        // A flow that was never half-open never reports the count ending.
        let ended8 = t.observe(flags: rst, fromClient: true)
        #expect(!ended8)
        #expect(t.closeReason == .tcpRst)
    }

    @Test func aFlowPickedUpMidStreamIsNoFailedHandshake() {
        var t = TCPTracker()
        _ = t.observe(flags: ack | TCPFlag.psh, fromClient: true)
        _ = t.observe(flags: ack, fromClient: false)
        #expect(!t.handshakeFailed && !t.halfOpenPending && !t.isClosed)
    }
}
