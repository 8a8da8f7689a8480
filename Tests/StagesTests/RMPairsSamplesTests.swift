import Foundation
import PipeTestSupport
import Testing
@testable import Stages

/// The `samples` strategy of rm-pairs: the SFT model writes k continuations of a review opening, the
/// judge scores them, best vs worst become a pair.
@Suite struct RMPairsSamplesTests {
    static func samplePairs(seed: UInt64) throws -> (train: [PreferencePair], valid: [PreferencePair], chain: StageChain) {
        let chain = try PPOStageChainTests.chain(corpus: try PPOStageChainTests.corpus(), seed: seed, evaluate: false,
                                                 ppo: PPOStageChainTests.tinyPPO.merging(["steps": .int(1)]) { $1 })
        try chain.run("samples", RMPairsStage.self,
                      inputs: ["tokens": "tokens.tokens", "model": "sft.model", "judge": "judge.model"], outputs: ["pairs"],
                      with: ["strategy": .string("samples"), "pairs": .int(24), "k": .int(4), "prompt_tokens": .int(3),
                             "response_tokens": .int(6), "max_tokens": .int(32)])
        let dir = chain.outputs["samples.pairs"]!
        return (try PreferencePairsFile.read(dir + "/" + PreferencePairsFile.trainName),
                try PreferencePairsFile.read(dir + "/" + PreferencePairsFile.validName), chain)
    }

    @Test func bestAndWorstJudgedContinuationsOfOnePromptBecomeAPair() throws {
        let (train, valid, chain) = try Self.samplePairs(seed: 7)
        #expect(train.count + valid.count == 24)
        let judge = try Judge(directory: chain.outputs["judge.model"]!)
        for pair in train + valid {
            // Same prompt ([EOS] + 3 tokens), different continuations, chosen scored higher by the judge.
            #expect(pair.promptLength == 4)
            #expect(Array(pair.chosen.prefix(4)) == Array(pair.rejected.prefix(4)))
            #expect(pair.chosen.count == 4 + 6 && pair.rejected.count == 4 + 6)
            #expect(pair.chosen != pair.rejected)
            let (c, r) = (try #require(pair.chosenScore), try #require(pair.rejectedScore))
            #expect(c > r)
            // The recorded scores are the judge's scores of the decoded texts.
            let rescored = judge.positiveProbabilities([pair.chosenText, pair.rejectedText])
            #expect(abs(rescored[0] - c) < 1e-9 && abs(rescored[1] - r) < 1e-9)
        }
    }

    @Test func sameSeedSamePairs() throws {
        let a = try Self.samplePairs(seed: 7), b = try Self.samplePairs(seed: 7)
        #expect(a.train == b.train && a.valid == b.valid)
    }

    @Test func samplesTheJudgeCannotTellApartEndInAnErrorNotALoop() throws {
        // Near-greedy sampling makes the k continuations of a prompt identical: no prompt yields a pair.
        let chain = try PPOStageChainTests.chain(corpus: try PPOStageChainTests.corpus(), seed: 7, evaluate: false,
                                                 ppo: PPOStageChainTests.tinyPPO.merging(["steps": .int(1)]) { $1 })
        do {
            try chain.run("greedy", RMPairsStage.self,
                          inputs: ["tokens": "tokens.tokens", "model": "sft.model", "judge": "judge.model"], outputs: ["pairs"],
                          with: ["strategy": .string("samples"), "pairs": .int(4), "k": .int(2), "prompt_tokens": .int(3),
                                 "response_tokens": .int(4), "temperature": .float(0.01)])
            Issue.record("identical samples produced pairs")
        } catch {
            #expect("\(error)".contains("raise k or temperature"), "\(error)")
        }
    }
}
