import Foundation
import Pipeline

/// Which executor `pipe run` uses, and the Slurm executor's settings. Read from the executor config
/// file (`--executor-config FILE`, else `$PIPE_CONFIG`, else `pipe.config.yaml` in the current
/// directory when it exists); `--executor` and `--slurm-*` flags win over the file.
///
///     executor: slurm              # or local (the default)
///     slurm:
///       partition: debug           # --partition for every job
///       account: mylab             # --account
///       flags: [--qos=short]       # extra sbatch flags for every job
///       defaults: { cpus: 1, mem: 2G, time: 1h }   # for stages whose resources: leave a field out
///       max_jobs: 64               # jobs in the queue at once unless -j says otherwise
///       stages:                    # per stage name
///         ppo: { partition: gpu, flags: [--gres=gpu:1] }
///       poll_interval: 0.25        # seconds between squeue polls
///       status_file_grace: 30      # seconds to wait for a finished job's exit-status file (NFS caching)
///       bin_dir: /opt/slurm/bin    # where sbatch & co. live (default: PATH)
///       requeue: true              # checkpoint and requeue before the time limit (false: --no-requeue)
///       requeue_signal: 60         # seconds before the time limit that the job is signalled (USR1)
///     remotes:                     # shared caches (see `RemoteSettings`)
///       team: { url: http://cache.lan:8080/pipe, auth_env: PIPE_CACHE_TOKEN, default: true }
///       nas:  { path: /mnt/nas/pipe-cache }
public struct ExecutorSettings: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable { case local, slurm }

    public var kind: Kind
    public var slurm: SlurmConfiguration
    /// Jobs in the queue at once when `-j` is not given (`slurm.max_jobs`). The local default
    /// (one stage per core of this machine) makes no sense for a cluster.
    public var slurmMaxJobs: Int = 64
    /// The config file that was read, if any.
    public var file: String?
    /// Remote caches (`remotes:`), for `pipe push`/`pull` and `pipe run --remote`.
    public var remotes = RemoteSettings()

    public static let defaultFileName = "pipe.config.yaml"

    public init(kind: Kind = .local, slurm: SlurmConfiguration = SlurmConfiguration(), file: String? = nil) {
        self.kind = kind
        self.slurm = slurm
        self.file = file
    }

    /// `-j`'s default for this executor; nil: the local default (cores / threads).
    public var defaultJobs: Int? { kind == .slurm ? slurmMaxJobs : nil }

    /// The executor for one run (`runLabel` names its Slurm jobs).
    public func makeExecutor(runLabel: String) -> any Executor {
        switch kind {
        case .local: LocalExecutor()
        case .slurm: SlurmExecutor(configuration: slurm, runLabel: runLabel)
        }
    }

    /// Settings from the config file: `explicit`, else `$PIPE_CONFIG`, else `pipe.config.yaml` if present.
    public static func load(explicit: String?) throws -> ExecutorSettings {
        let environment = ProcessInfo.processInfo.environment["PIPE_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        if let path = explicit ?? environment {
            guard FileManager.default.fileExists(atPath: path) else {
                throw RunnerError.usage("executor config file \(path) does not exist")
            }
            return try parse(try String(contentsOfFile: path, encoding: .utf8), file: path)
        }
        if FileManager.default.fileExists(atPath: defaultFileName) {
            return try parse(try String(contentsOfFile: defaultFileName, encoding: .utf8), file: defaultFileName)
        }
        return ExecutorSettings()
    }

    public static func parse(_ text: String, file: String) throws -> ExecutorSettings {
        var settings = ExecutorSettings(file: file)
        let root: YAMLValue?
        do { root = try YAMLValue.parse(text: text, file: file) } catch {
            throw RunnerError.usage(error.description)
        }
        guard let root else { return settings }
        let reader = SettingsReader(file: file)
        for (key, value) in try reader.mapping(root, "the file", allowed: ["executor", "slurm", "remotes"]) {
            switch key {
            case "executor":
                let name = try reader.string(value, "executor")
                guard let kind = Kind(rawValue: name) else {
                    throw reader.error(value, "executor: '\(name)' is not an executor (use local or slurm)")
                }
                settings.kind = kind
            case "remotes":
                settings.remotes = try RemoteSettings.parse(value, reader: reader)
            default:
                try parseSlurm(value, into: &settings, reader: reader)
            }
        }
        return settings
    }

    private static func parseSlurm(_ node: YAMLValue, into settings: inout ExecutorSettings, reader: SettingsReader) throws {
        var configuration = SlurmConfiguration()
        let allowed = ["partition", "account", "flags", "defaults", "stages", "max_jobs", "poll_interval", "status_file_grace", "bin_dir",
                       "requeue", "requeue_signal"]
        for (key, value) in try reader.mapping(node, "slurm", allowed: allowed) {
            let field = "slurm.\(key)"
            switch key {
            case "partition": configuration.partition = try reader.string(value, field)
            case "account": configuration.account = try reader.string(value, field)
            case "flags": configuration.flags = try reader.flags(value, field)
            case "bin_dir": configuration.binDirectory = try reader.string(value, field)
            case "max_jobs":
                guard let count = Int(try reader.string(value, field)), count >= 1 else {
                    throw reader.error(value, "\(field) must be a whole number ≥ 1")
                }
                settings.slurmMaxJobs = count
            case "poll_interval": configuration.pollInterval = try reader.seconds(value, field, minimum: 0.05)
            case "status_file_grace": configuration.statusFileGrace = try reader.seconds(value, field, minimum: 0)
            case "requeue":
                switch try reader.string(value, field) {
                case "true": configuration.requeue = true
                case "false": configuration.requeue = false
                default: throw reader.error(value, "\(field) must be true or false")
                }
            case "requeue_signal":
                // Slurm accepts 0…65535 seconds; below 10 leaves no time to write a checkpoint.
                guard let seconds = Int(try reader.string(value, field)), seconds >= 10, seconds <= 65535 else {
                    throw reader.error(value, "\(field) must be a whole number of seconds from 10 to 65535 (time before the limit to checkpoint and requeue)")
                }
                configuration.requeueSignal = seconds
            case "defaults":
                for (name, item) in try reader.mapping(value, field, allowed: ["cpus", "gpus", "mem", "time"]) {
                    let path = "\(field).\(name)"
                    switch name {
                    case "cpus", "gpus":
                        guard let count = Int(try reader.string(item, path)), count >= (name == "cpus" ? 1 : 0) else {
                            throw reader.error(item, "\(path) must be a whole number\(name == "cpus" ? " ≥ 1" : " ≥ 0")")
                        }
                        if name == "cpus" { configuration.defaults.cpus = count } else { configuration.defaults.gpus = count }
                    case "mem":
                        let text = try reader.string(item, path)
                        do { _ = try SlurmResources.slurmMemory(text) } catch { throw reader.error(item, "\(path): \(error)") }
                        configuration.defaults.mem = text
                    default:
                        let text = try reader.string(item, path)
                        do { _ = try SlurmResources.slurmTime(text) } catch { throw reader.error(item, "\(path): \(error)") }
                        configuration.defaults.time = text
                    }
                }
            default:  // stages
                for (stage, item) in try reader.mapping(value, field, allowed: nil) {
                    var override = SlurmConfiguration.StageOverride()
                    for (name, setting) in try reader.mapping(item, "\(field).\(stage)", allowed: ["partition", "flags"]) {
                        if name == "partition" { override.partition = try reader.string(setting, "\(field).\(stage).partition") }
                        else { override.flags = try reader.flags(setting, "\(field).\(stage).flags") }
                    }
                    configuration.stageOverrides[stage] = override
                }
            }
        }
        settings.slurm = configuration
    }
}

