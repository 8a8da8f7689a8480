import Foundation
import Store
import Testing
import WorkspaceTestSupport

/// What a user coming from DVC reaches for first, through the real binary: metrics files from their
/// own command stages, a diff that shows the difference, a report without flat charts, run paths
/// relative to the workspace.
@Suite("own scripts as stages: metrics files, diff, report, runs")
struct OwnScriptsAcceptanceTests {
    let pipe: PipeBinary
    init() throws { pipe = try PipeBinary() }

    /// A training stand-in: loss = (1 − lr)^epochs, a nested accuracy, a non-number, per-step loss events.
    static let trainScript = #"""
    import json, os, sys
    lr, epochs, out = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    loss = 1.0
    with open(os.environ["PIPE_EVENTS"], "a") as events:
        for step in range(1, epochs + 1):
            loss *= 1 - lr
            events.write(json.dumps({"type": "metrics", "step": step, "names": ["loss"], "values": [loss]}) + "\n")
    with open(out, "w") as f:
        json.dump({"loss": loss, "eval": {"accuracy": 1 - loss / 2, "split": "test"}, "epochs": epochs}, f)

    """#

    static func workspace(_ label: String, pipeline: String, files: [String: String] = [:]) throws -> TestWorkspace {
        let workspace = try TestWorkspace(label)
        try FileManager.default.createDirectory(atPath: workspace.path("stages"), withIntermediateDirectories: true)
        try workspace.write("pipelines/p.yaml", pipeline)
        for (path, text) in files { try workspace.write(path, text) }
        return workspace
    }

    func registry(_ workspace: TestWorkspace) throws -> RunRegistry {
        try ArtifactStore(root: workspace.path("artifacts"), cleanTemporary: false).openRegistry()
    }

    @Test func commandStageMetricsFileRanksASweepAndShowsInRunsDiffAndReport() throws {
        let workspace = try Self.workspace("pipe-own-metrics", pipeline: """
            name: own
            seed: 1
            stages:
              train:
                run: python3 train.py ${params.lr} ${params.epochs} ${outs.metrics.json}
                deps: [train.py]
                with: { lr: 0.1, epochs: 2 }
                outs: [metrics.json]
                metrics: [metrics.json]
            sweep:
              train.lr: [0.1, 0.5, 0.2]
              metric: train.eval.accuracy

