import Commands
import Foundation
import Store
import Testing
import WorkspaceTestSupport

/// A real headless browser (Debian's chromium) renders the reports. Installed on demand where
/// possible (root + apt-get); the tests are skipped, with a message, where it cannot be.
enum Chromium {
    static let path: String? = {
        if let found = find() { return found }
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/apt-get") else {
            print("note: chromium is not installed and cannot be installed here: the browser checks of the reports are skipped")
            return nil
        }
        print("note: installing Debian's chromium for the report tests (apt-get install -y chromium)")
        _ = shell(["/usr/bin/apt-get", "install", "-y", "-qq", "chromium"], environment: ["DEBIAN_FRONTEND": "noninteractive"])
        if find() == nil {
            _ = shell(["/usr/bin/apt-get", "update", "-qq"])
            _ = shell(["/usr/bin/apt-get", "install", "-y", "-qq", "chromium"], environment: ["DEBIAN_FRONTEND": "noninteractive"])
        }
        if find() == nil { print("note: chromium could not be installed: the browser checks of the reports are skipped") }
        return find()
    }()

    static func find() -> String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs a command, returns (status, stdout).
    @discardableResult
    static func shell(_ arguments: [String], environment: [String: String] = [:], timeout: Double = 600) -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("chromium-\(UUID().uuidString).out")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        guard let handle = try? FileHandle(forWritingTo: output) else { return (-1, "") }
        process.standardOutput = handle
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return (-1, "") }
        let deadline = Date(timeIntervalSinceNow: timeout)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning { process.terminate(); process.waitUntilExit() }
        try? handle.close()
        return (process.terminationStatus, (try? String(contentsOf: output, encoding: .utf8)) ?? "")
    }

    static func arguments(_ extra: [String], profile: String) -> [String] {
        [path ?? "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--user-data-dir=\(profile)", "--virtual-time-budget=3000"] + extra
    }

    /// The DOM after the page's scripts ran.
    static func dumpDOM(_ file: String, profile: String) -> String {
        shell(arguments(["--dump-dom", "file://" + file], profile: profile), timeout: 120).1
    }

    static func screenshot(_ file: String, to png: String, profile: String) {
        shell(arguments(["--window-size=1280,2200", "--hide-scrollbars", "--screenshot=\(png)", "file://" + file], profile: profile), timeout: 120)
    }
}

@Suite("pipe report: self-contained HTML, rendered by a headless browser")
struct ReportAcceptanceTests {
    let pipe: PipeBinary
    init() throws { pipe = try PipeBinary() }