/// Typed access to the config file's YAML with errors that name the file, line and field.
struct SettingsReader {
    let file: String

    func error(_ node: YAMLValue, _ message: String) -> RunnerError {
        let position = node.location.map { ":\($0.line):\($0.column)" } ?? ""
        return .usage("\(file)\(position): \(message)")
    }

    func mapping(_ node: YAMLValue, _ what: String, allowed: [String]?) throws -> [(String, YAMLValue)] {
        guard case .mapping(let pairs) = node.content else { throw error(node, "\(what) must be a mapping (key: value lines)") }
        var entries: [(String, YAMLValue)] = []
        for (keyNode, value) in pairs {
            let key = keyNode.scalarText ?? ""
            if let allowed, !allowed.contains(key) {
                let hint = Suggestion.nearest(to: key, in: allowed).map { "did you mean '\($0)'? " } ?? ""
                throw error(keyNode, "unknown field '\(key)' in \(what) (\(hint)known: \(allowed.joined(separator: ", ")))")
            }
            entries.append((key, value))
        }
        return entries
    }

    func string(_ node: YAMLValue, _ what: String) throws -> String {
        guard let text = node.scalarText else { throw error(node, "\(what) must be a single value") }
        return text
    }

    /// A duration in seconds from `minimum` to a day: finite, so a socket timeout or a sleep can take it.
    func seconds(_ node: YAMLValue, _ what: String, minimum: Double) throws -> Double {
        let maximum = 86_400.0
        guard let value = Double(try string(node, what)), value >= minimum, value <= maximum else {
            throw error(node, "\(what) must be a number of seconds from \(String(format: "%g", minimum)) to \(String(format: "%g", maximum))")
        }
        return value
    }

    /// A list of sbatch flags (or one flag as a plain string); each must start with `-`.
    func flags(_ node: YAMLValue, _ what: String) throws -> [String] {
        let items: [YAMLValue]
        if case .sequence(let sequence) = node.content { items = sequence } else { items = [node] }
        return try items.map { item in
            let flag = try string(item, what)
            guard flag.hasPrefix("-") else { throw error(item, "\(what): '\(flag)' is not an sbatch flag (write e.g. --qos=short)") }
            return flag
        }
    }
}
