import ArgumentParser
import Foundation
import Stages
import Tensor

/// Finds the Python that runs the PyTorch reference scripts of `pipe bench gpt|ppo` (torch and
/// transformers installed with pip into a venv; optional, never needed by the tests).
enum TorchReference {
    /// Where `python3 -m venv … && pip install torch transformers` usually puts the reference venv.
    static let venvCandidates = [".venv-torch/bin/python", "venv-torch/bin/python", "../venv-torch/bin/python"]

    static let optionHelp = "Python with torch + transformers (default: $PIPE_TORCH_PYTHON, else the first existing of .venv-torch/, venv-torch/, ../venv-torch/ bin/python; 'none' = compare with the figures recorded in benchmarks/gpt/anchors.md)."

    /// `--torch-python`, else $PIPE_TORCH_PYTHON, else the first venv candidate; nil for `none` or when
    /// nothing is found.
    static func python(option: String?) -> String? {
        let chosen = option ?? ProcessInfo.processInfo.environment["PIPE_TORCH_PYTHON"]
            ?? venvCandidates.first { FileManager.default.isExecutableFile(atPath: $0) }
        return chosen?.lowercased() == "none" ? nil : chosen
    }

    static func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
    }
}

/// Every ML benchmark first checks the loaded BLAS kernels against a double-precision reference, so
/// no figure is printed for kernels that compute the wrong thing (see `KernelCheck`).
enum KernelPreflight {
    static func run(say: (String) -> Void) throws {
        let check = KernelCheck.run()
        say(String(format: "kernel check (OpenBLAS %@, %d GEMM/GEMV cases vs float64): worst relative error %.1e in %@ — %@",
                   BLAS.coreName, check.cases, check.worstRelativeError, check.worstCase, check.passed ? "ok" : "WRONG"))
        guard check.passed else {
            throw ValidationError("OpenBLAS's \(BLAS.coreName) kernels compute wrong results on this CPU; choose another family with \(BLAS.coreTypeVariable) (e.g. Haswell)")
        }
    }
}

/// The options every ML benchmark shares: BLAS threads (PyTorch gets the same) and the PyTorch Python.
struct BenchComparisonOptions: ParsableArguments {
    @Option(help: "Threads (pipe: worker threads of one BLAS thread each, in ppo/grpo and gpt training; BLAS threads in gpt sampling); PyTorch gets the same number.")
    var threads = 1

    @Option(help: ArgumentHelp(stringLiteral: TorchReference.optionHelp))
    var torchPython: String?

    /// The PyTorch Python to compare with, or nil (see `TorchReference.python`).
    var python: String? { TorchReference.python(option: torchPython) }

    /// Applies the thread count to this process and to the PyTorch child it starts.
    func applyThreads() {
        BLAS.setThreads(threads)
        setenv("OPENBLAS_NUM_THREADS", "\(threads)", 1)
    }
}

/// Ratios of alternating rounds as `--rounds` prints them: `1.05×, 1.50×, 1.26× → median 1.26×`.
func roundsSummary(_ ratios: [Double]) -> String {
    ratios.map { String(format: "%.3f×", $0) }.joined(separator: ", ") + String(format: " → median %.3f×", PPOBenchmark.median(ratios))
}
