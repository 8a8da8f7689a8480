extension ModelReplicas {
    /// Batched generation for `prompts` in fixed blocks of `blockRows` rows (`RowShards.samplingRows`),
    /// each left-padded on its own and run on its own replica and KV cache, in parallel. Row b draws
    /// from stream b of `options.seed` whatever its block, and the result has the shape of one
    /// `generate` over all rows (columns: the most steps any block ran; shorter blocks are padded with
    /// `options.padTokenID` and log-prob 0, as rows after their EOS are).
    public func generate(prompts: [[Int32]], options: SamplingOptions,
                         blockRows: Int = RowShards.samplingRows) -> Generation {
        let blocks = RowShards.ranges(rows: prompts.count, size: blockRows)
        let parts = stream(shards: blocks.count) { block, replica in
            let rows = blocks[block]
            return replica.generate(prompts: TokenBatch.leftPadded(Array(prompts[rows]), padToken: options.padTokenID),
                                    options: options, firstRow: rows.lowerBound)
        }
        let steps = parts.map(\.steps).max() ?? 0
        var tokens: [Int32] = [], logProbs: [Float] = [], lengths: [Int] = []
        tokens.reserveCapacity(prompts.count * steps); logProbs.reserveCapacity(prompts.count * steps)
        for part in parts {
            for b in 0..<part.batch {
                tokens += part.tokens[(b * part.steps)..<((b + 1) * part.steps)]
                tokens += repeatElement(options.padTokenID, count: steps - part.steps)
                logProbs += part.logProbs[(b * part.steps)..<((b + 1) * part.steps)]
                logProbs += repeatElement(0, count: steps - part.steps)
            }
            lengths += part.lengths
        }
        return Generation(batch: prompts.count, steps: steps, tokens: tokens, logProbs: logProbs, lengths: lengths)
    }
}
