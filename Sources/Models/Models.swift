// The Models module: a GPT-2 in the llm.c style over the Tensor kernels (see ARCHITECTURE.md, Numerics).
//
// API summary (for the SFT / RM / PPO / evaluate stages). Shapes: B batch, T time, C channels, V vocab.
//
// Build / copy / checkpoints
//   var config = GPTConfig(vocabSize:maxPositions:channels:layers:heads:valueHead:rewardHead:)
//   let model = try GPTModel(config: config, seed: 1)           // deterministic init (Philox)
//   let reference = GPTModel(copying: policy)                    // frozen PPO reference
//   try model.save(to: dir, optimizer: adam?)                    // config.json + model.safetensors (+ optimizer.safetensors)
//   let model = try GPTModel.load(from: dir, valueHead: true, rewardHead: false, seed: s)
//                          // any HF GPT-2 folder: single or sharded safetensors, with/without `transformer.`,
//                          // F32/F16/BF16/F64 → Float32, tied or untied lm_head, gelu_new or gelu; shapes checked
//                          // against config.json and the headers before allocating; heads in the file are loaded,
//                          // requested missing heads are initialised from `seed`
//   let adam = try model.loadOptimizer(from: dir)                // AdamW m, v, step (nil if none saved)
//
// Forward (activations stay in the model's arena until the next forward)
//   let batch = TokenBatch(tokens: [Int32] (B·T), batch: B, time: T, attentionMask: [Int32]? , positions: [Int32]?)
//   let batch = TokenBatch.leftPadded(rows, padToken: pad)       // left padding; positions start at the first real token
//   model.forward(batch, computeLogits: true, dropout: false)
//   model.logits        [B,T,V]  (writable: fused losses overwrite it with dLogits)
//   model.hiddenStates  [B,T,C]  after ln_f
//   model.values        [B,T]    value head (config.valueHead; TRL v_head.summary on the final hidden states)
//   model.rewards       [B]      reward head at the last real token (config.rewardHead; `score.weight`)
//   model.lastTokenIndices       per row, where the reward head reads
//   model.forward(batch, logitRows: .only(rows))   // compact pass: only flat positions rows[i] = b·T + t are
//         // read, so the last block's projection/MLP, ln_f and the heads run there alone: logits [M,V],
//         // values [M], hiddenStates [M,C] (M = rows.count, row i = rows[i]); no rewards. PPO scoring uses it.
//
// Backward (ACCUMULATES into model.gradients; compose PPO/RM/SFT losses outside)
//   model.zeroGradients()
//   model.backward(dLogits: ptr? [B,T,V], dValues: ptr? [B,T], dRewards: ptr? [B])   // compact pass: [M,V], [M]
//   SFT:  let loss = model.crossEntropy(targets: [Int32] (B·T), lossMask: [Float]?, scale: 1/k)   // mean over mask, fused
//         model.backward(dLogits: model.logits.baseAddress)
//   PPO:  forward(batch, logitRows: .only(responseRows)), then the Tensor kernels tokenLogProbs /
//         tokenLogProbsBackward on model.logits (Stages/PPO/ResponseScoring), then
//         model.backward(dLogits: model.logits.baseAddress, dValues: dV)
//
// Optimiser
//   let adam = AdamW(for: model, beta1:, beta2:, epsilon:, weightDecay:)   // decays rank ≥ 2 tensors only
//   let norm = clipGradientNorm(model, maxNorm: 1)
//   let clip = gradientClipScale(model, maxNorm: 1); adam.update(model, learningRate: lr, gradientScale: clip.scale)
//                                                                          // same bytes, one pass fewer
//   adam.update(model, learningRate: schedule.rate(at: step))              // LearningRateSchedule: warm-up + cosine
//
// Sampling (KV cache, left-padded prompts, deterministic given the seed)
//   let g = model.generate(prompts: TokenBatch, options: SamplingOptions(maxNewTokens:, temperature:, topK:, topP:,
//                                                                        greedy:, eosTokenID:, padTokenID:, seed:))
//   g.tokens [B, steps], g.logProbs [B, steps] (under the full softmax(logits/temperature)), g.lengths [B]
//   (row b, step s uses uniform(seed, stream b, counter s): vary the seed per rollout)
//
// Benchmark: GPTBenchmark.run(.s / .m / .l) — `pipe bench gpt` (Sources/pipe/Commands/BenchGPT.swift).
// Numerics: Float32; every matrix product is cblas_sgemm/sgemv; reductions use 8 SIMD lanes in a fixed
// order, so results are bitwise reproducible for a given binary, BLAS and thread count.