            """, files: ["train.py": Self.trainScript])
        defer { workspace.remove() }

        let sweep = try pipe.run(["run", "pipelines/p.yaml"], in: workspace.root)
        #expect(sweep.status == 0, "\(sweep)")
        // Ranked by the file's nested number: accuracy = 1 − (1 − lr)²/2, so the highest lr is best.
        let rows = HistoryFixture.tableRows(sweep.stdout)
        #expect(rows.count == 3, "\(sweep)")
        #expect(rows.map { $0.split(separator: " ", omittingEmptySubsequences: true)[1] } == ["0.5", "0.2", "0.1"], "\(sweep)")
        #expect(sweep.stdout.contains("train.eval.accuracy"), "\(sweep)")
        #expect(rows.first?.contains("0.875") == true, "\(sweep)")

        let registry = try registry(workspace)
        func run(withAccuracy accuracy: Double) throws -> RunInfo? {
            try registry.listRuns().first { run in
                (try registry.runDetails(id: run.id).metrics["train"] ?? []).contains { $0.name == "eval.accuracy" && abs($0.value - accuracy) < 1e-9 }
            }
        }
        let best = try #require(try run(withAccuracy: 0.875)), worst = try #require(try run(withAccuracy: 0.595))
        let points = try registry.runDetails(id: best.id).metrics["train"] ?? []
        // Two per-step loss events, then the file's numbers at the last step; the string is left out.
        #expect(points.filter { $0.name == "loss" }.map(\.step) == [1, 2, 2], "\(points)")
        #expect(Set(points.map(\.name)) == ["loss", "eval.accuracy", "epochs"], "\(points)")

        let listing = try pipe.run(["runs"], in: workspace.root)
        #expect(listing.stdout.contains("train.eval.accuracy=0.875"), "\(listing)")
        #expect(listing.stdout.contains("train.eval.accuracy=0.595"), "\(listing)")

        let log = try pipe.run(["log", best.id, "train"], in: workspace.root)
        #expect(log.stdout.contains("note: metrics.json: ignored 'eval.split' (string \"test\", not a number)"), "\(log)")

        let diff = try pipe.run(["diff", worst.id, best.id], in: workspace.root)
        #expect(diff.status == 0, "\(diff)")
        let accuracy = diff.stdout.split(separator: "\n").first { $0.contains("train.eval.accuracy") }.map(String.init) ?? ""
        #expect(accuracy.contains("0.595") && accuracy.contains("0.875") && accuracy.contains("+0.28") && accuracy.contains("+47.1%"), "\(diff)")
        #expect(diff.stdout.contains("train.lr") && !diff.stdout.contains("train.epochs"), "\(diff)")

        let report = try pipe.run(["report", best.id, "-o", "run.html"], in: workspace.root)
        #expect(report.status == 0, "\(report)")
        let html = try workspace.read("run.html")
        #expect(html.contains("<td>train.eval.accuracy</td><td class=\"num\">0.875</td>"), "final values table")
        let sweepReport = try pipe.run(["report", "--sweep", "latest", "-o", "sweep.html"], in: workspace.root)
        #expect(sweepReport.status == 0, "\(sweepReport)")
        #expect(try workspace.read("sweep.html").contains("<th>train.eval.accuracy</th>"), "sweep table column")
    }

    @Test func aMissingOrMalformedMetricsFileFailsTheStageNamingIt() throws {
        let workspace = try Self.workspace("pipe-own-bad-metrics", pipeline: #"""
            name: bad
            seed: 1
            stages:
              quiet: { run: "mkdir ${outs.report}", outs: [report], metrics: [report/scores.yaml] }
              broken: { run: "printf '{\"loss\": 0.5,' > ${outs.m.json}", outs: [m.json], metrics: [m.json] }

            """#)
        defer { workspace.remove() }
        let run = try pipe.run(["run", "pipelines/p.yaml"], in: workspace.root)
        #expect(run.status == 1, "\(run)")
        #expect(run.output.contains("stage 'quiet': metrics file 'report/scores.yaml' was not written (declared in metrics:, the command must write it at ${outs.report}/scores.yaml)"), "\(run)")
        #expect(run.output.contains("stage 'broken': metrics file 'm.json' is not valid JSON"), "\(run)")
        // Nothing was stored for them: fixing the command reruns them.
        let registry = try registry(workspace)
        let details = try registry.runDetails(id: registry.resolveRunID("latest"))
        #expect(details.stages.map(\.outcome) == [.failed, .failed])
    }

    @Test func aCommandKindDeclaresItsMetricsFilesInItsDeclaration() throws {
        let workspace = try Self.workspace("pipe-own-kind-metrics", pipeline: """
            name: kinds
            seed: 1
            stages:
              s: { uses: scorer, with: { bleu: 0.25 } }

            """, files: ["stages/scorer.yaml": """
            kind: scorer
            version: 1
            doc: writes a YAML scores file inside its report directory
            run: "mkdir -p ${outs.report} && printf 'bleu: ${params.bleu}\\nnested:\\n  rouge: 2e-1\\n' > ${outs.report}/scores.yaml"
            outputs: { report: { doc: scores } }
            metrics: [report/scores.yaml]
            params:
              bleu: { type: float, default: 0.5, doc: the score to write }

            """])
        defer { workspace.remove() }
        let run = try pipe.run(["run", "pipelines/p.yaml"], in: workspace.root)
        #expect(run.status == 0, "\(run)")
        let runs = try pipe.run(["runs"], in: workspace.root)
        #expect(runs.stdout.contains("s.bleu=0.25 s.nested.rouge=0.2"), "\(runs)")
        let stages = try pipe.run(["stages"], in: workspace.root)
        #expect(stages.stdout.contains("  metrics: report/scores.yaml\n"), "\(stages)")
    }

    @Test func metricsDeclaredAfterTheStageWasCachedAreReadFromItsStoredOutput() throws {
        let pipeline = #"""
            name: late
            seed: 1
            stages:
              a: { run: "echo '{\"score\": 7}' > ${outs.m.json}", outs: [m.json] }

