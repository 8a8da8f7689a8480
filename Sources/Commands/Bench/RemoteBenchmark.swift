import Engine
import Foundation
import Hashing
import RemoteHTTP
import Store

/// `pipe bench remote`: a remote cache through a real nginx WebDAV server on 127.0.0.1.
///
/// - push / pull: ~`megabytes` MiB of stage results (six results shaped like the flagship's: model
///   directories with weights, optimizer state and a shared tokenizer, data splits, logs) from one
///   store to an empty remote, and from the remote into an empty store (in-process, median of runs).
/// - read-through: `pipe run --remote` of a 3-stage pipeline whose outputs total ~`megabytes` MiB, and
///   of the 6-stage command pipeline, into empty stores (spawning the binary, as a user would).
/// - lookup overhead: a no-op `pipe run` with and without `--remote` (local hits never ask the remote),
///   and the cost of one remote miss (the lookup a stage missing locally pays).
public enum RemoteBenchmark {
    /// - Parameter fromStore: push and pull a copy of this store's results (e.g. a flagship run's)
    ///   instead of the synthetic ones; the store itself is only read.
    public static func run(pipeExecutable: String, megabytes: Int = 100, repetitions: Int = 3, fromStore: String? = nil,
                           output: (String) -> Void) throws {
        let base = NSTemporaryDirectory() + "pipe-bench-remote-\(getpid())"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { try? POSIXRemove.tree(base) }
        let nginx: LocalNginx
        switch LocalNginx.start(in: base + "/nginx") {
        case .failure(let why):
            output("pipe bench remote: skipped: \(why)")
            return
        case .success(let server): nginx = server
        }
        defer { nginx.stop() }
        output("pipe bench remote: nginx WebDAV at \(nginx.url) (uploads: PUT to tmp/ + MOVE), load average " + RunnerBenchmark.loadAverage())

        // 1. Push and pull ~megabytes MiB in-process.
        let keys: [Digest]
        let source: ArtifactStore
        if let fromStore {
            try FileManager.default.createDirectory(atPath: base + "/source", withIntermediateDirectories: true)
            for part in ["objects", "stages"] { try FileManager.default.copyItem(atPath: fromStore + "/" + part, toPath: base + "/source/" + part) }
            source = try ArtifactStore(root: base + "/source")
            keys = try source.allRecordKeys().filter { source.record(forKey: $0) != nil }
            output("results: a copy of the \(keys.count) intact stage results in \(fromStore)")
        } else {
            source = try ArtifactStore(root: base + "/source")
            keys = try makeResults(in: source, totalBytes: Int64(megabytes) << 20)
            output("results: 6 synthetic stage results shaped like the flagship's (~\(megabytes) MiB)")
        }
        var pushSeconds: [Double] = [], pullSeconds: [Double] = [], skipSeconds: [Double] = []
        var pushCPU: [Double] = [], pullCPU: [Double] = []
        var moved: Int64 = 0
        for round in 0..<max(1, repetitions) {
            try? POSIXRemove.tree(nginx.remoteRoot)
            try FileManager.default.createDirectory(atPath: nginx.remoteRoot, withIntermediateDirectories: true)
            let remote = ContentAddressedRemote(name: "bench", blobs: try HTTPBlobs(url: nginx.url, authorization: nil))
            let pushed = TransferProgress()
            let pushStart = processCPUSeconds()
            pushSeconds.append(try seconds { for key in keys { try remote.putRecord(key, from: source, progress: pushed) } })
            pushCPU.append(processCPUSeconds() - pushStart)
            moved = pushed.tally.bytesMoved
            skipSeconds.append(try seconds { for key in keys { try remote.putRecord(key, from: source, progress: TransferProgress()) } })
            let target = try ArtifactStore(root: base + "/pull-\(round)")
            let pulled = TransferProgress()
            let pullStart = processCPUSeconds()
            pullSeconds.append(try seconds {
                try RemoteParallel.forEach(keys, width: 4) { key in _ = try remote.pull(key: key, into: target, progress: pulled) }
            })
            pullCPU.append(processCPUSeconds() - pullStart)
            guard pulled.tally.bytesMoved >= moved else { throw RunnerError.io("bench: pulled \(pulled.tally.bytesMoved) of \(moved) bytes") }
            try? POSIXRemove.tree(base + "/pull-\(round)")
        }
        let mb = Double(moved) / 1e6
        func rate(_ samples: [Double]) -> String {
            String(format: "%7.1f MB/s  (median %.3f s for %.1f MB, n=%d)", mb / median(samples), median(samples), mb, samples.count)
        }
        // What any pull must do locally, without a network: copy the bytes into staging and ingest
        // them (seal, fsync, hash, rename) — the store's durability floor for a pull.
        var floorSeconds: [Double] = []
        for round in 0..<max(1, repetitions) {
            let target = try ArtifactStore(root: base + "/floor-\(round)")
            floorSeconds.append(try seconds {
                try RemoteParallel.forEach(keys, width: 4) { key in
                    for object in source.record(forKey: key)?.referencedObjects ?? [] {
                        let staging = try target.makeStagingDirectory(label: "floor")
                        defer { staging.remove() }
                        try FileManager.default.copyItem(atPath: source.objectPath(object), toPath: staging.path + "/copy")
                        _ = try target.ingest(staging.path + "/copy")
                    }
                }
            })
            try? POSIXRemove.tree(base + "/floor-\(round)")
        }
        output("remote.push                   " + rate(pushSeconds) + verdict(mb / median(pushSeconds))
               + String(format: "; pipe's cpu %.3f s", median(pushCPU)))
        output("remote.pull                   " + rate(pullSeconds) + verdict(mb / median(pullSeconds))
               + String(format: "; pipe's cpu %.3f s (hashed while streaming, %d transfers at once)", median(pullCPU), TransferSlots.defaultWidth))
        output("store.copy+ingest (no network)" + rate(floorSeconds) + "   the local floor of any pull: copy, fsync, hash, rename")
        output(String(format: "remote.push-again (all there) %7.1f ms  (%d stage results, one HEAD each)", median(skipSeconds) * 1000, keys.count))

        // 2. Read-through into empty stores, spawning the binary.
        let workspace = base + "/ws"
        try CommandPipelineFixture.write(into: workspace)
        try "remotes:\n  bench: { url: \(nginx.url), default: true }\n".write(toFile: workspace + "/pipe.config.yaml", atomically: true, encoding: .utf8)
        let chunk = megabytes / 3
        try """
        name: big
        stages:
          sft: { run: "head -c \(chunk * 2)M /dev/urandom > ${outs.model}", outs: [model] }
          rm:  { run: "head -c \(chunk / 2)M /dev/urandom > ${outs.model}; cat ${inputs.init} | wc -c >> ${outs.model}", inputs: { init: sft.model }, outs: [model] }
          ppo: { run: "head -c \(chunk / 2)M /dev/urandom > ${outs.model}; wc -c < ${inputs.reward} >> ${outs.model}", inputs: { reward: rm.model }, outs: [model] }

        """.write(toFile: workspace + "/pipelines/big.yaml", atomically: true, encoding: .utf8)
        for pipeline in [CommandPipelineFixture.pipelineFile, "pipelines/big.yaml"] {
            _ = try RunnerBenchmark.time(pipeExecutable, ["run", pipeline], in: workspace, expectSuccess: true)
            _ = try RunnerBenchmark.time(pipeExecutable, ["push", "--all"], in: workspace, expectSuccess: true)
        }
        for (label, pipeline, count) in [("6-stage command pipeline", CommandPipelineFixture.pipelineFile, 6),
                                         ("3 stages, ~\(megabytes) MiB of outputs", "pipelines/big.yaml", 3)] {
            var samples: [Double] = []
            for round in 0..<max(1, repetitions) {
                let store = "rt-\(round)-\(count)"
                samples.append(try RunnerBenchmark.time(pipeExecutable, ["run", pipeline, "--store", store, "--remote", "bench"], in: workspace, expectSuccess: true))
                try? POSIXRemove.tree(workspace + "/" + store)
            }
            output(String(format: "remote.read-through           %7.1f ms  into an empty store: %@ (every stage pulled, none run; n=%d)",
                          median(samples) * 1000, label, samples.count))
        }

        // 3. Lookup overhead.
        // CPU time: on a shared machine wall time of a 30 ms process is mostly other people's load.
        var local: [Double] = [], remote: [Double] = [], localWall: [Double] = [], remoteWall: [Double] = []
        let pipeline = CommandPipelineFixture.pipelineFile
        for _ in 0..<max(10, repetitions * 5) {
            let plain = try RunnerBenchmark.timeAndCPU(pipeExecutable, ["run", pipeline], in: workspace, expectSuccess: true)
            let through = try RunnerBenchmark.timeAndCPU(pipeExecutable, ["run", pipeline, "--remote", "bench"], in: workspace, expectSuccess: true)
            local.append(plain.cpu); localWall.append(plain.wall)
            remote.append(through.cpu); remoteWall.append(through.wall)
        }
        output(String(format: "remote.noop-run               cpu %5.1f ms with --remote vs %.1f ms without (wall %.1f vs %.1f ms): %+.2f ms cpu per stage; local hits never ask the remote",
                      median(remote) * 1000, median(local) * 1000, median(remoteWall) * 1000, median(localWall) * 1000,
                      (median(remote) - median(local)) * 1000 / 6))
        let client = ContentAddressedRemote(name: "bench", blobs: try HTTPBlobs(url: nginx.url, authorization: nil))
        let misses = 500
        let missSeconds = try seconds { for i in 0..<misses { _ = try client.getRecord(SHA256.hash("absent \(i)")) } }
        output(String(format: "remote.miss-lookup            %7.1f µs per stage missing locally (GET of its record → 404, keep-alive; n=%d)",
                      missSeconds / Double(misses) * 1e6, misses))
    }

