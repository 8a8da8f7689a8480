import Testing
@testable import Pipeline

@Suite struct DAGRenderingTests {
    private func pipeline() throws -> ResolvedPipeline {
        let ws = try TempWorkspace()
        return try ws.load(Fixtures.rlhf)
    }

    @Test func textTree() throws {
        #expect(DAGRendering.text(try pipeline()) == """
            tokens (tokenise)
            └── sft (sft)  ← tokenizer: tokens.tokenizer, tokens: tokens.tokens
                └── pairs (rm-pairs)  ← corpus: tokens.tokens, model: sft.model
                    └── rm (rm)  ← init: sft.model, pairs: pairs.pairs
                        └── ppo (ppo)  ← policy: sft.model, reward: rm.model
                            └── eval (evaluate)  ← baseline: sft.model, policy: ppo.model, reward: rm.model

            """)
    }

    @Test func textTreeWithBranches() throws {
        let ws = try TempWorkspace()
        let p = try ws.load("""
            stages:
              a: { run: "echo > ${outs.o}", outs: [o] }
              b: { run: "cat ${inputs.x} > ${outs.o}", inputs: { x: a.o }, outs: [o] }
              c: { run: "cat ${inputs.x} > ${outs.o}", inputs: { x: a.o }, outs: [o] }
              d: { run: "cat ${inputs.x} > ${outs.o}", inputs: { x: b.o }, outs: [o] }
              e: { run: "echo > ${outs.o}", outs: [o] }
            """)
        #expect(DAGRendering.text(p) == """
            a (run)
            ├── b (run)  ← x: a.o
            │   └── d (run)  ← x: b.o
            └── c (run)  ← x: a.o
            e (run)

            """)
    }

    @Test func mermaid() throws {
        let text = DAGRendering.mermaid(try pipeline())
        #expect(text.hasPrefix("flowchart TD\n    s0[\"tokens<br/><small>tokenise</small>\"]\n"))
        #expect(text.contains("    s0 -->|\"tokens\"| s1\n"))
        #expect(text.contains("    s1 -->|\"model→policy\"| s4\n"))
        #expect(text.components(separatedBy: "-->").count - 1 == 11)
    }

    @Test func dot() throws {
        let text = DAGRendering.dot(try pipeline())
        #expect(text.hasPrefix("digraph \"rlhf\" {\n"))
        #expect(text.contains("    \"sft\" [label=\"sft\\nsft\"];\n"))
        #expect(text.contains("    \"rm\" -> \"ppo\" [label=\"model→reward\"];\n"))
        #expect(text.hasSuffix("}\n"))
        #expect(text.components(separatedBy: " -> ").count - 1 == 11)
    }
}
