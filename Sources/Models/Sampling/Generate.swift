import Tensor

extension GPTModel {
    /// Batched generation with a KV cache.
    ///
    /// `prompts` is (B, Tp), LEFT-padded (`TokenBatch.leftPadded`): pads are masked out of attention
    /// and positions count real tokens only, so a row's continuation does not depend on its padding.
    /// One prefill pass over the prompts, then one cached single-token step per new token.
    /// Deterministic given `options.seed`. Requires (real prompt length + maxNewTokens) ≤ n_positions.
    /// `firstRow` is the batch's first row within a larger batch cut into blocks: row b draws from
    /// stream firstRow + b, so a block samples as the same rows of the whole batch would.
    public func generate(prompts: TokenBatch, options: SamplingOptions, firstRow: Int = 0) -> Generation {
        let b = prompts.batch, tp = prompts.time, v = config.vocabSize
        precondition(options.maxNewTokens >= 0, "generate: maxNewTokens must be ≥ 0")
        precondition(options.temperature > 0, "generate: temperature must be > 0 (use greedy: true for argmax)")
        precondition(options.topP > 0 && options.topP <= 1, "generate: topP must be in (0, 1]")
        let mask = prompts.attentionMask ?? [Int32](repeating: 1, count: b * tp)
        var realLength = [Int](repeating: 0, count: b)
        for bi in 0..<b { for t in 0..<tp where mask[bi * tp + t] != 0 { realLength[bi] += 1 } }
        let longest = realLength.max() ?? 0
        precondition(longest + options.maxNewTokens <= config.maxPositions,
                     "generate: prompt (\(longest)) + maxNewTokens (\(options.maxNewTokens)) exceeds n_positions \(config.maxPositions)")
        for token in prompts.tokens where token < 0 || Int(token) >= v {
            preconditionFailure("generate: prompt token \(token) outside vocabulary 0..<\(v)")
        }
        let cache = prefilledCache(prompts, mask: mask, capacity: tp + options.maxNewTokens)
        var generation = Generation(batch: b, steps: 0, tokens: [], logProbs: [], lengths: [Int](repeating: 0, count: b))
        if options.maxNewTokens == 0 || tp == 0 { return generation }
        forwardIncremental(cache, start: 0, n: tp)

        let selector = TokenSelector(options: options, vocab: v)
        let rng = Philox(seed: options.seed)
        var tokens = [Int32](repeating: options.padTokenID, count: b * options.maxNewTokens)
        var logProbs = [Float](repeating: 0, count: b * options.maxNewTokens)
        var finished = [Bool](repeating: false, count: b)
        var steps = 0
        for step in 0..<options.maxNewTokens {
            let suppress = step < options.minNewTokens ? options.eosTokenID : nil
            for bi in 0..<b where !finished[bi] {
                let (token, lp) = selector.select(
                    logits: cache.logits.pointer + bi * v, uniform: rng.uniformDouble(stream: UInt64(firstRow + bi), index: UInt64(step)),
                    suppress: suppress, scratch: cache.selectScratch.pointer, order: cache.order.pointer)
                tokens[bi * options.maxNewTokens + step] = token
                logProbs[bi * options.maxNewTokens + step] = lp
                generation.lengths[bi] += 1
                if options.endsRow(token) { finished[bi] = true }
            }
            steps = step + 1
            if finished.allSatisfy({ $0 }) || step + 1 == options.maxNewTokens { break }
            for bi in 0..<b {
                cache.tokens[bi] = tokens[bi * options.maxNewTokens + step]
                cache.positions[bi] = Int32(realLength[bi] + step)
            }
            forwardIncremental(cache, start: tp + step, n: 1)
        }
        // Trim the columns to the steps actually run.
        generation = Generation(
            batch: b, steps: steps,
            tokens: (0..<b).flatMap { tokens[$0 * options.maxNewTokens ..< $0 * options.maxNewTokens + steps] },
            logProbs: (0..<b).flatMap { logProbs[$0 * options.maxNewTokens ..< $0 * options.maxNewTokens + steps] },
            lengths: generation.lengths)
        return generation
    }
}

extension GPTModel {
    /// The model's KV cache (reused when its shape fits, else replaced) for `prompts` with `capacity`
    /// slots per row, their tokens, positions (real tokens only) and key mask written; the prefill
    /// forward pass is the caller's.
    func prefilledCache(_ prompts: TokenBatch, mask: [Int32], capacity: Int) -> KVCache {
        let b = prompts.batch, tp = prompts.time
        let cache: KVCache
        if let existing = kvCache, existing.fits(batch: b, capacity: capacity, chunk: tp), existing.capacity == capacity {
            cache = existing
        } else {
            cache = KVCache(config: config, batch: b, capacity: capacity, chunk: max(tp, 1))
            kvCache = cache
        }
        for bi in 0..<b {
            var next: Int32 = 0
            for t in 0..<tp {
                let real = mask[bi * tp + t] != 0
                cache.tokens[bi * tp + t] = prompts.tokens[bi * tp + t]
                cache.positions[bi * tp + t] = real ? next : 0
                cache.keyValid[bi * capacity + t] = real ? 1 : 0
                if real { next += 1 }
            }
            for t in tp..<capacity { cache.keyValid[bi * capacity + t] = 1 }
        }
        return cache
    }
}
