#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func Foundation_exp(_ x: Double) -> Double { exp(x) }

extension Double {
    var logValue: Double { log(self) }
}

func tanhDouble(_ x: Double) -> Double { tanh(x) }
func erfDouble(_ x: Double) -> Double { erf(x) }
func log1pDouble(_ x: Double) -> Double { log1p(x) }
