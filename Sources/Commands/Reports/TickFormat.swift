import Foundation

/// Axis tick labels in their shortest form: `0.25`, `1200`, `5e-4`, `1.41e-5`, `2e6`. Ticks are round
/// numbers (1, 2 or 5 × 10ⁿ apart), so 12 significant digits with trailing zeros dropped are exact and
/// short; the report's tables keep `MetricFormat`'s fixed precision.
enum TickFormat {
    static func short(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value > 0 ? "inf" : "-inf" }
        if value == 0 { return "0" }
        let magnitude = abs(value)
        if magnitude >= 1e-3 && magnitude < 1e5 {
            return String(format: "%.12g", value)   // %g drops trailing zeros
        }
        // "-1.410000000000e-05" → "-1.41e-5"
        let text = String(format: "%.12e", value)
        guard let e = text.firstIndex(of: "e"), let exponent = Int(text[text.index(after: e)...]) else { return text }
        var mantissa = String(text[..<e])
        while mantissa.hasSuffix("0") { mantissa.removeLast() }
        if mantissa.hasSuffix(".") { mantissa.removeLast() }
        return mantissa + "e" + String(exponent)
    }
}
