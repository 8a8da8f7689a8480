extension ModelReplicas {
    /// As `GPTModel.beamSearch`, in fixed blocks of prompts (`RowShards.samplingRows` rows of beams per
    /// block, at least one prompt) on the replicas' threads: the same hypotheses for any number of threads.
    public func beamSearch(prompts: [[Int32]], options: BeamSearchOptions) -> BeamGeneration {
        let perBlock = max(1, RowShards.samplingRows / max(options.numBeams, 1))
        let blocks = RowShards.ranges(rows: prompts.count, size: perBlock)
        let parts = stream(shards: blocks.count) { block, replica in
            replica.beamSearch(prompts: Array(prompts[blocks[block]]), options: options)
        }
        return BeamGeneration(hypotheses: parts.flatMap(\.hypotheses))
    }
}
