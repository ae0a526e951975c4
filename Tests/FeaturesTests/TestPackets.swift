import Foundation
import Testing
@testable import Decoding
@testable import Context
@testable import Features

/// A decoded TCP packet for feeding accumulators by hand.
func packet(ts: Double, len: Int, payload: Int = 0, flags: UInt8 = 0, window: UInt16 = 0,
            proto: UInt8 = 6, payloadOffset: Int = 0) -> DecodedPacket {
    var p = DecodedPacket()
    p.timestampNs = Int64((ts * 1e9).rounded())
    p.ipLength = len
    p.payloadLength = payload
    p.payloadOffset = payloadOffset
    p.proto = proto
    p.tcpFlags = flags
    p.tcpWindow = window
    p.hasPorts = true
    return p
}
