import Hashing

/// All variants of a sweep merged into one DAG in which a stage that is the same in several
/// variants (same kind, version, params, command, deps, seed and the same upstream stages) appears
/// once. A PPO sweep thus holds SFT and the RM once and one PPO/evaluate pair per variant, and the
/// runner can schedule the whole sweep with `-j` as a single graph.
///
/// Sameness here is structural (a fingerprint computed before anything runs); equal fingerprints
/// imply equal stage keys for deterministic stages, so this only removes duplicate work the cache
/// would have skipped anyway, and lets independent variants run in parallel.
public struct SweepPlan: Sendable {
    public struct Node: Sendable {
        /// Index in `nodes` (topological order).
        public var id: Int
        public var stage: ResolvedStage
        /// Input name → producing node id (sorted by input name, like `stage.inputs`).
        public var upstream: [(input: String, node: Int)]
        /// Indices into `variants` of the variants that run this node.
        public var variants: [Int]
        /// `sft` when shared by every variant, else `ppo[ppo.lr=3e-05]` (the first variant's name).
        public var displayName: String
        /// Structural identity (hex), stable across processes.
        public var fingerprint: Digest
    }

    public var variants: [SweepVariant]
    /// Topological order: every node after its producers.
    public var nodes: [Node]

    /// Node ids of one variant's stages, in topological order.
    public func nodes(ofVariant index: Int) -> [Int] {
        nodes.filter { $0.variants.contains(index) }.map(\.id)
    }

    public init(variants: [SweepVariant]) {
        self.variants = variants
        var nodes: [Node] = []
        var byFingerprint: [Digest: Int] = [:]
        for (variantIndex, variant) in variants.enumerated() {
            var nodeOfStage: [String: Int] = [:]
            var fingerprintOfStage: [String: Digest] = [:]
            for stage in variant.pipeline.stages {  // topological, so producers come first
                let upstream = stage.inputs.map { (input: $0.name, node: nodeOfStage[$0.stage]!) }
                let fingerprint = Self.fingerprint(stage, seed: variant.pipeline.seed,
                                                   upstream: stage.inputs.map { ($0, fingerprintOfStage[$0.stage]!) })
                fingerprintOfStage[stage.name] = fingerprint
                if let existing = byFingerprint[fingerprint] {
                    nodes[existing].variants.append(variantIndex)
                    nodeOfStage[stage.name] = existing
                } else {
                    let id = nodes.count
                    nodes.append(Node(id: id, stage: stage, upstream: upstream, variants: [variantIndex],
                                      displayName: stage.name, fingerprint: fingerprint))
                    byFingerprint[fingerprint] = id
                    nodeOfStage[stage.name] = id
                }
            }
        }
        for i in nodes.indices where nodes[i].variants.count < variants.count {
            nodes[i].displayName = "\(nodes[i].stage.name)[\(variants[nodes[i].variants[0]].name)]"
        }
        self.nodes = nodes
    }

    /// Everything that goes into the stage key except input *contents*, with upstream stages
    /// represented by their own fingerprints (a Merkle chain, like Snakemake's provenance hash).
    static func fingerprint(_ stage: ResolvedStage, seed: UInt64, upstream: [(InputBinding, Digest)]) -> Digest {
        var e = CanonicalEncoder()
        e.field("kind") { $0.string(stage.kind) }
        e.field("version") { $0.int(Int64(stage.implementationVersion)) }
        e.field("params") { e in e.map { m in for p in stage.params { m.field(p.name) { p.value.encode(into: &$0) } } } }
        e.field("command") { e in if let c = stage.keyCommand { e.string(c) } else { e.null() } }
        e.field("deps") { e in e.list { l in for d in stage.deps { l.string(d) } } }
        e.field("inputs") { e in
            e.map { m in
                for (binding, digest) in upstream {
                    m.field(binding.name) { $0.digest(digest); $0.string(binding.output) }
                }
            }
        }
        e.field("seed") { $0.int(Int64(bitPattern: seed)) }
        return e.sha256
    }
}
