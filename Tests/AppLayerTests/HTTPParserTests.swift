import Testing
@testable import AppLayer
import Decoding

@Suite struct HTTPParserTests {
    /// Parses the two streams as a connection's client and server prefixes.
    func http(_ client: String, _ server: String = "") -> HTTPInfo? {
        http(Array(client.utf8), Array(server.utf8))
    }

    func http(_ client: [UInt8], _ server: [UInt8]) -> HTTPInfo? {
        client.withUnsafeBytes { c in server.withUnsafeBytes { s in HTTPParser.parse(client: ByteView(c), server: ByteView(s)) } }
    }

    @Test func simpleGetWithHostPortAndUserAgent() throws {
        let i = try #require(http(
            "GET /index.html?a=1&b=2 HTTP/1.1\r\nHost: Example.COM:8080\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Length: 5\r\n\r\nhello"))
        #expect(i.requestCount == 1 && i.responseCount == 1 && i.malformed == nil && !i.clientTruncated && !i.serverTruncated)
        let t = try #require(i.transactions.first)
        #expect(t.method == "GET" && t.uri == "/index.html?a=1&b=2" && t.protocolVersion == "HTTP/1.1")
        #expect(t.hostname == "example.com" && t.port == 8080 && t.userAgent == "curl/8.5.0" && t.referer == nil)
        #expect(t.status == 200 && t.responseProtocolVersion == "HTTP/1.1" && t.responseContentType == "text/html")
        #expect(t.responseContentLength == 5 && t.responseBodyBytes == 5 && t.location == nil)
        #expect(i.methodCode == 1 && i.statusClass == 2 && i.uriParameterCount == 2 && i.userAgentLength == 10)
        #expect(i.uriLength == 19 && i.requestCountValue == 1)
    }

    @Test func pipelinedRequestsPairWithResponsesInOrder() throws {
        let i = try #require(http(
            "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\nHEAD /c HTTP/1.1\r\nHost: h\r\n\r\nGET /d HTTP/1.1\r\nHost: h\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
                + "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
                + "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"  // HEAD: no body follows
                + "HTTP/1.1 304 Not Modified\r\n\r\n"))
        #expect(i.requestCount == 4 && i.responseCount == 4 && i.malformed == nil)
        #expect(i.transactions.map(\.uri) == ["/a", "/b", "/c", "/d"])
        #expect(i.transactions.map(\.status) == [200, 404, 200, 304])
        #expect(i.transactions.map(\.responseBodyBytes) == [3, 0, 0, 0])
        #expect(i.transactions[2].method == "HEAD" && i.transactions[2].responseContentLength == 1000)
    }

    @Test func postBodyIsSkippedToTheNextRequest() throws {
        let i = try #require(http(
            "POST /login.php HTTP/1.1\r\nHost: dvwa\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                + "Content-Length: 27\r\nReferer: http://dvwa/login.php\r\n\r\nusername=admin&password=abc"
                + "\r\nGET /index.php HTTP/1.1\r\nHost: dvwa\r\n\r\n"))  // one stray CRLF after the body is tolerated
        #expect(i.requestCount == 2 && i.malformed == nil && !i.clientTruncated)
        let post = i.transactions[0]
        #expect(post.method == "POST" && post.requestContentType == "application/x-www-form-urlencoded")
        #expect(post.requestContentLength == 27 && post.referer == "http://dvwa/login.php")
        #expect(i.transactions[1].uri == "/index.php" && i.methodCode == 2)
    }

    @Test func chunkedBodiesAreWalked() throws {
        let i = try #require(http(
            "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
                + "5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n"
                + "HTTP/1.1 204 No Content\r\n\r\n"))
        #expect(i.requestCount == 2 && i.responseCount == 2 && i.malformed == nil)
        #expect(i.transactions[0].requestChunked && i.transactions[1].uri == "/next")
        #expect(i.transactions[0].responseChunked && i.transactions[0].responseBodyBytes == 15)
        #expect(i.transactions[1].status == 204)
        // A chunk size that is not hex stops the stream with a reason.
        let bad = try #require(http("GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"))
        #expect(bad.malformed == "http.chunk_size")
        // Cut inside a chunk: the bytes seen count, the stream is flagged.
        let cut = try #require(http("GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc"))
        #expect(cut.serverTruncated && cut.transactions[0].responseBodyBytes == 3 && cut.malformed == nil)
    }

    @Test func requestCutMidHeaderKeepsWhatWasSeen() throws {
        let i = try #require(http("GET /x HTTP/1.1\r\nHost: example.com\r\nUser-Ag"))
        #expect(i.clientTruncated && i.malformed == nil && i.requestCount == 1)
        #expect(i.transactions[0].hostname == "example.com" && i.transactions[0].userAgent == nil)
        // A long target cut by the prefix still counts (known method).
        let long = try #require(http("GET /" + String(repeating: "A", count: 100)))
        #expect(long.clientTruncated && long.transactions[0].uriWireLength == 101 && long.transactions[0].protocolVersion == "")
        // Every prefix of a whole exchange parses without trapping.
        let client = Array("POST /a?b=c HTTP/1.1\r\nHost: h:1\r\nContent-Length: 3\r\n\r\nxyzGET /d HTTP/1.0\r\n\r\n".utf8)
        let server = Array("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 302 Found\r\nLocation: /e\r\nContent-Length: 2\r\n\r\nokHTTP/1.0 200 OK\r\n\r\nrest".utf8)
        for n in 0...client.count {
            let r = http(Array(client.prefix(n)), server)
            #expect((r != nil) == (n >= "POST /".count), "client prefix \(n)")
        }
        for n in 0...server.count {
            let r = try #require(http(client, Array(server.prefix(n))))
            #expect(r.requestCount == 2 && r.malformed == nil, "server prefix \(n)")
        }
        let whole = try #require(http(client, server))
        #expect(whole.transactions.map(\.status) == [302, 200] && whole.transactions[0].location == "/e")
        #expect(whole.transactions[1].responseBodyBytes == 4)  // no length: to the end of the stream
    }

    @Test func injectionAndTraversalCounts() throws {
        let sqli = try #require(http("GET /x?id=1%27%20OR%20%271%27=%271 HTTP/1.1\r\n\r\n"))
        #expect(sqli.uriQuoteCount == 4 && sqli.uriPercentEncodedShare == 0.6 && sqli.uriParameterCount == 1)
        #expect(sqli.uriTraversalCount == 0 && sqli.uriAngleBracketCount == 0 && sqli.uriLength == 30)
        #expect(try #require(http("GET /../../etc/passwd HTTP/1.1\r\n\r\n")).uriTraversalCount == 2)
        #expect(try #require(http("GET /a/%2e%2e%2f%2e%2e%2fetc HTTP/1.1\r\n\r\n")).uriTraversalCount == 2)
        #expect(try #require(http("GET /a/..%2f%2E%2E/..\\%2e%2e%5Cx HTTP/1.1\r\n\r\n")).uriTraversalCount == 4)
        let xss = try #require(http("GET /s?q=<script>%3Cb%3E;x%3b HTTP/1.1\r\n\r\n"))
        #expect(xss.uriAngleBracketCount == 4 && xss.uriSemicolonCount == 2 && xss.uriQuoteCount == 0)
        // Real: the first request of atk_web_sqli_dvwa.pcapng (tshark's http.request.uri).
        let dvwa = try #require(http("GET /dvwa/vulnerabilities/sqli/?id=1%27+OR+%271%27%3D%271&Submit=Submit HTTP/1.1\r\nHost: 192.168.111.154\r\n\r\n"))
        #expect(dvwa.uriQuoteCount == 4 && dvwa.uriParameterCount == 2 && abs(dvwa.uriPercentEncodedShare - 15.0 / 67) < 1e-12)
        #expect(dvwa.transactions[0].hostname == "192.168.111.154" && dvwa.transactions[0].port == nil)
    }

    @Test func nonHTTPIsRefused() {
        #expect(http("") == nil)
        #expect(http("SSH-2.0-OpenSSH_9.2p1\r\n") == nil)
        #expect(http([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03], []) == nil)  // TLS ClientHello
        #expect(http("get / HTTP/1.1\r\n\r\n") == nil)               // methods are upper case
        #expect(http("HTTP/1.1 200 OK\r\n\r\n") == nil)              // a response from the client
        #expect(http("GET / HTTP/2.0\r\n\r\n") == nil)
        #expect(http("GET /\r\n") == nil)                            // HTTP/0.9
        #expect(http("GETX /a HTTP/1.1\r\nHost: h\r\n\r\n") != nil)  // another upper-case token, whole line
        #expect(http("GETX /a") == nil)                              // ... but not cut
        #expect(http("ABCDEFGHIJKLMNOPQ / HTTP/1.1\r\n\r\n") == nil)  // 17-letter method
        #expect(http("GET  /a  HTTP/1.1\r\n\r\n") != nil)             // extra spaces are tolerated
    }

    @Test func limitsStopParsingWithAReason() throws {
        var head = "GET / HTTP/1.1\r\n"
        for k in 0..<HTTPInfo.headerCapacity { head += "X-\(k): v\r\n" }
        #expect(try #require(http(head + "\r\n")).malformed == nil)
        #expect(try #require(http(head + "X-Last: v\r\n\r\n")).malformed == "http.too_many_headers")
        let longLine = "GET / HTTP/1.1\r\nCookie: " + String(repeating: "c", count: HTTPInfo.lineCapacity + 10) + "\r\n\r\n"
        #expect(try #require(http(longLine)).malformed == "http.line_too_long")
        let longURI = try #require(http("GET /" + String(repeating: "u", count: 3000) + " HTTP/1.1\r\nUser-Agent: "
            + String(repeating: "a", count: 600) + "\r\n\r\n"))
        let t = longURI.transactions[0]
        #expect(t.uriTruncated && t.uri.utf8.count == HTTPInfo.uriCapacity && t.uriWireLength == 3001 && longURI.uriLength == 3001)
        #expect(t.valuesTruncated && t.userAgent?.utf8.count == HTTPInfo.valueCapacity && t.userAgentWireLength == 600)
        let many = try #require(http(String(repeating: "GET /p HTTP/1.1\r\nHost: h\r\n\r\n", count: 20)))
        #expect(many.requestCount == 20 && many.transactions.count == HTTPInfo.transactionCapacity && many.transactionsTruncated)
    }

    @Test func toleratedAndSuspectFraming() throws {
        // Bare LF and an obs-fold continuation line.
        let folded = try #require(http("GET / HTTP/1.0\nHost: a\nUser-Agent: x\n \t y\n\n"))
        #expect(folded.transactions[0].userAgent == "x y" && folded.transactions[0].protocolVersion == "HTTP/1.0")
        // Two Content-Length fields that disagree: a smuggling sign; the stream stops there.
        let twoLengths = try #require(http("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 30\r\n\r\nabcGET / HTTP/1.1\r\n\r\n"))
        #expect(twoLengths.malformed == "http.content_length" && twoLengths.requestCount == 1)
        #expect(try #require(http("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n")).malformed == "http.content_length")
        #expect(try #require(http("GET / HTTP/1.1\r\nNo colon here\r\n\r\n")).malformed == "http.header_line")
        #expect(try #require(http("GET / HTTP/1.1\r\n\r\n\u{1}\u{2}binary")).malformed == "http.request_line")
        #expect(try #require(http("GET / HTTP/1.1\r\n\r\n", "SSH-2.0-x\r\n")).malformed == "http.status_line")
        // After an Upgrade request the client speaks another protocol: no complaint.
        let ws = try #require(http("GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\u{81}\u{85}abcd",
                                   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\u{81}\u{05}hello"))
        #expect(ws.malformed == nil && ws.transactions[0].status == 101 && ws.statusClass == 1)
        // A proxy request in absolute form: the host comes from the target.
        let proxy = try #require(http("GET http://user@Proxy.Example:3128/x HTTP/1.1\r\n\r\n"))
        #expect(proxy.transactions[0].hostname == "proxy.example" && proxy.transactions[0].port == 3128)
        let v6 = try #require(http("GET / HTTP/1.1\r\nHost: [2001:db8::1]:8443\r\n\r\n"))
        #expect(v6.transactions[0].hostname == "[2001:db8::1]" && v6.transactions[0].port == 8443)
        // An interim 100 Continue is not the answer; the final response is.
        let cont = try #require(http("PUT /f HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nok",
                                     "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nLocation: /f\r\nContent-Length: 0\r\n\r\n"))
        #expect(cont.responseCount == 1 && cont.transactions[0].status == 201 && cont.methodCode == 4)
    }
}