            """#
        let workspace = try Self.workspace("pipe-own-late-metrics", pipeline: pipeline)
        defer { workspace.remove() }
        #expect(try pipe.run(["run", "pipelines/p.yaml"], in: workspace.root).status == 0)
        try workspace.write("pipelines/p.yaml", pipeline.replacingOccurrences(of: "outs: [m.json] }", with: "outs: [m.json], metrics: [m.json] }"))
        let again = try pipe.run(["run", "pipelines/p.yaml"], in: workspace.root)
        #expect(again.stdout.contains("0 ran, 1 cached"), "\(again)")
        let runs = try pipe.run(["runs"], in: workspace.root)
        #expect(runs.stdout.split(separator: "\n").filter { $0.contains("a.score=7") }.count == 1, "\(runs)")
    }

    @Test func diffShowsTheChangedParamAndMetricsNotTheEqualOnes() throws {
        let workspace = try Self.workspace("pipe-own-diff", pipeline: #"""
            name: diffs
            seed: 1
            stages:
              a:
                run: |
                  echo "{\"score\": $(( ${params.scale} * 2 )), \"fixed\": 1}" > ${outs.metrics.json}
                with: { scale: 2, label: a-very-long-label-that-is-the-same-in-both-runs }
                outs: [metrics.json]
                metrics: [metrics.json]
              b:
                run: |
                  echo "{\"size\": ${params.n}}" > ${outs.m.json}
                with: { n: 5 }
                outs: [m.json]
                metrics: [m.json]

            """#)
        defer { workspace.remove() }
        #expect(try pipe.run(["run", "pipelines/p.yaml"], in: workspace.root).status == 0)
        #expect(try pipe.run(["run", "pipelines/p.yaml", "--set", "a.scale=3"], in: workspace.root).status == 0)
        let ids = try registry(workspace).listRuns().map(\.id).reversed().map { $0 }

        let diff = try pipe.run(["diff", ids[0], ids[1]], in: workspace.root)
        #expect(diff.status == 0, "\(diff)")
        let lines = diff.stdout.split(separator: "\n").map(String.init)
        let scale = lines.first { $0.contains("a.scale") } ?? ""
        #expect(scale.contains("2") && scale.contains("3"), "\(diff)")
        let score = lines.first { $0.contains("a.score") } ?? ""
        #expect(score.contains("4") && score.contains("6") && score.contains("+2") && score.contains("+50.0%"), "\(diff)")
        for equal in ["a.fixed", "a.label", "b.n", "b.size", "b key", "b.m.json"] {
            #expect(!diff.stdout.contains(equal), "\(equal) is equal in both runs:\n\(diff)")
        }
        #expect(lines.contains { $0.contains("a key") }, "\(diff)")
        #expect(diff.stdout.contains("(--all shows every entry)"), "\(diff)")
        // Columns fit the values: nothing is padded to a fixed wide column.
        #expect(lines.allSatisfy { $0.count <= 72 }, "\(diff)")

        let all = try pipe.run(["diff", ids[0], ids[1], "--all"], in: workspace.root)
        for entry in ["a.fixed", "a.label", "b.n", "b.size", "b key"] {
            let line = all.stdout.split(separator: "\n").first { $0.contains(entry) }.map(String.init)
            #expect(line != nil && line?.hasSuffix("*") == false, "\(entry):\n\(all)")
        }
        #expect(all.stdout.split(separator: "\n").first { $0.contains("a.score") }?.hasSuffix("*") == true, "\(all)")

        let same = try pipe.run(["diff", ids[1], ids[1]], in: workspace.root)
        #expect(same.stdout.contains("no differences"), "\(same)")
    }

    @Test func reportFoldsConstantSeriesAndPutsBaselineAndPolicySideBySide() throws {
        let workspace = try Self.workspace("pipe-own-report", pipeline: #"""
            name: curves
            seed: 1
            stages:
              ppo:
                run: |
                  for s in 1 2 3 4 5 6; do
                    echo "{\"type\":\"metrics\",\"step\":$s,\"names\":[\"ppo/epochs\",\"ppo/early_stopped\",\"loss\"],\"values\":[4,0,0.$s]}" >> "$PIPE_EVENTS"
                  done
                  echo '{"sft": {"reward": 0.25, "perplexity": 30}, "ppo": {"reward": 0.75, "perplexity": 33}, "rm": {"pair_accuracy": 0.8}}' > ${outs.metrics.json}
                outs: [metrics.json]

