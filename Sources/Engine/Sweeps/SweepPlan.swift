import Hashing
import Pipeline
import Store

/// All variants of a sweep merged into one DAG before anything runs: a stage whose definition and
/// upstream are identical in several variants becomes one node (so it is keyed, run and shown once),
/// the others get one node per distinct definition, named `ppo[ppo.lr=3e-05]`.
///
/// Identity is decided structurally (same resolved stage, same upstream nodes), which is what makes
/// the keys equal before any digest is known. Stages that are structurally different but still end
/// up with the same key (e.g. a param that does not change the output) are deduplicated later by the
/// store's per-key lock and cache.
public struct SweepPlan: Sendable {
    public struct Node: Sendable {
        /// Unique name in the merged pipeline: the stage's own name when it has one node, else
        /// `stage[label]` with the swept values its variants share.
        public var name: String
        /// The stage's name in the pipeline file.
        public var stage: String
        /// Indices of the variants using it, ascending.
        public var variants: [Int]
        /// The resolved stage as the variants define it (inputs refer to node names).
        var resolved: ResolvedStage
    }

    public let variants: [SweepVariant]
    public let nodes: [Node]
    /// The merged pipeline the scheduler runs: one stage per node, topological.
    public let pipeline: ResolvedPipeline
    /// `nodeOf[v][stage]` is the node name running `stage` for variant `v`.
    public let nodeOf: [[String: String]]
    /// When node labels list only values (`ppo[3e-05,0.1]`): the swept params, in label order.
    public let labelAxes: [String]?
    /// Node name → position in `nodes`.
    private let positionOfNode: [String: Int]
    /// `overrideTexts(ofVariant:)` of every variant, worked out once (the registry, the lock file and
    /// the sweep table each ask for all of them).
    private let overrideTextsOfVariant: [[(target: String, value: String)]]

    public init(variants: [SweepVariant]) throws {
        precondition(!variants.isEmpty, "a sweep has at least one variant")
        self.variants = variants
        var nodes: [Node] = []
        var nodeIndex: [StageSignature: Int] = [:]   // the stage with inputs pointing at node ids
        nodeIndex.reserveCapacity(variants[0].pipeline.stages.count * 2)
        var nodeOf: [[String: String]] = []
        var nodeIdOf: [[String: Int]] = []
        nodeOf.reserveCapacity(variants.count)
        nodeIdOf.reserveCapacity(variants.count)
        for (v, variant) in variants.enumerated() {
            var ids: [String: Int] = [:]
            ids.reserveCapacity(variant.pipeline.stages.count)
            for stage in variant.pipeline.stages {
                var signature = StageSignature(stage)
                signature.stage.inputs = stage.inputs.map { binding in
                    var rewritten = binding
                    rewritten.stage = "#\(ids[binding.stage] ?? -1)"
                    return rewritten
                }
                if let existing = nodeIndex[signature] {
                    nodes[existing].variants.append(v)
                    ids[stage.name] = existing
                } else {
                    nodeIndex[signature] = nodes.count
                    ids[stage.name] = nodes.count
                    nodes.append(Node(name: stage.name, stage: stage.name, variants: [v], resolved: stage))
                }
            }
            nodeIdOf.append(ids)
        }
        let overrideValues = variants.map { variant in variant.overrides.map { resolvedText(of: $0, in: variant.pipeline) } }
        labelAxes = Self.name(&nodes, values: overrideValues)
        overrideTextsOfVariant = overrideValues.map { values in
            var result: [(target: String, value: String)] = []
            for (target, value) in values {
                if let i = result.firstIndex(where: { $0.target == target }) { result[i].value = value } else { result.append((target, value)) }
            }
            return result
        }
        for ids in nodeIdOf { nodeOf.append(ids.mapValues { nodes[$0].name }) }

        // The merged pipeline: nodes are created in an order where producers come first.
        var stages: [ResolvedStage] = []
        for node in nodes {
            var stage = node.resolved
            let v = node.variants[0]
            stage.name = node.name
            stage.inputs = node.resolved.inputs.map { binding in
                var rewritten = binding
                rewritten.stage = nodeOf[v][binding.stage] ?? binding.stage
                return rewritten
            }
            stages.append(stage)
        }
        var merged = variants[0].pipeline
        merged.stages = stages
        merged.overrides = []
        var edges: [String: [String]] = [:]
        for stage in stages { edges[stage.name] = stage.upstreamStages }
        merged.graph = try StageGraph(names: stages.map(\.name), upstreamOf: edges)
        self.nodes = nodes
        self.nodeOf = nodeOf
        self.pipeline = merged
        positionOfNode = Dictionary(uniqueKeysWithValues: nodes.enumerated().map { ($0.element.name, $0.offset) })
    }

