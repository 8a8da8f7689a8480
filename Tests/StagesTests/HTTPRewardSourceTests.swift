import Foundation
import Testing
@testable import Stages

/// The `http` reward source against a local Python server on 127.0.0.1 (started by the test, one
/// path per behaviour): success in both request shapes, a server that is down, a 500 then success
/// (retried), a hang past the timeout, a malformed body, the wrong count and a cut-off body.
@Suite(.serialized) struct HTTPRewardSourceTests {
    static let serverScript = #"""
    import json, sys, time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    log_path = sys.argv[1]
    calls = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def log_message(self, *args):
            pass
        def answer(self, status, body, length=None):
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data) if length is None else length))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with open(log_path, "a") as f:
                f.write(json.dumps({"path": self.path, "body": body}, ensure_ascii=False) + "\n")
            texts = body.get("query") or body.get("completions")
            calls[self.path] = calls.get(self.path, 0) + 1
            if self.path == "/flaky" and calls[self.path] == 1:
                return self.answer(500, '{"detail": "warming up"}')
            if self.path == "/slow":
                time.sleep(5)
            if self.path == "/malformed":
                return self.answer(200, "<html>oops</html>")
            if self.path == "/count":
                return self.answer(200, json.dumps({"rewards": [1.0]}))
            if self.path == "/short":
                self.answer(200, '{"rewards": [1', length=100)
                self.close_connection = True
                return
            if self.path == "/missing":
                return self.answer(404, '{"detail": "Not Found"}')
            self.answer(200, json.dumps({"rewards": [float(len(t)) for t in texts], "scores": [0.5] * len(texts), "extra_logs": {}}))

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
    """#

    /// The running server: its port, the file it logs requests to, and the process.
    final class Server {
        let process = Process()
        let port: Int
        let directory: String
        var requestLog: String { directory + "/requests.jsonl" }

        init() throws {
            directory = try TestDirectory.make("reward-server")
            try HTTPRewardSourceTests.serverScript.write(toFile: directory + "/server.py", atomically: true, encoding: .utf8)
            let output = Pipe()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", directory + "/server.py", directory + "/requests.jsonl"]
            process.standardOutput = output
            try process.run()
            var line = Data()
            while !line.contains(0x0A) {
                let chunk = output.fileHandleForReading.availableData
                guard !chunk.isEmpty else { break }
                line += chunk
            }
            guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
                kill(process.processIdentifier, SIGKILL)
                throw StageError.failed("the test server did not print its port")
            }
            self.port = port
        }

        func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

        func requests() throws -> [[String: Any]] {
            try String(contentsOfFile: requestLog, encoding: .utf8).split(separator: "\n").map {
                try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
            }
        }

        func stop() {
            // SIGKILL: the test process may hand its children a blocked SIGTERM.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    static let request = RewardRequest(prompts: ["这部电影很", "Q: "], completions: ["好看", "yes"],
                                       columns: ["reference": [.string("好看"), .string("no")]])

    func source(_ url: String, format: HTTPRewardSource.Format = .openrlhf, timeout: Double = 10, retries: Int = 2,
                log: @escaping (String) -> Void = { _ in }) throws -> HTTPRewardSource {
        let s = try HTTPRewardSource(url: url, format: format, labelColumn: "reference", timeout: timeout, retries: retries, log: log)
        s.backoff = { _ in 0.01 }
        return s
    }

    func failure(_ s: HTTPRewardSource) -> String {
        do { _ = try s.score(Self.request); return "no error" } catch { return "\(error)" }
    }

    @Test(.enabled(if: python3Available, "needs python3 on the PATH"))
    func successInTheOpenRLHFAndThePipeShapes() throws {
        let server = try Server()
        defer { server.stop() }
        // OpenRLHF: rewards = length of prompt + completion.
        #expect(try source(server.url("/get_reward")).score(Self.request) == [7, 6])
        #expect(try source(server.url("/pipe"), format: .pipe).score(Self.request) == [2, 3])
        let logged = try server.requests()
        let openrlhf = try #require(logged.first?["body"] as? [String: Any])
        #expect(openrlhf["query"] as? [String] == ["这部电影很好看", "Q: yes"])
        #expect(openrlhf["prompts"] as? [String] == ["这部电影很", "Q: "])
        #expect(openrlhf["labels"] as? [String] == ["好看", "no"])
        let pipe = try #require(logged.last?["body"] as? [String: Any])
        #expect(pipe["completions"] as? [String] == ["好看", "yes"])
        #expect((pipe["columns"] as? [String: Any])?["reference"] as? [String] == ["好看", "no"])
        // Without the label column, labels are empty strings (one per row).
        let bare = RewardRequest(prompts: ["a"], completions: ["b"])
        _ = try source(server.url("/get_reward")).score(bare)
        #expect((try server.requests().last?["body"] as? [String: Any])?["labels"] as? [String] == [""])
    }

    @Test func serverDownIsRetriedThenReported() throws {
        // A port nobody listens on: bind one, note it, close it.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        let port = Int(UInt16(bigEndian: address.sin_port))
        close(fd)
        var log: [String] = []
        let message = failure(try source("http://127.0.0.1:\(port)/get_reward", retries: 2, log: { log.append($0) }))
        #expect(message.contains("reward server http://127.0.0.1:\(port)/get_reward: cannot connect to 127.0.0.1:\(port): Connection refused"), "\(message)")
        #expect(message.contains("gave up after 3 attempts; reward_retries 2"), "\(message)")
        #expect(log.count == 2 && log[0].contains("retrying in 0.01 s (attempt 2 of 3)"), "\(log)")
        let unresolvable = failure(try source("http://no-such-host.invalid:8000/x", retries: 0))
        #expect(unresolvable.contains("cannot resolve 'no-such-host.invalid'") && unresolvable.contains("gave up after 1 attempt;"), "\(unresolvable)")
    }

    @Test(.enabled(if: python3Available, "needs python3 on the PATH"))
    func serverErrorIsRetriedUntilItAnswers() throws {
        let server = try Server()
        defer { server.stop() }
        var log: [String] = []
        #expect(try source(server.url("/flaky"), log: { log.append($0) }).score(Self.request) == [7, 6])
        #expect(log.count == 1 && log[0].contains("HTTP 500: '{\"detail\": \"warming up\"}'; retrying"), "\(log)")
        // A client error is not retried.
        let missing = failure(try source(server.url("/missing")))
        #expect(missing.contains("answered HTTP 404"), "\(missing)")
        #expect(try server.requests().filter { $0["path"] as? String == "/missing" }.count == 1)
    }

    @Test(.enabled(if: python3Available, "needs python3 on the PATH"))
    func timeoutMalformedWrongCountAndShortBodyAreClearErrors() throws {
        let server = try Server()
        defer { server.stop() }
        let started = Date()
        let slow = failure(try source(server.url("/slow"), timeout: 0.3, retries: 1))
        #expect(slow.contains("no answer within the timeout of 0.3 s (reward_timeout) (gave up after 2 attempts"), "\(slow)")
        #expect(Date().timeIntervalSince(started) < 3)
        let malformed = failure(try source(server.url("/malformed")))
        #expect(malformed.contains("reward source 'http' answered malformed JSON") && malformed.contains("<html>oops</html>"), "\(malformed)")
        let count = failure(try source(server.url("/count")))
        #expect(count.contains("reward source 'http' gave 1 rewards for 2 completions"), "\(count)")
        let short = failure(try source(server.url("/short"), retries: 1))
        #expect(short.contains("short body: 14 of 100 bytes (Content-Length) before the connection closed"), "\(short)")
        #expect(short.contains("gave up after 2 attempts"), "\(short)")
    }

    @Test func urlsAreCheckedUpFront() throws {
        #expect(try HTTPClient.endpoint("http://127.0.0.1:5000/get_reward") == .init(host: "127.0.0.1", port: 5000, target: "/get_reward"))
        #expect(try HTTPClient.endpoint("http://rm.cluster") == .init(host: "rm.cluster", port: 80, target: "/"))
        #expect(try HTTPClient.endpoint("http://[::1]:8080?x=1") == .init(host: "::1", port: 8080, target: "/?x=1"))
        for bad in ["https://x/y", "ftp://x", "http://:80/", "http://host:port/", "http://user@host/"] {
            #expect(throws: StageError.self, "\(bad)") { try HTTPClient.endpoint(bad) }
        }
    }

    /// Round-trip overhead of one batch of 64 rows through the local Python server (OpenRLHF shape).
    @Test(.enabled(if: python3Available, "needs python3 on the PATH"))
    func roundTripOverheadPerBatch() throws {
        let server = try Server()
        defer { server.stop() }
        let s = try source(server.url("/get_reward"))
        let request = RewardRequest(prompts: Array(repeating: "这次购物总的来说体验很", count: 64),
                                    completions: Array(repeating: "好，质量不错，物流也快，下次还会再来。", count: 64))
        for _ in 0..<3 { _ = try s.score(request) }
        let rounds = 100
        let started = Date()
        for _ in 0..<rounds { #expect(try s.score(request).count == 64) }
        let perBatch = Date().timeIntervalSince(started) / Double(rounds)
        print("reward http round trip: \(String(format: "%.3f", perBatch * 1000)) ms per batch of 64 (python3 http.server, one connection per batch)")
        #expect(perBatch < 0.1, "\(perBatch * 1000) ms per batch")
    }
}
