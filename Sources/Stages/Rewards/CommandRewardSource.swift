import Foundation

/// `command`: a scorer program started once per stage, spoken to in JSON lines. Each batch is one
/// request line on its stdin, `{"prompts": [...], "completions": [...], "columns": {...}}`, answered by
/// one line on its stdout, `{"rewards": [...]}`. Its stderr goes to the stage log.
///
/// The command runs with `/bin/sh -c` in the stage's scratch directory, so it can be a pipeline of its
/// own (`cd ... && python3 score.py`). `${inputs.scorer}` in it expands to the shell-quoted path of the
/// stage's `scorer` input (a stage output or a workspace folder holding the scorer's files, whose
/// digest is in the stage key); the same path is in the environment as `PIPE_SCORER`.
public final class CommandRewardSource: RewardSource {
    public let name: String
    public let command: String
    public let timeout: Double
    let process: ScorerProcess

    /// - Parameters:
    ///   - command: the `reward_command` param, before `${inputs.scorer}` is expanded.
    ///   - scorer: the path of the `scorer` input, or nil when it is not wired.
    ///   - directory: the working directory (the stage's scratch directory).
    ///   - timeout: seconds allowed for each answer (the first includes the program's start-up).
    ///   - log: the stage log; stderr lines arrive here as they come.
    ///   - param, scorerInput: the param and the input this source comes from (the gold scorer's are
    ///     `gold_command` and `gold_scorer`), for messages and for the `${inputs.<scorerInput>}` reference.
    public init(command template: String, scorer: String?, directory: String, timeout: Double,
                name: String = "command", param: String = "reward_command", scorerInput: String = "scorer",
                log: @escaping (String) -> Void) throws {
        let command = try Self.expand(template, scorer: scorer, param: param, input: scorerInput)
        var environment = ProcessInfo.processInfo.environment
        if let scorer { environment["PIPE_SCORER"] = scorer }
        let entries = environment.keys.sorted().map { "\($0)=\(environment[$0]!)" }
        self.name = name
        self.command = command
        self.timeout = timeout
        process = try ScorerProcess(command: command, directory: directory, environment: entries, log: log)
        log("reward source '\(name)': started `\(command)` (pid \(process.pid)) in \(directory)")
    }

    public func score(_ request: RewardRequest) throws -> [Float] {
        let answer: String
        do { answer = try process.exchange(request.pipeJSON.text, timeout: timeout) } catch {
            throw StageError.failed("reward command `\(command)` failed on a batch of \(request.count): \(error.message)\(stderrDetail.isEmpty ? "" : "\n" + stderrDetail)")
        }
        return try RewardResponse.rewards(from: answer, rows: request.count, source: name, detail: stderrDetail)
    }

    /// The scorer's last stderr lines, for error messages.
    var stderrDetail: String {
        let tail = process.stderrTail
        guard !tail.isEmpty else { return "(the command wrote nothing to stderr)" }
        return "last \(tail.count) stderr line\(tail.count == 1 ? "" : "s") of the command:\n" + tail.map { "  | " + $0 }.joined(separator: "\n")
    }

    public func close() { process.close() }

    deinit { process.close(grace: 1) }

    /// Expands `${inputs.scorer}` (`${inputs.<input>}`); any other `${a.b}` reference is an error (the
    /// shell would fail on it with a less helpful message).
    static func expand(_ template: String, scorer: String?, param: String = "reward_command", input: String = "scorer") throws -> String {
        guard !template.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw StageError.badParam(param, "empty: give the scorer's command line, e.g. \"python3 ${inputs.\(input)}/score.py\"")
        }
        var out = "", rest = template[...]
        while let start = rest.range(of: "${") {
            out += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else { out += rest[start.lowerBound...]; rest = ""; break }
            let reference = String(rest[start.upperBound..<end])
            if reference == "inputs." + input {
                guard let scorer else {
                    throw StageError.badParam(param, "uses ${inputs.\(input)} but the stage's `\(input)` input is not wired (inputs: { \(input): <stage>.<output> })")
                }
                out += "'" + scorer.replacingOccurrences(of: "'", with: "'\\''") + "'"
            } else if reference.contains(".") {
                throw StageError.badParam(param, "unknown reference '${\(reference)}': only ${inputs.\(input)} expands here")
            } else {
                out += "${" + reference + "}"  // a shell variable such as ${HOME}
            }
            rest = rest[rest.index(after: end)...]
        }
        return out + rest
    }
}
