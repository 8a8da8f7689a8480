import Tensor

/// Keys and values of every layer for B rows of up to `capacity` positions, plus the scratch buffers
/// of an incremental forward pass over `chunk` new positions per row. Allocated once per shape and
/// reused by later `generate` calls.
final class KVCache {
    let batch: Int, capacity: Int, chunk: Int, heads: Int
    let keys: [FloatBuffer]     // per layer (B, NH, capacity, hs)
    let values: [FloatBuffer]   // per layer (B, NH, capacity, hs)
    let keyValid: Int32Buffer   // (B, capacity) 1 = attendable
    let tokens: Int32Buffer, positions: Int32Buffer  // (B, chunk)
    let x, ln, atty, branch: FloatBuffer   // (B·chunk, C)
    let qkv: FloatBuffer                    // (B·chunk, 3C)
    let fch, fchGelu: FloatBuffer           // (B·chunk, 4C)
    let mean, rstd: FloatBuffer             // (B·chunk)
    let scores: FloatBuffer                 // (chunk, capacity)
    let last: FloatBuffer                   // (B, C) final hidden state at each row's newest position
    let logits: FloatBuffer                 // (B, V)
    let selectScratch: FloatBuffer          // (V)
    let order: Int32Buffer                  // (V)
    /// The small-batch GEMM of decode steps (tests switch it to compare the paths in one process).
    var gemmPath = DecodeGemm.path

    init(config: GPTConfig, batch: Int, capacity: Int, chunk: Int) {
        self.batch = batch
        self.capacity = capacity
        self.chunk = chunk
        self.heads = config.heads
        let c = config.channels, rows = batch * chunk
        keys = (0..<config.layers).map { _ in FloatBuffer(count: batch * capacity * c) }
        values = (0..<config.layers).map { _ in FloatBuffer(count: batch * capacity * c) }
        keyValid = Int32Buffer(capacity: batch * capacity); keyValid.resize(batch * capacity)
        tokens = Int32Buffer(capacity: rows); tokens.resize(rows)
        positions = Int32Buffer(capacity: rows); positions.resize(rows)
        x = FloatBuffer(count: rows * c); ln = FloatBuffer(count: rows * c)
        atty = FloatBuffer(count: rows * c); branch = FloatBuffer(count: rows * c)
        qkv = FloatBuffer(count: rows * 3 * c)
        fch = FloatBuffer(count: rows * config.mlpChannels)
        fchGelu = FloatBuffer(count: rows * config.mlpChannels)
        mean = FloatBuffer(count: rows); rstd = FloatBuffer(count: rows)
        scores = FloatBuffer(count: chunk * capacity)
        last = FloatBuffer(count: batch * c)
        logits = FloatBuffer(count: batch * config.vocabSize)
        selectScratch = FloatBuffer(count: config.vocabSize)
        order = Int32Buffer(capacity: config.vocabSize); order.resize(config.vocabSize)
    }

    func fits(batch: Int, capacity: Int, chunk: Int) -> Bool {
        batch == self.batch && capacity <= self.capacity && chunk <= self.chunk
    }

    /// One layer's keys (or values) of the rows `reorderRows` copies from; grown on first use.
    private var reorderScratch: FloatBuffer?

