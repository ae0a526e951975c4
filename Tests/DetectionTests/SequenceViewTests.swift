@testable import Detection
import Testing

/// The turns view: each side's turn one entry, pure ACKs left out, and the
/// same entries however the turns were cut into segments or acknowledged.
@Suite struct SequenceViewTests {
    typealias Packet = (direction: Float, ip: Float, payload: Float, gap: Float, flags: Float)
    static let syn: Float = 0x02, synAck: Float = 0x12, ack: Float = 0x10, psh: Float = 0x18, finAck: Float = 0x11

    func turns(_ packets: [Packet]) -> [Packet] {
        var row = [Float](repeating: 0, count: 32 * 5)
        for (i, p) in packets.enumerated() { row.replaceSubrange((i * 5)..<(i * 5 + 5), with: [p.0, p.1, p.2, p.3, p.4]) }
        let n = row.withUnsafeMutableBufferPointer { SequenceView.turns.apply(row: $0.baseAddress!, length: packets.count, capacity: 32) }
        #expect(row[(n * 5)...].allSatisfy { $0 == 0 })
        return (0..<n).map { (row[$0 * 5], row[$0 * 5 + 1], row[$0 * 5 + 2], row[$0 * 5 + 3], row[$0 * 5 + 4]) }
    }

    /// A request in one segment, a response in three, each acknowledged.
    let exchange: [Packet] = [
        (1, 60, 0, 0, syn), (-1, 60, 0, 0.01, synAck), (1, 52, 0, 0.01, ack),
        (1, 352, 300, 0.001, psh), (-1, 52, 0, 0.01, ack),
        (-1, 1500, 1448, 0.02, ack), (-1, 1500, 1448, 0.0001, ack), (1, 52, 0, 0.0001, ack), (-1, 152, 100, 0.0001, psh),
        (1, 52, 0, 0.01, ack), (1, 52, 0, 0.5, finAck), (-1, 52, 0, 0.001, finAck),
    ]

    @Test func eachTurnIsOneEntryAndPureAcksGo() {
        let t = turns(exchange)
        #expect(t.count == 6)
        #expect(t[0] == (1, 60, 0, 0, Self.syn) && t[1] == (-1, 60, 0, 0.01, Self.synAck))
        // The request: its gap runs from the SYN-ACK (the handshake's ACK left out).
        #expect(t[2].direction == 1 && t[2].payload == 300 && t[2].ip == 352 && abs(t[2].gap - 0.011) < 1e-6)
        // The response: three segments, one IP header, the flags of all; the client's ACK between them is gone.
        #expect(t[3].direction == -1 && t[3].payload == 2996 && t[3].ip == 1500 + 1448 + 100 && t[3].flags == Self.psh)
        #expect(abs(t[3].gap - 0.03) < 1e-6)
        #expect(t[4].flags == Self.finAck && abs(t[4].gap - 0.51) < 1e-6 && t[5].flags == Self.finAck)
    }

    @Test func splitSegmentsAndAddedAcksLeaveTheTurnsAsTheyWere() {
        var split = exchange
        // The request sent as two segments 1 µs apart, and a pure ACK added after the first response segment.
        let halves: [Packet] = [(1, 152, 100, 0.001, Self.ack), (1, 252, 200, 0.000001, Self.psh)]
        split.replaceSubrange(3...3, with: halves)
        let added: Packet = (-1, 52, 0, 0.000001, Self.ack)
        split.insert(added, at: 7)
        split[8].gap -= 0.000001
        let a = turns(exchange), b = turns(split)
        #expect(a.count == b.count)
        for (x, y) in zip(a, b) {
            #expect(x.direction == y.direction && x.ip == y.ip && x.payload == y.payload && x.flags == y.flags)
            #expect(abs(x.gap - y.gap) < 2e-6)
        }
    }

    @Test func turnsOfTurnsAreTheSameAndPacketsAreUntouched() {
        let once = turns(exchange)
        let twice = turns(once)
        #expect(once.count == twice.count && zip(once, twice).allSatisfy { $0 == $1 })
        var row: [Float] = [1, 52, 0, 0, Float(0x10)] + [Float](repeating: 0, count: 31 * 5)
        let n = row.withUnsafeMutableBufferPointer { SequenceView.packets.apply(row: $0.baseAddress!, length: 1, capacity: 32) }
        #expect(n == 1 && row[1] == 52)
    }
}