    /// Attribute values `name="…"` in the markup.
    static func attribute(_ name: String, in html: String) -> [String] {
        html.components(separatedBy: "\(name)=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
    }

    @Test func runReportHasCurvesEvaluationTableAndSamplesWithoutNetwork() throws {
        let workspace = try HistoryFixture.workspace("pipe-report")
        defer { workspace.remove() }
        #expect(try pipe.run(["run", HistoryFixture.pipeline], in: workspace.root).status == 0)
        let result = try pipe.run(["report", "latest", "-o", "run.html"], in: workspace.root)
        #expect(result.status == 0, "\(result)")
        let html = try workspace.read("run.html")
        // Self-contained: nothing is fetched.
        #expect(!html.contains("src=\"http") && !html.contains("href=\"http") && !html.contains("@import"), "external reference")
        // Curves: eval reported score and loss for 20 steps each; the score never changes, so it is
        // one line of text instead of a flat chart.
        #expect(Self.attribute("data-series", in: html) == ["eval.loss"], "\(Self.attribute("data-series", in: html))")
        #expect(Self.attribute("data-points", in: html) == ["20"])
        #expect(html.components(separatedBy: "<circle class=\"pt\"").count - 1 == 20)
        #expect(html.contains("<p class=\"constant\">constant: score = -0.059</p>"), "constant series line")
        // The evaluation table (the metrics output, JSON) and the samples (JSON lines), escaped.
        #expect(html.contains("<td>policy_lines</td>") && html.contains("<td>score</td>"), "evaluation table missing")
        #expect(html.contains("was great &lt;b&gt;1.41e-05&lt;/b&gt;"), "samples missing or unescaped")
        #expect(!html.contains("<b>1.41e-05</b>"))

        guard Chromium.path != nil else { return }
        let profile = workspace.path("chromium-profile")
        let dom = Chromium.dumpDOM(workspace.path("run.html"), profile: profile)
        #expect(dom.contains("data-plotted-points=\"20\""), "the page's script did not count 20 plotted points: \(dom.prefix(400))")
        #expect(dom.components(separatedBy: "<circle class=\"pt\"").count - 1 == 20)
        let png = ProcessInfo.processInfo.environment["PIPE_REPORT_SCREENSHOT"] ?? workspace.path("run.png")
        Chromium.screenshot(workspace.path("run.html"), to: png, profile: profile)
        let size = (try? FileManager.default.attributesOfItem(atPath: png)[.size] as? NSNumber)?.intValue ?? 0
        #expect(size > 20_000, "screenshot missing or blank (\(size) bytes)")
    }

    @Test func reportFindsMetricsSamplesAndEventFilesInsideOutputDirectories() throws {
        let workspace = try TestWorkspace("pipe-report-dirs")
        defer { workspace.remove() }
        try FileManager.default.createDirectory(atPath: workspace.path("stages"), withIntermediateDirectories: true)
        // Built-in stages write directories: metrics.json, samples.jsonl and TensorBoard events in tb/.
        try workspace.write("pipelines/e.yaml", #"""
        name: evaluate-dir
        stages:
          evaluate:
            run: |
              mkdir -p ${outs.report}/tb
              echo '{"policy": {"reward": 0.8, "judge_positive_rate": 0.75}, "baseline": {"reward": 0.2}}' > ${outs.report}/metrics.json
              echo '{"prompt": "a & b", "response": "fine"}' > ${outs.report}/samples.jsonl
              printf 'x' > ${outs.report}/tb/events.out.tfevents.1700000000.host
              for s in 1 2 3 4; do echo "{\"type\":\"metrics\",\"step\":$s,\"names\":[\"kl\"],\"values\":[0.$s]}" >> "$PIPE_EVENTS"; done
            outs: [report]

        """#)
        #expect(try pipe.run(["run", "pipelines/e.yaml"], in: workspace.root).status == 0)
        let result = try pipe.run(["report", "-o", "e.html"], in: workspace.root)
        #expect(result.status == 0, "\(result)")
        let html = try workspace.read("e.html")
        // The baseline and the policy side by side, with the difference where both have the metric.
        #expect(html.contains("<tr><td>reward</td><td class=\"num\">0.2</td><td class=\"num\">0.8</td><td class=\"num\">+0.6</td></tr>"), "evaluation table")
        #expect(html.contains("<tr><td>judge_positive_rate</td><td>-</td><td class=\"num\">0.75</td><td></td></tr>"), "evaluation table")
        #expect(html.contains("<td>a &amp; b</td>"), "samples")
        #expect(html.contains("tensorboard --logdir ") && html.contains("/tb</code>"), "TensorBoard hint")
        #expect(Self.attribute("data-points", in: html) == ["4"])
    }

    @Test func sweepReportComparesVariants() throws {
        let workspace = try HistoryFixture.workspace("pipe-report-sweep")
        defer { workspace.remove() }
        let sweep = try pipe.run(["run", HistoryFixture.pipeline, "--sweep", "ppo.lr=1e-5,3e-5", "--sweep", "ppo.init_kl_coef=0.1,0.2",
                                  "--rank-by", "eval.score"], in: workspace.root)
        #expect(sweep.status == 0, "\(sweep)")
        let result = try pipe.run(["report", "--sweep", "latest", "-o", "sweep.html"], in: workspace.root)
        #expect(result.status == 0, "\(result)")
        let html = try workspace.read("sweep.html")
        // One comparison bar per variant for each metric column, and the swept curves overlaid.
        #expect(html.components(separatedBy: "<rect class=\"bar\"").count - 1 == 8, "expected 4 variants × 2 metrics")
        let series = Self.attribute("data-series", in: html)
        #expect(series.filter { $0 == "ppo.lr=3e-05,ppo.init_kl_coef=0.1" }.count == 2, "\(series)")
        #expect(html.contains("<tr class=\"best\"><td>1</td><td class=\"num\">3e-05</td><td class=\"num\">0.1</td>"), "best row")
        // No evaluate stage: the per-variant page only, and no per-arm table for the terminal.
        #expect(!html.contains("id=\"arms\"") && !html.contains("class=\"pt scatter\""))
        let text = try pipe.run(["report", "--sweep", "latest", "--text"], in: workspace.root)
        #expect(text.status == 2 && text.stderr.contains("has no `evaluate` stage") && text.stdout.isEmpty, "\(text)")

        guard Chromium.path != nil else { return }
        let profile = workspace.path("chromium-profile")
        let dom = Chromium.dumpDOM(workspace.path("sweep.html"), profile: profile)
        #expect(dom.contains("data-plotted-bars=\"8\""), "\(dom.prefix(400))")
        #expect(dom.contains("data-plotted-points=\"160\""), "4 variants × 2 metrics × 20 steps")
        if let png = ProcessInfo.processInfo.environment["PIPE_REPORT_SWEEP_SCREENSHOT"] {
            Chromium.screenshot(workspace.path("sweep.html"), to: png, profile: profile)
        }
    }
}
