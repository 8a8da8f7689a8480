import Foundation
import Pipeline

/// Cluster-wide settings of the Slurm executor (`slurm:` in the executor config file, or
/// `--slurm-partition` / `--slurm-flag`). Per-stage resources come from the stage's `resources:`.
public struct SlurmConfiguration: Sendable, Equatable {
    /// `--partition`; nil: the cluster's default partition.
    public var partition: String?
    /// `--account`; nil: the user's default account.
    public var account: String?
    /// Extra sbatch flags for every job, e.g. `--qos=short`, `--constraint=avx2`.
    public var flags: [String]
    /// Resources for stages that declare none (per field).
    public var defaults: SlurmResources
    /// Per stage name: partition and extra flags (e.g. a GPU partition for one stage).
    public var stageOverrides: [String: StageOverride]
    /// Seconds between `squeue` polls. Slurm starts batch jobs on a 1 s tick, so polling faster
    /// than ~0.25 s buys nothing.
    public var pollInterval: Double
    /// How long to wait for the batch script's exit-status file after Slurm reports the job
    /// COMPLETED: NFS clients may cache a directory's attributes for up to `acdirmax` (60 s by default).
    public var statusFileGrace: Double
    /// Directory holding sbatch/squeue/scontrol/scancel; nil: search `PATH`.
    public var binDirectory: String?
    /// Submit with `--requeue --signal=B:USR1@<requeueSignal>`: before its time limit the job asks the
    /// stage for a checkpoint and requeues itself, and the requeued job resumes from that checkpoint.
    /// false: `--no-requeue` (a job killed at its limit fails; the next `pipe run` resumes it).
    public var requeue: Bool
    /// Seconds before the time limit at which Slurm signals the job. slurmctld checks time limits on
    /// a ~30 s tick, so the signal can come that much earlier or later than asked.
    public var requeueSignal: Int

    public struct StageOverride: Sendable, Equatable {
        public var partition: String?
        public var flags: [String]

        public init(partition: String? = nil, flags: [String] = []) {
            self.partition = partition
            self.flags = flags
        }
    }

    public init(partition: String? = nil, account: String? = nil, flags: [String] = [],
                defaults: SlurmResources = SlurmResources(), stageOverrides: [String: StageOverride] = [:],
                pollInterval: Double = 0.25, statusFileGrace: Double = 30, binDirectory: String? = nil,
                requeue: Bool = true, requeueSignal: Int = 60) {
        self.partition = partition
        self.account = account
        self.flags = flags
        self.defaults = defaults
        self.stageOverrides = stageOverrides
        self.pollInterval = pollInterval
        self.statusFileGrace = statusFileGrace
        self.binDirectory = binDirectory
        self.requeue = requeue
        self.requeueSignal = requeueSignal
    }
}

/// What one job asks Slurm for, in pipe's notation: the pipeline's own `Resources` (`resources:` in a
/// declaration or pipeline). `mem`: `512M`, `4G`, `1.5G` (megabytes without a unit); `time`: `90s`,
/// `30m`, `2h`, `1d`, or Slurm's `MM`, `HH:MM:SS`, `D-HH:MM`.
public typealias SlurmResources = Resources

extension Resources {
    /// From `StageJob.resources` (keys cpus, gpus, mem, time).
    public init(_ dictionary: [String: String]) {
        self.init(cpus: dictionary["cpus"].flatMap { Int($0) }, gpus: dictionary["gpus"].flatMap { Int($0) },
                  mem: dictionary["mem"], time: dictionary["time"])
    }

    /// Fields set here win over `base`.
    public func overriding(_ base: SlurmResources) -> SlurmResources {
        SlurmResources(cpus: cpus ?? base.cpus, gpus: gpus ?? base.gpus, mem: mem ?? base.mem, time: time ?? base.time)
    }

    /// `--time` in a form every Slurm version reads: `MM` (minutes), `HH:MM:SS` or `D-HH:MM:SS`.
    /// pipe's `90s`/`30m`/`2h`/`1d` are converted; Slurm's own forms pass through.
    public static func slurmTime(_ text: String) throws -> String {
        guard let unit = text.last, "smhd".contains(unit) else {
            guard !text.isEmpty, text.allSatisfy({ $0.isNumber || $0 == ":" || $0 == "-" }) else {
                throw RunnerError.usage("resources.time '\(text)' is not a duration (write e.g. 90s, 30m, 2h, 1d or HH:MM:SS)")
            }
            return text
        }
        guard let count = Int(text.dropLast()), count >= 0 else {
            throw RunnerError.usage("resources.time '\(text)' is not a duration (write e.g. 90s, 30m, 2h, 1d or HH:MM:SS)")
        }
        let (seconds, overflow) = count.multipliedReportingOverflow(by: ["s": 1, "m": 60, "h": 3600, "d": 86400][String(unit)]!)
        guard !overflow else { throw RunnerError.usage("resources.time '\(text)' is too long (at most 2^63 seconds)") }
        let days = seconds / 86400, hours = seconds % 86400 / 3600, minutes = seconds % 3600 / 60, rest = seconds % 60
        let clock = String(format: "%02d:%02d:%02d", hours, minutes, rest)
        return days > 0 ? "\(days)-\(clock)" : clock
    }

    /// `--mem` in whole units Slurm reads (`K`, `M`, `G`, `T`; megabytes without a unit).
    /// Fractions are converted down a unit: `1.5G` → `1536M`.
    public static func slurmMemory(_ text: String) throws -> String {
        let units: [Character] = ["K", "M", "G", "T"]
        var number = Substring(text)
        var unitIndex = 1  // megabytes
        if let last = number.last?.uppercased().first, let index = units.firstIndex(of: last) {
            unitIndex = index
            number = number.dropLast()
        }
        guard let value = Double(number), value > 0, value.isFinite else {
            throw RunnerError.usage("resources.mem '\(text)' is not a size (write e.g. 512M, 4G)")
        }
        var scaled = value
        while scaled != scaled.rounded(), unitIndex > 0 {
            scaled *= 1024
            unitIndex -= 1
        }
        // The loader's bound (ResourcesParser.maxMemoryKiB): below it the count is exact and fits an Int.
        guard scaled.rounded(.up) * [1, 0x1p10, 0x1p20, 0x1p30][unitIndex] < 0x1p53 else {
            throw RunnerError.usage("resources.mem '\(text)' is too large (at most 2^53 KiB)")
        }
        return "\(Int(scaled.rounded(.up)))\(units[unitIndex])"
    }
}