    /// The node named `name` in the merged pipeline.
    public func node(named name: String) -> Node? { positionOfNode[name].map { nodes[$0] } }

    /// Nodes of a stage that has several get `stage[label]`, the label being the swept values common
    /// to every variant using the node (`ppo[ppo.lr=3e-05]`, `pairs[pairs.count=12]`). When such
    /// names would not fit the live view's name column (24 characters), the label lists only the
    /// values (`ppo[3e-05,0.1]`) and `labelAxes` says which params they are. `#n` is appended if a
    /// label still does not tell two nodes apart. Returns the axes of compact labels, if used.
    /// `values[v]` are variant `v`'s overrides as text (`resolvedText`), in order.
    private static func name(_ nodes: inout [Node], values: [[(target: String, value: String)]]) -> [String]? {
        var byStage: [String: [Int]] = [:]
        for (i, node) in nodes.enumerated() { byStage[node.stage, default: []].append(i) }
        var labels: [Int: [(target: String, value: String)]] = [:]
        for (_, members) in byStage where members.count > 1 {
            for i in members {
                let users = nodes[i].variants
                var parts: [(target: String, value: String)] = []
                for (target, value) in values[users[0]] where !parts.contains(where: { $0.target == target }) {
                    if users.allSatisfy({ u in values[u].contains { $0.target == target && $0.value == value } }) { parts.append((target, value)) }
                }
                labels[i] = parts
            }
        }
        let compact = labels.contains { i, parts in
            (nodes[i].stage + "[" + parts.map { "\($0.target)=\($0.value)" }.joined(separator: ",") + "]").count > liveViewNameWidth
        }
        var axes: [String] = []
        for row in values { for (target, _) in row where !axes.contains(target) { axes.append(target) } }

        var used = Set(nodes.map(\.stage))
        for (_, members) in byStage.sorted(by: { $0.key.utf8Precedes($1.key) }) where members.count > 1 {
            for (ordinal, i) in members.enumerated() {
                let parts = labels[i]!
                let label = compact ? parts.map(\.value).joined(separator: ",") : parts.map { "\($0.target)=\($0.value)" }.joined(separator: ",")
                var name = nodes[i].stage + "[" + (label.isEmpty ? "#\(ordinal + 1)" : label) + "]"
                if used.contains(name) { name = nodes[i].stage + "[" + label + "#\(ordinal + 1)]" }
                used.insert(name)
                nodes[i].name = name
            }
        }
        return compact ? axes : nil
    }

    /// A stage as a dictionary key: equal when the whole resolved stage is equal, hashed over the
    /// fields variants differ in (name, params, inputs, seed) so merging a large sweep does not
    /// hash every stage's command text, declaration and location.
    struct StageSignature: Hashable {
        var stage: ResolvedStage

        init(_ stage: ResolvedStage) { self.stage = stage }

        static func == (a: StageSignature, b: StageSignature) -> Bool { a.stage == b.stage }

        func hash(into hasher: inout Hasher) {
            hasher.combine(stage.name)
            hasher.combine(stage.params)
            hasher.combine(stage.inputs)
            hasher.combine(stage.seed)
        }
    }

    /// Names up to this long show in full in the terminal live view.
    static let liveViewNameWidth = 24

    /// The variant's stage for a merged-pipeline stage name, for each variant using that node.
    public func uses(ofNode name: String) -> [(variant: Int, stage: ResolvedStage)] {
        guard let node = node(named: name) else { return [] }
        return node.variants.compactMap { v in variants[v].pipeline.stage(named: node.stage).map { (v, $0) } }
    }
}

extension SweepPlan {
    /// `stage.param` → value text of a variant's swept params, in axis order (a param swept twice
    /// keeps its last value).
    public func overrideTexts(ofVariant v: Int) -> [(target: String, value: String)] {
        overrideTextsOfVariant[v]
    }

    /// How variant `v` ended in a run of the merged pipeline: succeeded when every one of its stages
    /// has its outputs.
    public func status(ofVariant v: Int, in report: RunReport) -> RunStatus {
        if report.status == .interrupted { return .interrupted }
        let outcomes = nodeOf[v].values.compactMap { report.outcomes[$0] }
        return outcomes.allSatisfy(\.isAvailable) ? .succeeded : .failed
    }
}
