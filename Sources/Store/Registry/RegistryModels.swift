import Foundation
import Hashing

/// Plain data stored in the run registry (`runs.sqlite`).

public enum RunStatus: String, Sendable, Codable, CaseIterable {
    case running, succeeded, failed, interrupted
}

/// What the runner knows when a run starts.
public struct NewRun: Sendable, Equatable {
    public var pipelinePath: String
    /// Digest of the pipeline file's bytes (hex).
    public var pipelineDigest: String
    /// The pipeline's `name:`.
    public var name: String
    /// Resolved params of every stage (whatever JSON shape the runner chooses).
    public var params: JSONValue
    public var commandLine: [String]
    public var startedAt: Date
    public var host: String

    public init(pipelinePath: String, pipelineDigest: String, name: String, params: JSONValue,
                commandLine: [String], startedAt: Date = Date(), host: String? = nil) {
        self.pipelinePath = pipelinePath; self.pipelineDigest = pipelineDigest; self.name = name
        self.params = params; self.commandLine = commandLine; self.startedAt = startedAt
        self.host = host ?? POSIX.hostName
    }
}

public struct RunInfo: Sendable, Equatable {
    /// Short, sortable, human-friendly: `20261122-020455-3fa1` (UTC start time + 4 random hex digits).
    public var id: String
    public var pipelinePath: String
    public var pipelineDigest: String
    public var name: String
    public var status: RunStatus
    public var startedAt: Date
    public var finishedAt: Date?
    public var params: JSONValue
    public var commandLine: [String]
    public var host: String

    public var durationSeconds: Double? { finishedAt.map { $0.timeIntervalSince(startedAt) } }
}

public enum StageOutcome: String, Sendable, Codable, CaseIterable {
    /// Found in the store; nothing ran.
    case cached
    /// Executed and committed.
    case ran
    /// Executed and failed (no record committed).
    case failed
    /// Not executed because an upstream stage failed or the run was interrupted.
    case skipped
}

public struct StageExecution: Sendable, Equatable {
    public var runID: String
    public var stage: String
    /// Stage key (hex).
    public var key: String
    public var outcome: StageOutcome
    public var startedAt: Date?
    public var finishedAt: Date?
    public var exitStatus: Int32?
    /// Output name → digest (empty unless cached or ran).
    public var outputs: [String: Digest]
    /// A short human note (failure reason, "waited for lock", job id, ...).
    public var message: String?

    public init(runID: String, stage: String, key: String, outcome: StageOutcome, startedAt: Date? = nil,
                finishedAt: Date? = nil, exitStatus: Int32? = nil, outputs: [String: Digest] = [:], message: String? = nil) {
        self.runID = runID; self.stage = stage; self.key = key; self.outcome = outcome
        self.startedAt = startedAt; self.finishedAt = finishedAt; self.exitStatus = exitStatus
        self.outputs = outputs; self.message = message
    }

    public var durationSeconds: Double? {
        guard let startedAt, let finishedAt else { return nil }
        return finishedAt.timeIntervalSince(startedAt)
    }
}

public struct MetricPoint: Sendable, Equatable {
    public var step: Int
    public var name: String
    public var value: Double

    public init(step: Int, name: String, value: Double) {
        self.step = step; self.name = name; self.value = value
    }
}

public struct RunDetails: Sendable, Equatable {
    public var run: RunInfo
    /// In the order they were recorded.
    public var stages: [StageExecution]
    /// Stage name → its metric points, ordered by name then step.
    public var metrics: [String: [MetricPoint]]
}
