@testable import Commands
import Engine
import Foundation
import JSONQuoting
import Testing

@Suite("Report: evaluate's decodings side by side")
struct DecodingsReportTests {
    /// metrics.json as evaluate writes it with `decodings: [sample, greedy, beam]` (figures shortened):
    /// the beam policy lacks distinct-2, only the sampled decoding has a ROUGE-L figure.
    static let threeDecodings = """
        {"sft":{"rm_reward_mean":-0.2218,"judge_positive_rate":0.298,"samples":198},\
        "ppo":{"rm_reward_mean":0.1717,"judge_positive_rate":0.3687,"samples":198},\
        "comparison":{"judge_positive_rate_gain":0.0707,"rm_reward_gain":0.3935,"rm_win_rate":0.7273,"samples_per_prompt":2},\
        "decodings":{\
        "sample":{"samples_per_prompt":2,"temperature":1,\
        "sft":{"rm_reward_mean":-0.2218,"judge_positive_rate":0.298,"kl_to_reference_nats":0,"distinct_2":0.7778,"response_chars_mean":22.68,"samples":198,"rouge_l":0.125},\
        "ppo":{"rm_reward_mean":0.1717,"judge_positive_rate":0.3687,"kl_to_reference_nats":1.1078,"distinct_2":0.7475,"response_chars_mean":24.34,"samples":198,"rouge_l":0.25},\
        "comparison":{"judge_positive_rate_gain":0.0707,"rm_reward_gain":0.3935,"rm_win_rate":0.7273}},\
        "greedy":{\
        "sft":{"rm_reward_mean":1.0915,"judge_positive_rate":0.2222,"kl_to_reference_nats":0,"distinct_2":0.0073,"response_chars_mean":14.79,"samples":99},\
        "ppo":{"rm_reward_mean":1.2636,"judge_positive_rate":0.2424,"kl_to_reference_nats":8.7524,"distinct_2":0.0021,"response_chars_mean":15.58,"samples":99},\
        "comparison":{"judge_positive_rate_gain":0.0202,"rm_reward_gain":0.1721,"rm_win_rate":0.9646}},\
        "beam":{"num_beams":4,"length_penalty":1,\
        "sft":{"rm_reward_mean":-0.0462,"judge_positive_rate":0.2222,"kl_to_reference_nats":0,"distinct_2":0.1915,"response_chars_mean":1.47,"samples":99},\
        "ppo":{"rm_reward_mean":0.294,"judge_positive_rate":0.2323,"kl_to_reference_nats":1.5266,"response_chars_mean":4.31,"samples":99},\
        "comparison":{"judge_positive_rate_gain":0.0101,"rm_reward_gain":-0.034,"rm_win_rate":0.6263}}}}
        """

    static let header = [
        "decoding", "sft RM reward", "ppo RM reward", "sft judge positive rate", "ppo judge positive rate", "sft distinct-2", "ppo distinct-2",
        "sft mean length (chars)", "ppo mean length (chars)", "sft KL (nats)", "ppo KL (nats)", "sft rouge l", "ppo rouge l",
        "RM win rate", "RM reward gain", "judge positive rate gain",
    ]
    static let rows = [
        ["sample T=1.0 ×2 (headline)", "-0.2218", "0.1717", "0.298", "0.3687", "0.7778", "0.7475", "22.68", "24.34", "0", "1.1078", "0.125", "0.25",
         "0.7273", "+0.3935", "+0.0707"],
        ["greedy", "1.0915", "1.2636", "0.2222", "0.2424", "0.0073", "0.0021", "14.79", "15.58", "0", "8.7524", "-", "-", "0.9646", "+0.1721", "+0.0202"],
        ["beam 4", "-0.0462", "0.294", "0.2222", "0.2323", "0.1915", "-", "1.47", "4.31", "0", "1.5266", "-", "-", "0.6263", "-0.034", "+0.0101"],
    ]

