import Foundation
@testable import Alerts
@testable import Decoding
@testable import Detection
import Features
import Flows

/// A flow record with the fields the formatters print; the rest at zero.
func testRecord(src: String = "192.0.2.7", dst: String = "198.51.100.9", sport: UInt16 = 40000, dport: UInt16 = 443,
                proto: UInt8 = 6, hasPorts: Bool = true, vlanKey: (UInt16, UInt16, UInt16) = (0, 0, 0),
                tunnel: TunnelKind = .none, tunnelSrc: String = "0.0.0.0", tunnelDst: String = "0.0.0.0",
                startNs: Int64 = 1_700_000_000_900_000_000, endNs: Int64 = 1_700_000_003_100_000_000,
                pkts: (UInt64, UInt64) = (5, 4), bytes: (UInt64, UInt64) = (420, 3000),
                state: FlowStateName = .closed, reason: EndReason = .tcpFin, segment: UInt32 = 0,
                flags: (UInt8, UInt8) = (0, 0), flowID: UInt64 = 77,
                features: FeatureVector = FeatureVector(), sequence: PacketSequence = PacketSequence()) -> FlowRecord {
    let s = IPAddress(src)!, d = IPAddress(dst)!
    let key = FlowKey(a: min(s, d), b: max(s, d), portA: s < d ? sport : dport, portB: s < d ? dport : sport,
                      proto: proto, vlan0: vlanKey.0, vlan1: vlanKey.1, vlan2: vlanKey.2)
    return FlowRecord(key: key, srcIP: s, srcPort: sport, dstIP: d, dstPort: dport, proto: proto, hasPorts: hasPorts,
                      vlanCount: UInt8([vlanKey.0, vlanKey.1, vlanKey.2].filter { $0 != 0 }.count),
                      tunnel: tunnel, tunnelSrc: IPAddress(tunnelSrc)!, tunnelDst: IPAddress(tunnelDst)!,
                      startNs: startNs, endNs: endNs, pktsToServer: pkts.0, pktsToClient: pkts.1,
                      bytesToServer: bytes.0, bytesToClient: bytes.1, state: state, reason: reason, segment: segment,
                      tcpFlagsToServer: flags.0, tcpFlagsToClient: flags.1, flowID: flowID,
                      features: features, sequence: sequence, endedAtNs: endNs)
}

/// Parses one JSON line (it must end in exactly one newline) into a dictionary.
func parseLine(_ bytes: [UInt8]) throws -> [String: Any] {
    guard bytes.last == 10, bytes.dropLast().allSatisfy({ $0 != 10 }) else {
        throw LineError.notOneLine(String(decoding: bytes, as: UTF8.self))
    }
    guard let o = try JSONSerialization.jsonObject(with: Data(bytes.dropLast())) as? [String: Any] else {
        throw LineError.notAnObject
    }
    return o
}

enum LineError: Error { case notOneLine(String), notAnObject }
