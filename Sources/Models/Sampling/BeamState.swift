#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One prompt's beam search, step by step as transformers' `_beam_search` (v4.50+): each step keeps the
/// 2·numBeams best continuations of all beams by cumulative log-prob; those that end (EOS, or the last
/// step) and rank among the first numBeams become finished hypotheses scored Σ log p / length^penalty
/// (length = generated tokens, EOS included); the best numBeams that do not end run on.
/// Ties go to the lower (beam · V + token), and among finished hypotheses to the earlier one.
struct BeamState {
    let options: BeamSearchOptions
    let vocab: Int
    /// Cumulative log-prob of each running beam, best first after the first step. Beams 1… start at
    /// −1e9 (as transformers) so that the first step expands beam 0 only.
    private(set) var runningScores: [Float]
    private(set) var runningTokens: [[Int32]]
    /// Finished hypotheses, best first, at most numBeams.
    private(set) var finished: [BeamHypothesis] = []
    /// Whether a running beam may still beat the worst finished hypothesis (transformers' heuristic).
    private(set) var improvementPossible = true
    private(set) var done = false

    /// The score transformers gives beams that must not be chosen.
    static let excluded: Float = -1e9

    init(options: BeamSearchOptions, vocab: Int) {
        self.options = options
        self.vocab = vocab
        runningScores = [0] + Array(repeating: Self.excluded, count: options.numBeams - 1)
        runningTokens = Array(repeating: [], count: options.numBeams)
    }

    /// A continuation: beam `beam` followed by `token`, with its cumulative log-prob.
    struct Candidate {
        var score: Float
        var beam: Int
        var token: Int32
    }

    /// Length normalisation: `length`^penalty, computed in double as Python's `int ** float`.
    func normaliser(_ length: Int) -> Float { Float(pow(Double(length), Double(options.lengthPenalty))) }

    /// The 2·numBeams best continuations, best first (ties: lower beam · V + token first).
    func topContinuations(_ logProbs: UnsafePointer<Float>) -> [Candidate] {
        let keep = 2 * options.numBeams
        var top: [Candidate] = []
        top.reserveCapacity(keep + 1)
        for beam in 0..<options.numBeams {
            let base = runningScores[beam], row = logProbs + beam * vocab
            for j in 0..<vocab {
                let score = base + row[j]
                if score.isNaN { continue }
                // Scanned in ascending (beam, token): an equal score never displaces an earlier one.
                if top.count == keep, !(score > top[keep - 1].score) { continue }
                var at = top.count
                while at > 0 && score > top[at - 1].score { at -= 1 }
                top.insert(Candidate(score: score, beam: beam, token: Int32(j)), at: at)
                if top.count > keep { top.removeLast() }
            }
        }
        return top
    }

    /// Advances by one generated token. `logProbs` holds numBeams rows of V next-token log-probs (row k for
    /// running beam k; EOS already at −∞ where suppressed); `step` counts from 0. Returns, for each new
    /// running beam, the beam it continues (whose cache it takes) and its new token; empty once done.
    mutating func advance(logProbs: UnsafePointer<Float>, step: Int) -> [(parent: Int, token: Int32)] {
        precondition(!done, "BeamState.advance after the search finished")
        let beams = options.numBeams
        let top = topContinuations(logProbs)
        let last = step + 1 >= options.maxNewTokens
        let ends = top.map { candidate in last || options.endsHypothesis(candidate.token) }

        // Finished hypotheses: the ending continuations among the first numBeams, unless no improvement
        // is possible any more or (early_stopping=True) numBeams have finished already.
        let full = finished.count == beams
        if improvementPossible && !(options.earlyStopping == .whenFull && full) {
            let length = step + 1, norm = normaliser(length)
            var merged = finished
            for rank in 0..<min(beams, top.count) where ends[rank] {
                let c = top[rank]
                merged.append(BeamHypothesis(tokens: runningTokens[c.beam] + [c.token], logProb: c.score, score: c.score / norm))
            }
            if merged.count > finished.count {
                // Stable: an earlier (already finished) hypothesis wins a tie.
                let order = merged.indices.sorted { merged[$0].score > merged[$1].score || (merged[$0].score == merged[$1].score && $0 < $1) }
                finished = order.prefix(beams).map { merged[$0] }
            }
        }

        // Running beams: the best numBeams continuations that do not end.
        var next: [(parent: Int, token: Int32)] = []
        var nextScores: [Float] = [], nextTokens: [[Int32]] = []
        for (rank, c) in top.enumerated() where !ends[rank] && next.count < beams {
            next.append((c.beam, c.token))
            nextScores.append(c.score)
            nextTokens.append(runningTokens[c.beam] + [c.token])
        }
        if next.count < beams {  // only when every continuation ends: the search is over
            done = true
            return []
        }
        runningScores = nextScores
        runningTokens = nextTokens

        // Can the best running beam still beat the worst finished hypothesis? Scored at its current length,
        // or (early_stopping="never" with a positive penalty) at the longest it could grow to.
        let hypothetical = options.earlyStopping == .never && options.lengthPenalty > 0 ? options.maxNewTokens : step + 1
        let bestRunning = runningScores[0] / normaliser(hypothetical)
        let worstFinished = finished.count == beams ? finished[beams - 1].score : Self.excluded
        improvementPossible = improvementPossible && bestRunning > worstFinished
        if !improvementPossible || (options.earlyStopping == .whenFull && finished.count == beams) {
            done = true
            return []
        }
        return next
    }
}

extension BeamState {
    /// The best `count` hypotheses, best first. Should non-finite logits have left fewer than `count`
    /// finished, the running beams (scored as if they ended now) fill the rest.
    func results(count: Int) -> [BeamHypothesis] {
        var out = Array(finished.prefix(count))
        for (k, tokens) in runningTokens.enumerated() where out.count < count {
            let norm = normaliser(max(tokens.count, 1))
            out.append(BeamHypothesis(tokens: tokens, logProb: runningScores[k], score: runningScores[k] / norm))
        }
        return out
    }
}
