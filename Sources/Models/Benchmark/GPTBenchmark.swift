import Foundation
import Tensor

/// Measures training and sampling throughput of the Swift GPT (what `pipe bench gpt` prints).
///
/// Conventions match benchmarks/gpt/pytorch_gpt.py (and benchmarks/gpt/anchors.md): random tokens at
/// the setup's context length, fwd + cross-entropy + bwd + AdamW(lr 3e-4, betas 0.9/0.95, wd 0.1) per step, a few
/// warm-up steps then the median; sampling 16 prompts × 16 tokens → 64 new tokens, temperature 1,
/// full-distribution multinomial, rate = new tokens / wall time of the whole call (prefill included).
public enum GPTBenchmark {
    public struct Setup: Sendable {
        public var name: String
        public var config: GPTConfig
        public var batch: Int
        /// Training sequence length T (≤ n_positions).
        public var time: Int
        public init(name: String, config: GPTConfig, batch: Int, time: Int? = nil) {
            self.name = name
            self.config = config
            self.batch = batch
            self.time = time ?? config.maxPositions
        }
        public static let s = Setup(name: "S", config: .benchmarkS, batch: 16)
        public static let m = Setup(name: "M", config: .benchmarkM, batch: 8)
        /// The classic demo's pretrained model shape (1,024 positions) trained at context 128, batch 8.
        public static let l = Setup(name: "L", config: .benchmarkL, batch: 8, time: 128)
        public static let all = [s, m, l]
    }

    public struct Timing: Sendable {
        /// Median, min, max seconds.
        public var median: Double, min: Double, max: Double
        /// Process CPU seconds per wall second while measuring (≈1 on an undisturbed core).
        public var cpuShare: Double
        /// Median process CPU seconds per run (a contention-robust companion to the wall figure).
        public var cpuMedian: Double
    }

    public struct Result: Sendable {
        public var setup: String
        public var parameters: Int
        public var trainStep: Timing
        public var trainTokensPerSecond: Double
        public var trainGFLOPs: Double
        public var sample: Timing
        public var sampleTokensPerSecond: Double
        public var peakRSSMiB: Double
    }

    /// Training FLOPs per token: 6 × matmul parameters (blocks' 12·C² + LM head V·C) + attention 12·L·T·C.
    public static func trainFLOPsPerToken(_ c: GPTConfig, time t: Int) -> Double {
        let matmul = 12.0 * Double(c.channels * c.channels * c.layers) + Double(c.vocabSize * c.channels)
        return 6 * matmul + 12 * Double(c.layers * t * c.channels)
    }

