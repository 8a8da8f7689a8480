import Foundation
import Testing
import WorkspaceTestSupport

/// Threads are not key material: the smoke pipeline built one stage at a time on one thread each is
/// entirely cached for a run with two threads per stage, and re-executing every stage with the
/// machine's cores shared out (`pipe reproduce`) gives the same bytes.
@Suite("thread count and the cache", .serialized)
struct ThreadCountAcceptanceTests {
    let pipe: PipeBinary
    init() throws { pipe = try PipeBinary() }

    @Test func aOneThreadBuildIsCachedForTwoThreadsAndReproducesWithMore() throws {
        let workspace = try SmokePipelineTests.workspace()
        defer { workspace.remove() }
        let first = try pipe.run(["run", "pipelines/smoke.yaml", "-j", "1", "--threads", "1"], in: workspace.root)
        #expect(first.status == 0, "\(first)")
        #expect(first.output.contains("13 ran, 0 cached"), "\(first)")

        let second = try pipe.run(["run", "pipelines/smoke.yaml", "--threads", "2"], in: workspace.root)
        #expect(second.status == 0, "\(second)")
        #expect(second.output.contains("0 ran, 13 cached"), "\(second)")

        let status = try pipe.run(["status", "pipelines/smoke.yaml", "--threads", "3"], in: workspace.root)
        #expect(status.status == 0 && !status.stdout.contains("changed"), "\(status)")

        let reproduce = try pipe.run(["reproduce", "latest"], in: workspace.root)
        #expect(reproduce.status == 0, "\(reproduce)")
        #expect(reproduce.stdout.contains("all 13 stages reproduced bit for bit"), "\(reproduce)")
    }
}
