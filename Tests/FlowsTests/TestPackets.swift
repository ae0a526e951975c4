import Foundation
import Testing
@testable import Decoding
@testable import Features
@testable import Flows

/// Packets and feeding helpers shared by the flow-table tests.

let client = IPAddress(v4: 10, 0, 0, 1)
let server = IPAddress(v4: 10, 0, 0, 2)

func pkt(_ t: Double, from src: IPAddress = client, to dst: IPAddress = server,
         sport: UInt16 = 40000, dport: UInt16 = 80, proto: UInt8 = 6, flags: UInt8 = 0x10,
         len: Int = 40) -> DecodedPacket {
    var p = DecodedPacket()
    p.timestampNs = Int64((t * 1e9).rounded())
    p.src = src; p.dst = dst
    p.srcPort = sport; p.dstPort = dport; p.hasPorts = true
    p.proto = proto; p.ipVersion = 4
    p.tcpFlags = proto == 6 ? flags : 0
    p.ipLength = len
    return p
}

func reply(_ t: Double, flags: UInt8 = 0x10, proto: UInt8 = 6, len: Int = 40) -> DecodedPacket {
    pkt(t, from: server, to: client, sport: 80, dport: 40000, proto: proto, flags: flags, len: len)
}

extension FlowTable {
    func feed(_ ps: [DecodedPacket], sink: inout FlowSink) {
        for var p in ps { process(&p, bytes: ByteView(base: nil, count: 0), sink: &sink) }
    }
}
