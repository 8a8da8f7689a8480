import Tensor

/// The part of the machine that changes a stage's output bytes, hashed into every key: CPU
/// architecture, BLAS build and kernel (DYNAMIC_ARCH picks per-CPU kernels whose rounding differs),
/// and the BLAS thread count (multi-threaded reductions change summation order).
public enum NumericEnvironment {
    public static func entries(threads: Int) -> [String: String] {
        #if arch(x86_64)
        let arch = "x86_64"
        #elseif arch(arm64)
        let arch = "arm64"
        #else
        let arch = "unknown"
        #endif
        return [
            "arch": arch,
            "blas": BLAS.configuration.trimmingTrailingSpaces + " core=" + BLAS.coreName,
            "threads": String(threads),
        ]
    }
}

extension String {
    var trimmingTrailingSpaces: String {
        var copy = self
        while copy.last == " " { copy.removeLast() }
        return copy
    }
}