    /// User + system CPU seconds of this process so far (all threads).
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(0 /* RUSAGE_SELF */, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    static func verdict(_ rate: Double) -> String { rate >= 200 ? "   target ≥ 200 MB/s: met" : "   target ≥ 200 MB/s: MISSED" }

    static func median(_ values: [Double]) -> Double { RunnerBenchmark.Figure.percentile(values, 0.5) }

    static func seconds(_ body: () throws -> Void) throws -> Double {
        let start = ContinuousClock.now
        try body()
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// Six stage results totalling about `totalBytes`: sft (weights, optimizer state, tokenizer),
    /// rm (weights, the same tokenizer), ppo (weights, the same tokenizer), three data splits, logs.
    static func makeResults(in store: ArtifactStore, totalBytes: Int64) throws -> [Digest] {
        let staging = try store.makeStagingDirectory(label: "bench")
        defer { staging.remove() }
        let unit = totalBytes / 100
        let tokenizer = staging.path + "/tokenizer.json"
        try RunnerBenchmark.writeFile(tokenizer, bytes: unit)
        var seed: UInt64 = 1
        func file(_ path: String, _ bytes: Int64) throws {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try writeRandom(path, bytes: bytes, seed: seed)
            seed += 1
        }
        let layout: [(stage: String, files: [(String, Int64)], sharesTokenizer: Bool)] = [
            ("data", [("train.jsonl", unit * 8), ("test.jsonl", unit * 2), ("judge.jsonl", unit * 2)], false),
            ("sft", [("model.safetensors", unit * 30), ("optimizer.bin", unit * 20)], true),
            ("pairs", [("pairs.jsonl", unit * 3)], false),
            ("rm", [("model.safetensors", unit * 15)], true),
            ("ppo", [("model.safetensors", unit * 15)], true),
            ("eval", [("metrics.json", 4096), ("samples.jsonl", unit * 2)], false),
        ]
        var keys: [Digest] = []
        for (stage, files, shares) in layout {
            let directory = staging.path + "/" + stage
            for (name, size) in files { try file(directory + "/" + name, size) }
            if shares { try FileManager.default.copyItem(atPath: tokenizer, toPath: directory + "/tokenizer.json") }
            let output = try store.ingest(directory)
            let log = staging.path + "/\(stage).log"
            try "log of \(stage)\n".write(toFile: log, atomically: false, encoding: .utf8)
            let key = SHA256.hash("bench remote \(stage)")
            try store.commit(StageRecord(key: key, stage: stage, keyMaterial: .object(["stage": .string(stage)]), outputs: ["out": output],
                                         log: try store.ingest(log), startedAt: Date(), finishedAt: Date()))
            keys.append(key)
        }
        return keys
    }

    static func writeRandom(_ path: String, bytes: Int64, seed: UInt64) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RunnerError.io("cannot create \(path)") }
        defer { close(fd) }
        var state = seed &* 0x9E3779B97F4A7C15
        var chunk = [UInt64](repeating: 0, count: 1 << 17)
        var left = bytes
        while left > 0 {
            for i in chunk.indices { state = state &* 6364136223846793005 &+ 1442695040888963407; chunk[i] = state }
            let count = Int(min(left, Int64(chunk.count * 8)))
            guard chunk.withUnsafeBytes({ write(fd, $0.baseAddress, count) }) == count else { throw RunnerError.io("short write to \(path)") }
            left -= Int64(count)
        }
    }
}

/// Small file helpers for the benchmark (objects are read-only, so removal makes them writable first).
enum POSIXRemove {
    static func tree(_ path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            chmod(path, 0o755)
            for name in try FileManager.default.contentsOfDirectory(atPath: path) { try tree(path + "/" + name) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
