import Foundation
import Hashing

/// Store figures for `pipe bench`: hashing throughput, stat-cache hit, record lookup, registry.
public enum StoreBenchmark {
    /// Runs the benchmark in `directory` (created if needed; a store and a `fileSize`-byte input file
    /// are kept there so reruns skip writing the file) and returns printable lines.
    public static func run(at directory: String, fileSize: Int64 = 1 << 30) throws -> [String] {
        try POSIX.makeDirectories(directory)
        var lines: [String] = []
        let inputPath = directory + "/bench-input.bin"
        try prepareInput(path: inputPath, size: fileSize)
        let gib = Double(fileSize) / Double(1 << 30)
        let gigabytes = Double(fileSize) / 1e9

        // 1. Raw hashing throughput (the file was just written or read, so the page cache is warm).
        var hashTimes: [Double] = []
        for _ in 0..<3 {
            let t = try time { _ = try FileHasher.hash(path: inputPath) }
            hashTimes.append(t)
        }
        hashTimes.sort()
        lines.append(String(format: "store.hash      %.2f GiB file, page cache warm: %.2f GB/s best, %.2f GB/s median (%.0f ms)",
                            gib, gigabytes / hashTimes[0], gigabytes / hashTimes[1], hashTimes[0] * 1000))
        let buffer = [UInt8](repeating: 0x5a, count: 64 << 20)
        let memory = time { for _ in 0..<4 { _ = SHA256.hash(buffer) } }
        lines.append(String(format: "store.hash      in-memory SHA-256 (libcrypto): %.2f GB/s", Double(4 * buffer.count) / 1e9 / memory))

        // 2. Stat cache: first digest (miss: hash + save), then a fresh store (loads the cache file) + digest.
        let storeRoot = directory + "/bench-store"
        try? POSIX.removeTree(storeRoot)
        let store = try ArtifactStore(root: storeRoot)
        let miss = try time { _ = try store.digest(ofPath: inputPath) }
        let hit = try time { _ = try store.digest(ofPath: inputPath) }
        var fresh: [Double] = []
        for _ in 0..<5 {
            fresh.append(try time { _ = try ArtifactStore(root: storeRoot).digest(ofPath: inputPath) })
        }
        fresh.sort()
        lines.append(String(format: "store.statcache digest of the %.2f GiB input: miss %.0f ms, hit %.3f ms, open store + load cache + hit %.3f ms (median of 5)",
                            gib, miss * 1000, hit * 1000, fresh[2] * 1000))

        for entries in [200, 10_000] { lines.append(try StatCacheFormatBenchmark.run(at: directory, entries: entries)) }

        // 3. Stage record commit and lookup.
        let object = try store.ingest(try writeSmallArtifact(in: store))
        let key = SHA256.hash("bench key")
        let record = StageRecord(key: key, stage: "bench", keyMaterial: .object(["kind": .string("bench"), "lr": .double(3e-4)]),
                                 outputs: ["out": object], metrics: ["loss": 1.5], startedAt: Date(), finishedAt: Date())
        let commit = try time { try store.commit(record) }
        let lookups = 1000
        let lookup = time { for _ in 0..<lookups { _ = store.record(forKey: key) } }
        let absentKey = SHA256.hash("absent")
        let absent = time { for _ in 0..<lookups { _ = store.record(forKey: absentKey) } }
        lines.append(String(format: "store.records   commit (fsync) %.2f ms, lookup hit %.1f µs, lookup miss %.1f µs",
                            commit * 1000, lookup / Double(lookups) * 1e6, absent / Double(lookups) * 1e6))

        // 4. Run registry: create, open a new connection (as a new `pipe` process does), one run with
        //    6 stages, status query.
        let stages = ["tokenise", "sft", "pairs", "rm", "ppo", "evaluate"]
        let create = try time { _ = try RunRegistry(path: store.registryPath, sharedConnection: false) }
        var registry: RunRegistry?
        let reopen = try time { registry = try RunRegistry(path: store.registryPath, sharedConnection: false) }
        let insert = try time { try recordNoOpRun(registry!, key: key, object: object, stages: stages) }
        let query = try time { _ = try registry!.latestExecutions(pipeline: "pipelines/bench.yaml") }
        lines.append(String(format: "store.registry  create %.1f ms, open %.2f ms, run + 6 stage rows %.2f ms, latest-executions query %.3f ms",
                            create * 1000, reopen * 1000, insert * 1000, query * 1000))

        // 5. The store's share of a 6-stage no-op `pipe run` with the 1 GiB input: open the store,
        //    digest the input (stat cache), look up 6 records, open the registry, record the run.
        var noOps: [Double] = []
        for _ in 0..<5 {
            noOps.append(try time {
                let fresh = try ArtifactStore(root: storeRoot)
                _ = try fresh.digest(ofPath: inputPath)
                for _ in stages { guard fresh.record(forKey: key) != nil else { throw StoreError.missingArtifact(path: "record") } }
                try recordNoOpRun(try RunRegistry(path: fresh.registryPath, sharedConnection: false), key: key, object: object, stages: stages)
            })
        }
        noOps.sort()
        lines.append(String(format: "store.noop      store work of a 6-stage no-op run with the %.2f GiB input: %.2f ms (median of 5; best %.2f ms)",
                            gib, noOps[2] * 1000, noOps[0] * 1000))
        try? POSIX.removeTree(storeRoot)
        return lines
    }

