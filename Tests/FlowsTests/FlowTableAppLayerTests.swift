import Testing
@testable import AppLayer
@testable import Decoding
@testable import Features
@testable import Flows

/// The flow table hands each flow's stream prefixes to the application-layer
/// parsers when the flow ends: segments out of order and retransmitted still
/// give the request as sent, and the pool's handles come back.
@Suite struct FlowTableAppLayerTests {
    /// A TCP segment carrying `payload` (the bytes lie at offset 0 of `bytes`).
    private func segment(_ t: Double, fromClient: Bool, seq: UInt32, flags: UInt8 = 0x18, _ payload: [UInt8],
                         table: FlowTable, sink: inout FlowSink) {
        var p = fromClient ? pkt(t, flags: flags, len: 40 + payload.count) : reply(t, flags: flags, len: 40 + payload.count)
        p.tcpSeq = seq
        p.payloadOffset = 0
        p.payloadLength = payload.count
        payload.withUnsafeBytes { table.process(&p, bytes: ByteView($0), sink: &sink) }
    }

    @Test func httpRequestReassembledFromSegmentsOutOfOrder() throws {
        let table = FlowTable(config: FlowTableConfig())
        var sink = FlowSink()
        let request = Array("GET /a/b?id=1%27 HTTP/1.1\r\nHost: shop.example:8080\r\nUser-Agent: t/1\r\n\r\n".utf8)
        let response = Array("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".utf8)
        segment(0.0, fromClient: true, seq: 100, flags: 0x02, [], table: table, sink: &sink)
        segment(0.01, fromClient: false, seq: 500, flags: 0x12, [], table: table, sink: &sink)
        let cut = 20
        segment(0.02, fromClient: true, seq: 101 + UInt32(cut), Array(request[cut...]), table: table, sink: &sink)
        segment(0.03, fromClient: true, seq: 101, Array(request[..<cut]), table: table, sink: &sink)
        segment(0.04, fromClient: true, seq: 101, Array(request[..<5]), table: table, sink: &sink)  // retransmission
        segment(0.05, fromClient: false, seq: 501, response, table: table, sink: &sink)
        table.flushAll(reason: .shutdown, sink: &sink)
        var r = try #require(sink.records.first)
        #expect(r.app == nil && r.appCapture?.count == request.count + response.count)  // parsed later, off the table
        r.resolveAppLayer()
        let app = try #require(r.app)
        #expect(app.proto == .http)
        #expect(app.client.bytes == request.count, "\(app.client.bytes) \(request.count)")
        #expect(app.client.outOfOrder == 1, "\(app.client.outOfOrder)")
        #expect(app.client.overlaps == 1)
        let tx = try #require(app.http?.transactions.first)
        #expect(tx.uri == "/a/b?id=1%27" && tx.hostname == "shop.example" && tx.status == 404)
        #expect(r.features[.app_http] == 1 && r.features[.http_uri_quotes] == 1 && r.features[.http_status_class] == 4)
        #expect(r.features[.app_tls] == 0)
        #expect(table.appStreamsExhausted == 0)
    }

    @Test func flowsWithoutPayloadHaveNoAppProtoAndPoolHandlesAreReused() throws {
        var config = FlowTableConfig()
        config.stripes = 1
        config.appStreamCapacity = 1
        let table = FlowTable(config: config)
        var sink = FlowSink()
        // Two flows one after the other through a pool of one prefix.
        for k in 0..<2 {
            var p = pkt(Double(k), sport: UInt16(40000 + k), flags: 0x18, len: 45)
            p.payloadLength = 5; p.payloadOffset = 0; p.tcpSeq = 1
            Array("hello".utf8).withUnsafeBytes { table.process(&p, bytes: ByteView($0), sink: &sink) }
            table.flushAll(reason: .shutdown, sink: &sink)
        }
        table.feed([pkt(5, sport: 41000, flags: 0x02)], sink: &sink)
        table.flushAll(reason: .shutdown, sink: &sink)
        var records = Array(sink.records)
        for i in records.indices { records[i].resolveAppLayer() }
        #expect(records.count == 3)
        #expect(records[0].app?.proto == .failed && records[1].app?.proto == .failed)
        #expect(records[2].app == nil && records[2].features[.app_failed] == 0)
        #expect(table.appStreamsExhausted == 0)
    }
}