    /// With `threads` > 1 a training step runs as the stages' trainers run it: the batch in fixed row
    /// shards (`RowShards.training`) on a pool of that many workers of one BLAS thread each, gradients
    /// summed in shard order, AdamW on the pool; sampling then gets `threads` BLAS threads. With one
    /// thread the step runs on the whole batch (at configs S and M as fast as the sharded step:
    /// `pipe bench scaling` shows the trainers' 1-thread steps).
    public static func run(_ setup: Setup, trainSteps: Int = 10, warmup: Int = 2, sampleRepeats: Int = 5,
                           threads: Int = 1, log: (String) -> Void = { _ in }) throws -> Result {
        let c = setup.config, b = setup.batch, t = setup.time
        let model = try GPTModel(config: c, seed: 1)
        let adam = AdamW(for: model, beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1)
        let rng = Philox(seed: 2)
        let tokens = (0..<(b * t)).map { Int32(rng.uniformDouble(stream: 0, index: UInt64($0)) * Double(c.vocabSize)) }
        let targets = Array(tokens.dropFirst()) + [tokens[0]]
        let batch = TokenBatch(tokens: tokens, batch: b, time: t)
        var trainStep: () -> Void = {
            model.zeroGradients(lazily: true)   // as the stages' shards do: backward overwrites
            model.forward(batch)
            _ = model.crossEntropy(targets: targets)
            model.backward(dLogits: model.logits.baseAddress)
            adam.update(model, learningRate: 3e-4)
        }
        if threads > 1 {
            let pool = WorkerPool(threads: threads)
            let parallel = ModelReplicas(model, pool: pool)
            let shards = RowShards.training(rows: b).map { rows in
                (batch: TokenBatch(tokens: Array(tokens[rows.lowerBound * t ..< rows.upperBound * t]), batch: rows.count, time: t),
                 targets: Array(targets[rows.lowerBound * t ..< rows.upperBound * t]))
            }
            trainStep = {
                parallel.accumulateGradients(shards: shards.count) { shard, replica in
                    replica.forward(shards[shard].batch)
                    _ = replica.crossEntropy(targets: shards[shard].targets, normalizer: Float(b * t))
                    replica.backward(dLogits: replica.logits.baseAddress)
                }
                adam.update(model, learningRate: 3e-4, pool: pool)
            }
        }
        let shardNote = threads > 1 ? " in \(RowShards.training(rows: b).count) row shards on \(threads) workers" : ""
        log("\(setup.name): training \(warmup) warm-up + \(trainSteps) timed steps of \(b)×\(t) tokens\(shardNote)")
        let train = measure(repeats: trainSteps, warmup: warmup, trainStep)
        trainStep = {}   // releases the replicas' arenas and gradient buffers
        model.releaseActivations()
        if threads > 1 { BLAS.setThreads(threads) }

        let prompts = TokenBatch(tokens: (0..<(16 * 16)).map { Int32(rng.uniformDouble(stream: 1, index: UInt64($0)) * Double(c.vocabSize)) },
                                 batch: 16, time: 16)
        var seed: UInt64 = 0
        log("\(setup.name): sampling 16 × 64 new tokens, 1 warm-up + \(sampleRepeats) timed")
        let sample = measure(repeats: sampleRepeats, warmup: 1) {
            seed += 1
            _ = model.generate(prompts: prompts, options: SamplingOptions(maxNewTokens: 64, seed: seed))
        }
        let tokensPerStep = Double(b * t)
        return Result(
            setup: setup.name, parameters: model.parameterCount, trainStep: train,
            trainTokensPerSecond: tokensPerStep / train.median,
            trainGFLOPs: trainFLOPsPerToken(c, time: t) * tokensPerStep / train.median / 1e9,
            sample: sample, sampleTokensPerSecond: 1024 / sample.median, peakRSSMiB: peakRSSMiB())
    }

    /// One-thread square sgemm throughput: the best wall-clock GFLOP/s of `repeats` calls (the peak the
    /// training figure is compared with) and the median GFLOP per CPU-second (its contention-robust twin).
    public static func sgemmPeak(n: Int = 1024, repeats: Int = 30) -> (best: Double, perCPUSecond: Double) {
        let a = FloatBuffer(count: n * n), b = FloatBuffer(count: n * n), c = FloatBuffer(count: n * n)
        let rng = Philox(seed: 3)
        for i in 0..<(n * n) { a[i] = rng.uniform(stream: 0, index: UInt64(i)) - 0.5; b[i] = rng.uniform(stream: 1, index: UInt64(i)) - 0.5 }
        let timing = measure(repeats: repeats, warmup: 1) {
            sgemm(m: n, n: n, k: n, a: a.pointer, lda: n, b: b.pointer, ldb: n, c: c.pointer, ldc: n)
        }
        let flop = 2 * Double(n * n * n)
        return (flop / timing.min / 1e9, flop / timing.cpuMedian / 1e9)
    }

    static func measure(repeats: Int, warmup: Int, _ body: () -> Void) -> Timing {
        for _ in 0..<warmup { body() }
        var times: [Double] = [], cpuTimes: [Double] = []
        let cpuStart = cpuSeconds(), wallStart = ContinuousClock.now
        for _ in 0..<repeats {
            let start = ContinuousClock.now, cpu = cpuSeconds()
            body()
            times.append(seconds(ContinuousClock.now - start))
            cpuTimes.append(cpuSeconds() - cpu)
        }
        let share = (cpuSeconds() - cpuStart) / seconds(ContinuousClock.now - wallStart)
        times.sort()
        cpuTimes.sort()
        return Timing(median: times[times.count / 2], min: times.first!, max: times.last!, cpuShare: share,
                      cpuMedian: cpuTimes[cpuTimes.count / 2])
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(0 /* RUSAGE_SELF */, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6
    }

    public static func peakRSSMiB() -> Double {
        var usage = rusage()
        getrusage(0 /* RUSAGE_SELF */, &usage)
        return Double(usage.ru_maxrss) / 1024  // KiB on Linux
    }
}
