import Engine
import Foundation

/// Whether a Slurm cluster answers for the cluster tests: one already running (`sinfo` works), or a
/// one-node cluster that `scripts/slurm/start-local.sh` brings up within `startLimit` seconds
/// (root only; it installs Debian's packages if missing). Otherwise the tests are skipped and
/// `reason` says why — printed, never silently passed.
enum SlurmCluster {
    static let startLimit = 150

    static let state: (up: Bool, reason: String) = {
        let result = probe()
        if !result.up { print("◇ SlurmTests: cluster tests skipped: \(result.reason)") }
        return result
    }()

    static var isUp: Bool { state.up }

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    private static func probe() -> (up: Bool, reason: String) {
        let commands = SlurmCommands()
        if commands.path(of: "sbatch") != nil, commands.clusterAnswers() { return (true, "") }
        if ProcessInfo.processInfo.environment["PIPE_SLURM_NO_START"] == "1" {
            return (false, "no Slurm cluster answers (sinfo) and PIPE_SLURM_NO_START=1")
        }
        guard getuid() == 0 else {
            return (false, "no Slurm cluster answers (sinfo), and starting one needs root: run `sudo scripts/slurm/start-local.sh`")
        }
        let script = packageRoot + "/scripts/slurm/start-local.sh"
        guard FileManager.default.isExecutableFile(atPath: script) else { return (false, "no Slurm cluster and no \(script)") }
        // posix_spawn + waitpid (ChildProcess), not Foundation's Process: its waitUntilExit was seen
        // to hang here with the child already a zombie.
        let log = NSTemporaryDirectory() + "pipe-slurm-start-\(getpid()).log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let termination: ChildProcess.Termination
        do {
            let environment = ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }
            termination = try ChildProcess.spawn(executable: "/usr/bin/timeout", arguments: [String(startLimit), script],
                                                 environment: environment, directory: packageRoot, logPath: log).wait()
        } catch { return (false, "cannot run \(script): \(error)") }
        let printed = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        guard termination == .exited(0) else {
            let tail = printed.split(separator: "\n").suffix(3).joined(separator: " | ")
            let overLimit = termination == .exited(124) ? ", over \(startLimit) s" : ""
            return (false, "scripts/slurm/start-local.sh failed (\(termination)\(overLimit)): \(tail)")
        }
        // It prints `export SLURM_CONF=…`: the clients here and in `pipe` children need it.
        for line in printed.split(separator: "\n") where line.hasPrefix("export SLURM_CONF=") {
            setenv("SLURM_CONF", String(line.dropFirst("export SLURM_CONF=".count)), 1)
        }
        return commands.clusterAnswers() ? (true, "") : (false, "start-local.sh succeeded but sinfo still does not answer")
    }

    /// `squeue` rows of every job Slurm remembers: (id, name, state).
    /// The cluster's jobs; `directory` is the job's working directory (a stage's staging directory
    /// inside its store), so that a test acts only on its own jobs while other Slurm tests run.
    static func jobs() -> [(id: String, name: String, state: String, directory: String)] {
        guard let output = try? SlurmCommands().run("squeue", ["-h", "--states=all", "-o", "%i|%j|%T|%Z"]) else { return [] }
        return output.text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            return fields.count == 4 ? (fields[0], fields[1], fields[2], fields[3]) : nil
        }
    }
}