    /// samples.jsonl: two prompts answered twice by the sampled headline decoding, once by greedy and beam.
    static func samplesLines(prompts: Int) -> String {
        (0..<prompts).flatMap { p in (0..<2).map { draw in
            "{\"prompt\":\"p\(p)\",\"classic\":false,\"sft\":\"s\(p)-\(draw)\",\"sft_rm\":0.5,\"sft_judge\":0.1,"
                + "\"ppo\":\"P\(p)-\(draw)\",\"ppo_rm\":0.75,\"ppo_judge\":0.9,\"ppo_kl\":1,"
                + "\"sft_greedy\":\"g\(p)\",\"sft_greedy_rm\":1,\"sft_greedy_judge\":0.2,\"ppo_greedy\":\"G\(p)\",\"ppo_greedy_rm\":1.25,\"ppo_greedy_judge\":0.3,"
                + "\"sft_beam\":\"b\(p)\",\"sft_beam_rm\":-0.25,\"sft_beam_judge\":0.4,\"ppo_beam\":\"B<\(p)>\",\"ppo_beam_rm\":0,\"ppo_beam_judge\":0.5}\n"
        } }.joined()
    }

    /// The report's artifacts for an evaluate stage `eval` whose output folder holds these files.
    static func artifacts(metrics: String, samples: String?) throws -> ReportArtifacts {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pipe-decodings-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Data(metrics.utf8).write(to: URL(fileURLWithPath: folder + "/metrics.json"))
        var artifacts = ReportArtifacts()
        _ = artifacts.addEvaluation(folder + "/metrics.json", stage: "eval", source: "eval.report/metrics.json")
        if let samples {
            try Data(samples.utf8).write(to: URL(fileURLWithPath: folder + "/samples.jsonl"))
            if let read = ReportArtifacts.samples(folder + "/samples.jsonl", stage: "eval", source: "eval.report/samples.jsonl") {
                artifacts.samples.append(read)
            }
        }
        return artifacts
    }

    static func page(_ artifacts: ReportArtifacts) -> String {
        var page = HTMLReport(title: "t")
        ReportBuilder.appendEvaluation(&page, artifacts: artifacts, metrics: RunMetrics(series: [:], summary: [:]), stages: ["eval"])
        return page.html
    }

    static func tableRow(_ cells: [String]) -> String {
        cells.map { Double($0) != nil ? "<td class=\"num\">\(HTML.escape($0))</td>" : "<td>\(HTML.escape($0))</td>" }.joined()
    }