    /// Row d takes row `sources[d]`'s keys, values and key mask in slots 0..<filled (beam search: each new
    /// beam continues the cache of the beam it extends). Slots from `filled` on are written before read.
    func reorderRows(_ sources: [Int], filled: Int) {
        precondition(sources.count == batch && sources.allSatisfy { $0 >= 0 && $0 < batch }, "reorderRows: bad row map")
        let moved = (0..<batch).filter { sources[$0] != $0 }
        guard !moved.isEmpty else { return }
        let copied = Array(Set(moved.map { sources[$0] })).sorted()
        let slotOf = Dictionary(uniqueKeysWithValues: copied.enumerated().map { ($1, $0) })
        let blockFloats = keys[0].count / (batch * heads * capacity)   // head size
        let span = filled * blockFloats   // one head's filled slots
        if reorderScratch == nil { reorderScratch = FloatBuffer(count: keys[0].count) }
        let scratch = reorderScratch!.pointer
        func headBlock(_ base: UnsafeMutablePointer<Float>, row: Int, head: Int) -> UnsafeMutablePointer<Float> {
            base + (row * heads + head) * capacity * blockFloats
        }
        for buffer in keys + values {
            let base = buffer.pointer
            // Snapshot every source first: a row may be both read (by another beam) and overwritten.
            for (slot, row) in copied.enumerated() {
                for h in 0..<heads { (scratch + (slot * heads + h) * span).update(from: headBlock(base, row: row, head: h), count: span) }
            }
            for row in moved {
                let slot = slotOf[sources[row]]!
                for h in 0..<heads { headBlock(base, row: row, head: h).update(from: scratch + (slot * heads + h) * span, count: span) }
            }
        }
        let mask = keyValid.pointer
        let maskRows = copied.map { Array(UnsafeBufferPointer(start: mask + $0 * capacity, count: filled)) }
        for row in moved {
            maskRows[slotOf[sources[row]]!].withUnsafeBufferPointer { (mask + row * capacity).update(from: $0.baseAddress!, count: filled) }
        }
    }
}

