import Foundation
import Testing
import WorkspaceTestSupport

/// The real runner and stage process: a built-in that starts beside a command on half the cores is
/// raised to every core when the command ends, and its worker pool runs on them (the self-test stage
/// reports its pool's thread count as a metric at every step).
@Suite("elastic threads, end to end", .serialized)
struct ElasticThreadsAcceptanceTests {
    let pipe: PipeBinary
    init() throws { pipe = try PipeBinary() }

    static let cores = ProcessInfo.processInfo.activeProcessorCount

    @Test(.enabled(if: cores >= 2, "needs two cores to share"))
    func aRunningBuiltInTakesTheCoresACommandLeaves() throws {
        let workspace = try TestWorkspace("pipe-elastic-e2e")
        defer { workspace.remove() }
        try workspace.write("stages/selftest.yaml", """
        kind: selftest
        version: 1
        doc: "The runner's self-test built-in."
        builtin: pipe-selftest
        outputs:
          out: { doc: the text it writes }
        params:
          text: { type: string, default: hi, doc: text to write }
          steps: { type: int, default: 3, doc: progress steps }
          sleep_ms: { type: int, default: 0, doc: pause per step }
          fail: { type: bool, default: false, doc: fail on purpose }
          pool_tasks: { type: int, default: 0, doc: tasks on the worker pool per step }

        """)
        try workspace.write("pipelines/elastic.yaml", """
        name: elastic
        stages:
          long:  { uses: selftest, with: { steps: 40, sleep_ms: 150, pool_tasks: 8 } }
          short: { run: "sleep 1; echo s > ${outs.x}", outs: [x] }

        """)
        let result = try pipe.run(["run", "pipelines/elastic.yaml", "-j", "2"], in: workspace.root)
        #expect(result.status == 0, "\(result)")
        let first = (Self.cores + 1) / 2, all = Self.cores
        #expect(result.output.contains("long: started on \(first) thread\(first == 1 ? "" : "s")"), "\(result)")
        #expect(result.output.contains("long: now on \(all) threads (was \(first))"), "\(result)")
        let records = workspace.list("artifacts/stages")
        let metrics = try records.compactMap { name -> [String: Double]? in
            let record = try JSONSerialization.jsonObject(with: Data(workspace.read("artifacts/stages/" + name).utf8)) as? [String: Any]
            return record?["stage"] as? String == "long" ? record?["metrics"] as? [String: Double] : nil
        }
        #expect(metrics.first?["selftest/threads"] == Double(all), "the pool ran on every core at the end: \(metrics)")
    }
}