            """#)
        defer { workspace.remove() }
        #expect(try pipe.run(["run", "pipelines/p.yaml"], in: workspace.root).status == 0)
        let report = try pipe.run(["report", "-o", "r.html"], in: workspace.root)
        #expect(report.status == 0, "\(report)")
        let html = try workspace.read("r.html")
        // One chart (loss); the two flat series are one line of text.
        #expect(ReportAcceptanceTests.attribute("data-series", in: html) == ["ppo.loss"], "\(ReportAcceptanceTests.attribute("data-series", in: html))")
        #expect(html.contains("<p class=\"constant\">constant: ppo/early_stopped = 0, ppo/epochs = 4</p>"), "constant line")
        // The evaluation file's baseline and trained model side by side, with the difference.
        #expect(html.contains("<th>metric</th><th>sft</th><th>ppo</th><th>ppo − sft</th>"), "side-by-side header")
        #expect(html.contains("<tr><td>reward</td><td class=\"num\">0.25</td><td class=\"num\">0.75</td><td class=\"num\">+0.5</td></tr>"), "reward row")
        #expect(html.contains("<tr><td>rm.pair_accuracy</td><td class=\"num\">0.8</td></tr>"), "other entries stay a list")
    }

    @Test func runsShowPipelinePathsRelativeToTheWorkspaceFromAnyDirectory() throws {
        let workspace = try Self.workspace("pipe-own-paths", pipeline: """
            name: paths
            seed: 1
            stages:
              a: { run: "echo ${params.x} > ${outs.o}", with: { x: 1 }, outs: [o] }

            """)
        defer { workspace.remove() }
        let parent = (workspace.root as NSString).deletingLastPathComponent
        let name = (workspace.root as NSString).lastPathComponent
        // One run started inside the workspace, one from its parent directory, one from pipelines/.
        #expect(try pipe.run(["run", "pipelines/p.yaml"], in: workspace.root).status == 0)
        #expect(try pipe.run(["run", "\(name)/pipelines/p.yaml", "--store", "\(name)/artifacts", "--set", "a.x=2"], in: parent).status == 0)
        #expect(try pipe.run(["run", "p.yaml", "--store", "../artifacts", "--set", "a.x=3"], in: workspace.path("pipelines")).status == 0)
        for (directory, store) in [(workspace.root, "artifacts"), (parent, "\(name)/artifacts"), (workspace.path("pipelines"), "../artifacts")] {
            let runs = try pipe.run(["runs", "--store", store], in: directory)
            #expect(runs.status == 0, "\(runs)")
            let rows = runs.stdout.split(separator: "\n").filter { $0.contains("succeeded") }
            #expect(rows.count == 3, "\(runs)")
            #expect(rows.allSatisfy { $0.contains(" pipelines/p.yaml") && !$0.contains("/pipelines/p.yaml") }, "from \(directory):\n\(runs)")
        }
    }

    /// The README's "Your own scripts as stages" example, run as written there.
    @Test func readmeExampleRunsAsDocumented() throws {
        let readme = try String(contentsOfFile: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("README.md").path, encoding: .utf8)
        let section = try #require(ReadmeBlocks.section("## Your own scripts as stages", in: readme))
        let files = ReadmeBlocks.files(in: section)
        #expect(files.map(\.path).sorted() == ["pipelines/own.yaml", "train.py"], "\(files.map(\.path))")
        let workspace = try TestWorkspace("pipe-readme-own")
        defer { workspace.remove() }
        try FileManager.default.createDirectory(atPath: workspace.path("stages"), withIntermediateDirectories: true)
        for file in files { try workspace.write(file.path, file.text) }

        let single = try pipe.run(["run", "pipelines/own.yaml", "--no-sweep"], in: workspace.root)
        #expect(single.status == 0, "\(single)")
        let again = try pipe.run(["run", "pipelines/own.yaml", "--no-sweep"], in: workspace.root)
        #expect(again.stdout.contains("0 ran, 1 cached"), "\(again)")
        let registry = try registry(workspace)
        let first = try registry.runDetails(id: registry.listRuns().last!.id)
        let points = first.metrics["train"] ?? []
        #expect(points.filter { $0.name == "loss" }.count == 6, "five epochs of loss events, then the file's loss: \(points)")
        #expect(points.contains { $0.name == "eval.accuracy" && abs($0.value - (1 - pow(0.9, 5) / 2)) < 1e-9 }, "\(points)")
        let log = try pipe.run(["log", first.run.id, "train"], in: workspace.root)
        #expect(log.stdout.contains("ignored 'script'"), "\(log)")

        let sweep = try pipe.run(["run", "pipelines/own.yaml"], in: workspace.root)
        #expect(sweep.status == 0, "\(sweep)")
        #expect(sweep.stdout.contains("ranked by train.eval.accuracy"), "\(sweep)")
        #expect(HistoryFixture.tableRows(sweep.stdout).first?.split(separator: " ", omittingEmptySubsequences: true)[1] == "0.2", "\(sweep)")

        // The five-line $PIPE_EVENTS example, run as a stage: pipe records its series point.
        let events = try #require(ReadmeBlocks.section("### `$PIPE_EVENTS`", in: readme).flatMap { ReadmeBlocks.blocks(in: $0, language: "python").first })
        #expect(events.split(separator: "\n").count == 5, "the README promises five lines:\n\(events)")
        try workspace.write("events.py", events)
        try workspace.write("pipelines/events.yaml", """
            name: events
            stages:
              script: { run: "python3 events.py && echo done > ${outs.o}", deps: [events.py], outs: [o] }