    private static func recordNoOpRun(_ registry: RunRegistry, key: Digest, object: Digest, stages: [String]) throws {
        let id = try registry.startRun(NewRun(pipelinePath: "pipelines/bench.yaml", pipelineDigest: key.hex, name: "bench",
                                              params: .object([:]), commandLine: ["pipe", "bench"]))
        for stage in stages {
            try registry.recordStageExecution(StageExecution(runID: id, stage: stage, key: key.hex, outcome: .cached,
                                                             startedAt: Date(), finishedAt: Date(), outputs: ["out": object]))
        }
        try registry.finishRun(id: id, status: .succeeded)
    }

    /// Writes a deterministic pseudo-random file of `size` bytes unless one of that size exists, then
    /// waits until it is older than the stat cache's racy window (so the benchmark can hit the cache).
    static func prepareInput(path: String, size: Int64) throws {
        if let status = try POSIX.status(path), status.isRegularFile, status.size == size {
            return
        }
        try? POSIX.removeTree(path)
        let block = 4 << 20
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var chunk = [UInt8](repeating: 0, count: block)
        chunk.withUnsafeMutableBytes { raw in
            let words = raw.bindMemory(to: UInt64.self)
            for index in words.indices {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                words[index] = state
            }
        }
        let handle = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard handle >= 0 else { throw POSIX.fail("create", path) }
        defer { close(handle) }
        var written: Int64 = 0
        while written < size {
            let count = Int(min(Int64(block), size - written))
            chunk[0] = UInt8(truncatingIfNeeded: written >> 22)  // distinct blocks
            let n = chunk.withUnsafeBytes { write(handle, $0.baseAddress, count) }
            guard n > 0 else { throw POSIX.fail("write", path) }
            written += Int64(n)
        }
        // Let the file leave the stat cache's racy window.
        let wait = Double(StatCache.coarseRacyWindowNanoseconds) / 1e9 + 0.2
        Thread.sleep(forTimeInterval: wait)
    }

    private static func writeSmallArtifact(in store: ArtifactStore) throws -> String {
        let staging = try store.makeStagingDirectory(label: "bench")
        let path = staging.path + "/out"
        try POSIX.writeNewFile(path, Array("benchmark output\n".utf8), sync: false)
        // The staging object is released (not removed) here; the path is moved by ingest right after.
        return path
    }

    private static func time(_ body: () throws -> Void) rethrows -> Double {
        let start = POSIX.nowMonotonic()
        try body()
        return Double(POSIX.nowMonotonic() - start) / 1e9
    }
}

extension POSIX {
    static func nowMonotonic() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }
}