extension GPTModel {
    /// Runs `n` new positions per row (cache slots start ..< start+n; tokens/positions already in
    /// `cache.tokens`/`cache.positions` as (B, n)), appends their keys/values to the cache and leaves
    /// the logits of each row's newest position in `cache.logits` [B, V].
    func forwardIncremental(_ cache: KVCache, start: Int, n: Int) {
        let b = cache.batch, c = config.channels, nh = config.heads, hs = c / nh, cap = cache.capacity
        let rows = b * n, c3 = 3 * c
        let x = cache.x.pointer, ln = cache.ln.pointer, qkv = cache.qkv.pointer, atty = cache.atty.pointer
        let branch = cache.branch.pointer, fch = cache.fch.pointer, fchGelu = cache.fchGelu.pointer
        // A decode step's few rows go through the unpacked small-batch GEMM; prefill keeps OpenBLAS.
        let smallBatch = rows <= DecodeGemm.maxRows
        func linear(_ out: UnsafeMutablePointer<Float>, _ input: UnsafePointer<Float>, _ weight: Int,
                    _ bias: Int, _ ic: Int, _ oc: Int) {
            if smallBatch {
                DecodeGemm.linearForward(out: out, input: input, weight: param(weight), bias: param(bias),
                                         rows: rows, inChannels: ic, outChannels: oc, path: cache.gemmPath)
            } else {
                linearForward(out: out, input: input, weight: param(weight), bias: param(bias),
                              rows: rows, inChannels: ic, outChannels: oc)
            }
        }
        embeddingForward(out: x, tokens: cache.tokens.pointer, positions: cache.positions.pointer,
                         wte: param(layout.tokenEmbedding), wpe: param(layout.positionEmbedding), rows: rows, channels: c)
        for l in 0..<config.layers {
            let scale = config.attentionScale(layer: l)
            let p = layout.blocks[l]
            layerNormForward(out: ln, mean: cache.mean.pointer, rstd: cache.rstd.pointer, input: x,
                             weight: param(p.ln1Weight), bias: param(p.ln1Bias), rows: rows, channels: c,
                             epsilon: config.layerNormEpsilon)
            linear(qkv, ln, p.qkvWeight, p.qkvBias, c, c3)
            let keys = cache.keys[l].pointer, values = cache.values[l].pointer
            for bi in 0..<b {
                for i in 0..<n {
                    let src = qkv + (bi * n + i) * c3
                    for h in 0..<nh {
                        let slot = ((bi * nh + h) * cap + start + i) * hs
                        (keys + slot).update(from: src + c + h * hs, count: hs)
                        (values + slot).update(from: src + 2 * c + h * hs, count: hs)
                    }
                }
                let valid = cache.keyValid.pointer + bi * cap
                let keysVisible = start + n
                for h in 0..<nh {
                    let kh = keys + (bi * nh + h) * cap * hs, vh = values + (bi * nh + h) * cap * hs
                    let q = qkv + bi * n * c3 + h * hs
                    let s = cache.scores.pointer
                    let y = atty + bi * n * c + h * hs
                    if n == 1 {
                        // Decode step: one query row. Two GEMVs (no packing) beat two tiny sgemm calls,
                        // whose packing of the whole cached K/V dominates at this size. Each head's block
                        // is short and cold (the weights streamed through the cache since the last step),
                        // so its values and the next head's keys are requested ahead of use.
                        DecodeGemm.prefetch(vh, count: keysVisible * hs)
                        DecodeGemm.attentionScores(count: keysVisible, headSize: hs, query: q, keys: kh, keyStride: hs,
                                                   scale: scale, scores: s, path: cache.gemmPath)
                        causalMaskedSoftmaxRow(s, row: start, length: keysVisible, mask: valid)
                        if bi * nh + h + 1 < b * nh { DecodeGemm.prefetch(kh + cap * hs, count: keysVisible * hs) }
                        DecodeGemm.attentionMix(count: keysVisible, headSize: hs, weights: s, values: vh, valueStride: hs,
                                                out: y, path: cache.gemmPath)
                        continue
                    }
                    // scores[i, j] = q_i · k_j / √hs over the visible keys.
                    sgemm(transB: true, m: n, n: keysVisible, k: hs, alpha: scale, a: q, lda: c3, b: kh, ldb: hs,
                          c: s, ldc: keysVisible)
                    for i in 0..<n {
                        causalMaskedSoftmaxRow(s + i * keysVisible, row: start + i, length: keysVisible, mask: valid)
                    }
                    sgemm(m: n, n: hs, k: keysVisible, a: s, lda: keysVisible, b: vh, ldb: hs, c: y, ldc: c)
                }
            }
            linear(branch, atty, p.attnProjWeight, p.attnProjBias, c, c)
            accumulate(x, branch, count: rows * c)
            layerNormForward(out: ln, mean: cache.mean.pointer, rstd: cache.rstd.pointer, input: x,
                             weight: param(p.ln2Weight), bias: param(p.ln2Bias), rows: rows, channels: c,
                             epsilon: config.layerNormEpsilon)
            linear(fch, ln, p.fcWeight, p.fcBias, c, config.mlpChannels)
            config.activation.forward(out: fchGelu, input: fch, count: rows * config.mlpChannels)
            linear(branch, fchGelu, p.fcProjWeight, p.fcProjBias, config.mlpChannels, c)
            accumulate(x, branch, count: rows * c)
        }
        // Only each row's newest position needs logits.
        for bi in 0..<b { (cache.branch.pointer + bi * c).update(from: x + (bi * n + n - 1) * c, count: c) }
        layerNormForward(out: cache.last.pointer, mean: cache.mean.pointer, rstd: cache.rstd.pointer, input: cache.branch.pointer,
                         weight: param(layout.lnfWeight), bias: param(layout.lnfBias), rows: b, channels: c,
                         epsilon: config.layerNormEpsilon)
        // LM head: logits = last · Wᵀ (W = wte when tied), read in place from the live parameters (PPO changes them
        // every step, so there is no transposed copy to keep in sync).
        if b <= DecodeGemm.maxRows {
            DecodeGemm.multiply(m: b, n: config.vocabSize, k: c, x: cache.last.pointer, ldx: c,
                                w: param(layout.lmHead), ldw: c, transposedWeight: true,
                                y: cache.logits.pointer, ldy: config.vocabSize, accumulate: false, path: cache.gemmPath)
        } else {
            sgemm(transB: true, m: b, n: config.vocabSize, k: c, a: cache.last.pointer, lda: c,
                  b: param(layout.lmHead), ldb: c, c: cache.logits.pointer, ldc: config.vocabSize)
        }
    }
}
