import Engine
import StageHost

extension StageRuntime {
    /// This binary: the built-in stages it links (`pipe _stage` runs them) and the numeric
    /// libraries they run on. The engine is told, it never links the stages itself.
    static var thisBinary: StageRuntime {
        StageRuntime(builtinKinds: StageProcess.kinds,
                     numeric: NumericEnvironment(blas: HostNumerics.blas, kernelSignature: HostNumerics.kernelSignature))
    }
}
