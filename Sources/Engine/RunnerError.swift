/// Errors of the runner itself (not of a stage's own code, which end as a failed stage).
public enum RunnerError: Error, CustomStringConvertible, Equatable {
    case spawnFailed(String, String)
    case io(String)
    case usage(String)
    case unknownBuiltin(String, known: [String])
    case missingOutput(stage: String, output: String, path: String)

    public var description: String {
        switch self {
        case .spawnFailed(let executable, let why): return "cannot start \(executable): \(why)"
        case .io(let message): return message
        case .usage(let message): return message
        case .unknownBuiltin(let kind, let known):
            let list = known.isEmpty ? "none are registered" : "known: " + known.joined(separator: ", ")
            return "no built-in stage named '\(kind)' in this pipe binary (\(list))"
        case .missingOutput(let stage, let output, let path):
            return "stage '\(stage)' finished but did not write its declared output '\(output)' (expected at \(path))"
        }
    }
}