            """)
        let eventsRun = try pipe.run(["run", "pipelines/events.yaml"], in: workspace.root)
        #expect(eventsRun.status == 0, "\(eventsRun)")
        let recorded = try registry.runDetails(id: registry.resolveRunID("latest")).metrics["script"] ?? []
        #expect(recorded.map(\.name) == ["accuracy", "loss"] && recorded.map(\.step) == [3, 3] && recorded.map(\.value) == [0.87, 0.41], "\(recorded)")
    }
}

/// Fenced code blocks of README.md, so tests run the examples exactly as documented.
enum ReadmeBlocks {
    /// From the heading line to the next heading of the same or a higher level (outside code blocks).
    static func section(_ heading: String, in text: String) -> String? {
        let level = heading.prefix { $0 == "#" }.count
        var lines: [Substring]?
        var inBlock = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") { inBlock.toggle() }
            let hashes = line.prefix { $0 == "#" }.count
            let isHeading = !inBlock && hashes > 0 && line.dropFirst(hashes).hasPrefix(" ")
            if lines == nil {
                if isHeading && line.hasPrefix(heading) { lines = [line] }
            } else if isHeading && hashes <= level {
                break
            } else {
                lines!.append(line)
            }
        }
        return lines.map { $0.joined(separator: "\n") }
    }

    /// The bodies of the fenced blocks (in `language`, when given).
    static func blocks(in text: String, language: String? = nil) -> [String] {
        var result: [String] = []
        var inBlock = false, keep = false
        var lines: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") {
                if inBlock {
                    if keep { result.append(lines.joined(separator: "\n") + "\n") }
                    inBlock = false
                } else {
                    inBlock = true
                    keep = language.map { line.dropFirst(3) == $0 } ?? true
                    lines = []
                }
            } else if inBlock {
                lines.append(line)
            }
        }
        return result
    }

    /// Blocks whose first line is a comment naming a file (`# train.py — …`, `# pipelines/own.yaml`).
    static func files(in text: String) -> [(path: String, text: String)] {
        blocks(in: text).compactMap { block in
            guard block.hasPrefix("# ") else { return nil }
            let first = block.dropFirst(2).prefix { $0 != "\n" && $0 != " " }
            guard first.contains(".") else { return nil }
            return (String(first), block)
        }
    }
}
