import Features

/// Which packets of a flow's first-packet sequence the sequence models see.
///
/// `packets`: every packet as captured. `turns`: each side's turn in the
/// conversation as one entry — consecutive payload segments one way are one
/// entry (their payloads summed, its IP length the first segment's header
/// and all the payload, their TCP flags or'ed), and
/// pure TCP acknowledgements are left out (their time goes to the next
/// entry's gap). How a message is cut into segments (MSS, MTU, TSO, an
/// attacker splitting it) and when the other side acknowledges (delayed
/// ACKs, window updates, an attacker adding ACKs) depend on the network and
/// the stacks, not on what the two ends say to each other; the turns do
/// not. SYN, FIN and RST segments stay entries of their own.
public enum SequenceView: String, Sendable, CaseIterable {
    case packets, turns

    static let syn: UInt8 = 0x02, fin: UInt8 = 0x01, rst: UInt8 = 0x04, ack: UInt8 = 0x10

    /// Rewrites the first `count` raw rows of a batch (`PacketSequence.length`
    /// entries each) and their lengths in place as this view sees them.
    public func apply(rows: UnsafeMutableBufferPointer<Float>, lengths: UnsafeMutableBufferPointer<Int>, count: Int) {
        guard self != .packets else { return }
        let row = PacketSequence.length * SequenceEncoder.rawChannels
        precondition(rows.count >= count * row && lengths.count >= count)
        for i in 0..<count {
            lengths[i] = apply(row: rows.baseAddress! + i * row, length: lengths[i], capacity: PacketSequence.length)
        }
    }

    /// Rewrites one raw row (`length` entries of 5 floats: direction, IP
    /// length, payload length, gap in seconds, TCP flags) in place as this
    /// view sees it and returns the new length; the entries past it are zeroed.
    public func apply(row: UnsafeMutablePointer<Float>, length: Int, capacity: Int) -> Int {
        guard self == .turns else { return length }
        let rc = SequenceEncoder.rawChannels
        var m = 0
        var gap: Float = 0
        var lastMergeable = false
        for t in 0..<length {
            let s = row + t * rc
            let direction = s[0], ipLength = s[1], payload = s[2], flags = UInt8(clamping: Int(max(0, min(s[4], 255))))
            gap += s[3]
            let control = flags & (Self.syn | Self.fin | Self.rst) != 0
            if payload == 0 && !control && flags & Self.ack != 0 { continue }  // a pure acknowledgement
            let mergeable = payload > 0 && !control
            if lastMergeable && mergeable, row[(m - 1) * rc] == direction {
                let d = row + (m - 1) * rc
                d[1] += payload  // one IP header: the turn's length does not grow with its segment count
                d[2] += payload
                d[4] = Float(UInt8(d[4]) | flags)
                gap = 0
                continue
            }
            let d = row + m * rc
            d[0] = direction; d[1] = ipLength; d[2] = payload; d[3] = gap; d[4] = Float(flags)
            gap = 0
            lastMergeable = mergeable
            m += 1
        }
        for i in (m * rc)..<(capacity * rc) { row[i] = 0 }
        return m
    }
}
