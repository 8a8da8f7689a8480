import Engine
import Foundation
import Hashing
import Pipeline
import Store

/// Series that restart from scratch several times within one stage. The judge trains its `models`
/// seeded ensemble models one after another and logs `judge/train_loss` at step model × epochs + epoch,
/// so drawn as one line its loss is a saw-tooth; the report draws one line per model against its own
/// epoch instead.
enum SeriesSegments {
    struct Layout: Equatable {
        /// The metric that restarts.
        var metric: String
        /// How many runs it holds, and the points of each.
        var count: Int
        var length: Int
        /// What one run is called in the legend ("model" → "model 1", "model 2", ...).
        var unit: String
    }

    /// Stage → layout, for the stages whose key material says they log restarting series.
    static func layouts(_ details: RunDetails, store: ArtifactStore) -> [String: Layout] {
        var result: [String: Layout] = [:]
        for execution in details.stages {
            guard let key = Digest(hex: execution.key), let material = store.record(forKey: key)?.material,
                  let layout = layout(kind: material.kind, params: material.params) else { continue }
            result[execution.stage] = layout
        }
        return result
    }

    static func layout(kind: String, params: [ResolvedParam]) -> Layout? {
        guard kind == "judge" else { return nil }
        func int(_ name: String) -> Int? {
            guard case .int(let v)? = params.first(where: { $0.name == name })?.value else { return nil }
            return Int(v)
        }
        guard let models = int("models"), let epochs = int("epochs"), models > 1, epochs >= 1 else { return nil }
        return Layout(metric: "judge/train_loss", count: models, length: epochs, unit: "model")
    }

    /// The runs of a restarting series (steps 1…count × length, in order), each against its own step
    /// 1…length; nil when the points do not have that shape.
    static func split(_ points: [MetricPoint], _ layout: Layout) -> [[(x: Double, y: Double)]]? {
        guard points.count == layout.count * layout.length,
              points.enumerated().allSatisfy({ $0.element.step == $0.offset + 1 }) else { return nil }
        return (0..<layout.count).map { run in
            points[(run * layout.length)..<((run + 1) * layout.length)].map { (x: Double($0.step - run * layout.length), y: $0.value) }
        }
    }
}
