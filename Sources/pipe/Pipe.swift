import ArgumentParser
import Foundation
import Tensor

/// The `pipe` command line. Thin: each subcommand parses flags and calls into Commands (or, for
/// `pipe _stage`, StageHost).
struct Pipe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipe",
        abstract: "Run machine-learning pipelines declaratively, with content-hashed caching.",
        subcommands: [RunCommand.self, StatusCommand.self, DagCommand.self, StagesCommand.self,
                      RunsCommand.self, ShowCommand.self,
                      // History, reproduction, reports, store upkeep.
                      SweepsCommand.self, DiffCommand.self, LogCommand.self, NameCommand.self,
                      ReproduceCommand.self, ExportCommand.self,
                      ReportCommand.self, GCCommand.self, VerifyCommand.self,
                      // Sharing results through a remote cache.
                      PushCommand.self, PullCommand.self,
                      // Models.
                      Sample.self,
                      BenchCommand.self, StageProcessCommand.self]
    )
}

/// Exit codes: 0 ok, 1 stage failure, 2 usage/validation error, 130 interrupted.
/// ArgumentParser reports usage errors as 64 (EX_USAGE); pipe documents 2, like most CLIs.
@main
enum Main {
    static func main() {
        do {
            // A bad PIPE_DECODE_GEMM is a usage error here, before any key or kernel depends on it.
            do { _ = try DecodeGemm.resolvePath(requested: ProcessInfo.processInfo.environment[DecodeGemm.pathVariable]) } catch {
                FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
                Foundation.exit(2)
            }
            var command = try Pipe.parseAsRoot()
            try command.run()
        } catch let exit as ExitCode {
            fflush(nil)
            Foundation.exit(exit.rawValue)
        } catch {
            let code = Pipe.exitCode(for: error)
            let message = Pipe.fullMessage(for: error)
            if code == .success {
                print(message)
                Foundation.exit(0)
            }
            FileHandle.standardError.write(Data((message + "\n").utf8))
            Foundation.exit(code == .validationFailure ? 2 : code.rawValue)
        }
        fflush(nil)
    }
}

/// Options shared by commands that load a pipeline.
struct PipelineOptions: ParsableArguments {
    @Argument(help: "The pipeline file, e.g. pipelines/sentiment.yaml.")
    var pipeline: String

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a param: STAGE.PARAM=VALUE (repeatable).", valueName: "stage.param=value"))
    var overrides: [String] = []

    @Option(help: ArgumentHelp("Artifact store directory (default: $PIPE_STORE, else ./artifacts).", valueName: "dir"))
    var store: String?

    @Option(help: "The most threads one stage may use (default: the scheduler shares out every core). Results do not depend on it.")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }
}