    @Test func threeDecodingsGiveOneRowEachInTheListedOrder() throws {
        let metrics = try #require(OrderedJSON.parse(Data(Self.threeDecodings.utf8)))
        guard case .table(let table) = DecodingsTable.read(metrics) else { Issue.record("no table"); return }
        #expect(table.decodings.map(\.name) == ["sample", "greedy", "beam"])
        #expect(table.models == ["sft", "ppo"])
        #expect(table.header == Self.header)
        #expect(table.groups.map(\.title) == ["decoding", "RM reward", "judge positive rate", "distinct-2", "mean length (chars)", "KL (nats)",
                                               "rouge l", "RM win rate", "RM reward gain", "judge positive rate gain"])
        #expect(table.groups.flatMap(\.columns).count == Self.header.count)
        #expect(table.rows == Self.rows)

        let markdown = table.markdown.split(separator: "\n").map(String.init)
        #expect(markdown[0].hasPrefix("| decoding                   | sft RM reward | ppo RM reward |"), "\(markdown[0])")
        #expect(markdown[1].hasPrefix("| -------------------------- | ------------: |"), "\(markdown[1])")
        #expect(markdown[2].hasPrefix("| sample T=1.0 ×2 (headline) |       -0.2218 |        0.1717 |"), "\(markdown[2])")
        #expect(markdown[4].hasPrefix("| beam 4                     |       -0.0462 |         0.294 |"), "\(markdown[4])")
        #expect(markdown[4].hasSuffix("|      0.6263 |         -0.034 |                  +0.0101 |"), "\(markdown[4])")
        #expect(table.markdown.contains("RM win rate (ppo vs sft)"))
    }

    @Test func theRunPageShowsTheTableAndEachDecodingsAnswers() throws {
        let html = Self.page(try Self.artifacts(metrics: Self.threeDecodings, samples: Self.samplesLines(prompts: 2)))
        #expect(html.contains("<h3>eval: decodings side by side</h3>"))
        // Each figure's title over its sft and ppo columns; the decoding and the comparison span both header rows.
        let titles = ["RM reward", "judge positive rate", "distinct-2", "mean length (chars)", "KL (nats)", "rouge l"]
        #expect(html.contains("<thead><tr><th rowspan=\"2\">decoding</th>" + titles.map { "<th colspan=\"2\">\($0)</th>" }.joined()
                              + "<th rowspan=\"2\">RM win rate</th><th rowspan=\"2\">RM reward gain</th><th rowspan=\"2\">judge positive rate gain</th></tr>"
                              + "<tr>" + String(repeating: "<th>sft</th><th>ppo</th>", count: 6) + "</tr></thead>"))
        for row in Self.rows { #expect(html.contains("<tr>" + Self.tableRow(row) + "</tr>"), "\(row)") }
        // The evaluation list does not repeat the decodings' entries; the headline's figures stay paired.
        #expect(!html.contains("decodings.beam"))
        #expect(html.contains("<td>rm_reward_mean</td>"))

        // The first answer to each prompt with each decoding's, per model, scores under the answers.
        #expect(html.contains("<h3>eval: answers by decoding</h3>"))
        #expect(html.contains("<th>prompt</th><th>model</th><th>sample T=1.0 ×2 (headline)</th><th>greedy</th><th>beam 4</th>"))
        #expect(html.contains("<tr><td>p0</td><td>sft</td><td>s0-0\n(RM 0.5)</td><td>g0\n(RM 1)</td><td>b0\n(RM -0.25)</td></tr>"))
        #expect(html.contains("<tr><td></td><td>ppo</td><td>P0-0\n(RM 0.75)</td><td>G0\n(RM 1.25)</td><td>B&lt;0&gt;\n(RM 0)</td></tr>"))
        #expect(html.contains("<td>p1</td>") && !html.contains("s0-1\n"), "one row per prompt and model, the first draw")
    }

    @Test func answersAreLimitedToTheFirstPrompts() throws {
        let artifacts = try Self.artifacts(metrics: Self.threeDecodings, samples: Self.samplesLines(prompts: 12))
        let file = try #require(artifacts.decodings.first)
        guard case .table(let table) = file.reading else { Issue.record("no table"); return }
        let samples = try #require(file.samples(in: artifacts))
        let answers = try #require(DecodingAnswers(table, samples: samples))
        #expect(answers.prompts == 10 && answers.truncated && answers.rows.count == 20)
        #expect(Self.page(artifacts).contains("<h3>eval: answers by decoding (first 10 prompts)</h3>"))
        // Samples with the headline's answers only (an older file): no answers table.
        let plain = try Self.artifacts(metrics: Self.threeDecodings, samples: "{\"prompt\":\"p\",\"sft\":\"a\",\"ppo\":\"b\"}\n")
        let headlineOnly = try #require(plain.samples.first)
        #expect(DecodingAnswers(table, samples: headlineOnly) == nil)
        #expect(!Self.page(plain).contains("answers by decoding") && Self.page(plain).contains("decodings side by side"))
    }

    @Test func oneDecodingOrNoneGivesNoTable() throws {
        let one = #"{"sft":{"rm_reward_mean":1},"ppo":{"rm_reward_mean":2},"decodings":{"greedy":{"sft":{"rm_reward_mean":1},"ppo":{"rm_reward_mean":2}}}}"#
        let none = #"{"sft":{"rm_reward_mean":1},"ppo":{"rm_reward_mean":2},"comparison":{"rm_win_rate":0.5}}"#
        for text in [one, none, #"{"decodings":{}}"#] {
            let artifacts = try Self.artifacts(metrics: text, samples: Self.samplesLines(prompts: 1))
            // (`{"decodings":{}}` has no figures at all: no evaluation entry either.)
            #expect(artifacts.decodings.allSatisfy { $0.reading == .absent } && artifacts.decodings.count == artifacts.evaluations.count, "\(text)")
            let html = Self.page(artifacts)
            #expect(!html.contains("decodings side by side") && !html.contains("answers by decoding") && !html.contains("No decodings table"))
        }
        // The single decoding's entries stay in the evaluation list.
        #expect(Self.page(try Self.artifacts(metrics: one, samples: nil)).contains("decodings.greedy.ppo.rm_reward_mean"))
    }

    @Test func malformedDecodingsGiveANoteAndNoTable() throws {
        let cases: [(String, String)] = [
            (#"{"decodings":"sample,greedy"}"#, "`decodings` is a string, not an object of decodings"),
            (#"{"decodings":[{"sample":{}}]}"#, "`decodings` is an array, not an object of decodings"),
            (#"{"decodings":{"sample":{"sft":{}},"greedy":3}}"#, "decoding `greedy` in `decodings` is a number, not an object"),
            (#"{"decodings":{"sample":{"sft":[1,2]},"greedy":{}}}"#, "`decodings.sample.sft` is an array, not an object of figures"),
        ]
        for (text, reason) in cases {
            let artifacts = try Self.artifacts(metrics: text, samples: nil)
            guard case .malformed(let note)? = artifacts.decodings.first?.reading else { Issue.record("\(text): not malformed"); continue }
            #expect(note.hasPrefix(reason), "\(note)")
            let html = Self.page(artifacts)
            #expect(html.contains("No decodings table: \(HTML.escape(reason))"), "\(text)")
            #expect(!html.contains("decodings side by side"))
        }
        // A repeated decoding: the JSON reader refuses repeated keys, and the table refuses one built otherwise.
        #expect(OrderedJSON.parse(Data(#"{"decodings":{"beam":{},"beam":{}}}"#.utf8)) == nil)
        let repeated = OrderedJSON.object([JSONMember("decodings", .object([JSONMember("beam", .object([])), JSONMember("beam", .object([]))]))])
        #expect(DecodingsTable.read(repeated) == .malformed("decoding `beam` is listed twice in `decodings`"))
        // Not JSON at all: neither an evaluation table nor a note (as before).
        let broken = try Self.artifacts(metrics: #"{"decodings":{"sample":"#, samples: nil)
        #expect(broken.evaluations.isEmpty && broken.decodings.isEmpty)
    }

    @Test func settingsReadShort() throws {
        func label(_ json: String) throws -> String {
            DecodingsTable.label("x", try #require(OrderedJSON.parse(Data(json.utf8))))
        }
        #expect(try label(#"{"num_beams":4,"length_penalty":1}"#) == "x 4")
        #expect(try label(#"{"num_beams":4,"length_penalty":0.8}"#) == "x 4 lp=0.8")
        #expect(try label(#"{"samples_per_prompt":1,"temperature":0.7}"#) == "x T=0.7")
        #expect(try label(#"{"samples_per_prompt":4,"temperature":1.5,"top_p":0.9,"sft":{}}"#) == "x T=1.5 ×4 top_p=0.9")
        #expect(try label("{}") == "x")
    }

    @Test func orderedJSONKeepsMemberOrderAndRefusesBadText() throws {
        let value = try #require(OrderedJSON.parse(Data(#" {"b":1,"a":[true,null,-2.5e-3],"c":"\u00e9\ud83d\ude00\n\"x\""} "#.utf8)))
        guard case .object(let members) = value else { Issue.record("not an object"); return }
        #expect(members.map(\.key) == ["b", "a", "c"])
        #expect(value["a"] == .array([.bool(true), .null, .number(-0.0025)]))
        #expect(value["c"] == .string("é😀\n\"x\""))
        for bad in ["", "{", "{\"a\":1,}", "[1 2]", "{\"a\":1} x", "\"\\q\"", "nan", "+1", ".5", "\"a\nb\"", "{\"a\":tru}"] {
            #expect(OrderedJSON.parse(Data(bad.utf8)) == nil, "\(bad)")
        }
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(OrderedJSON.parse(Data(deep.utf8)) == nil)
    }
}
