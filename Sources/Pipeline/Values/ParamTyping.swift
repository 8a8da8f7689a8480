/// Types raw YAML values against declared param types (and checks min/max/choices).
enum ParamTyping {
    /// Why a value does not fit; the caller adds "stage 'x': param 'y': ".
    struct Mismatch: Error { var message: String }

    /// `value` as `type`. An int literal is accepted for a float; a float for an int is an error.
    static func typed(_ value: YAMLValue, as type: ParamType) -> Result<ParamValue, Mismatch> {
        let found = value.kindDescription
        switch type {
        case .list:
            switch value.content {
            case .sequence(let items):
                var out: [ParamValue] = []
                for item in items {
                    guard case .scalar = item.content, let scalar = untypedScalar(item) else {
                        return .failure(Mismatch(message: "expected a list of scalars, found an item that is \(item.kindDescription)"))
                    }
                    if let problem = nonFinite(scalar) { return .failure(problem) }
                    out.append(wholeNumbersAsInts(scalar))
                }
                return .success(.list(out))
            default:
                return .failure(Mismatch(message: "expected list, found \(found)"))
            }
        case .string:
            // A string param takes any scalar as text (`tag: 2024` is the string "2024"), not null.
            guard case .scalar(let text, let plain) = value.content, !(plain && YAMLScalar.classify(text) == .null) else {
                return .failure(Mismatch(message: "expected string, found \(found)"))
            }
            return .success(.string(text))
        case .int, .float, .bool:
            guard case .scalar(let text, let plain) = value.content, plain else {
                return .failure(Mismatch(message: "expected \(type), found \(found)"))
            }
            switch (type, YAMLScalar.classify(text)) {
            case (.int, .int(let v)): return .success(.int(v))
            case (.int, .string) where YAMLScalar.isDecimalInt(Array(text.utf8)):
                return .failure(Mismatch(message: "\(text) is beyond the 64-bit integer range"))
            case (.float, .int(let v)): return .success(.float(Double(v)))
            case (.float, .float(let v)): return .success(.float(v))
            case (.bool, .bool(let v)): return .success(.bool(v))
            default: return .failure(Mismatch(message: "expected \(type), found \(found)"))
            }
        }
    }

    /// A value typed as YAML 1.2 gives it (inline `run:` stages have no declaration).
    static func untyped(_ value: YAMLValue) -> Result<ParamValue, Mismatch> {
        switch value.content {
        case .scalar:
            guard let scalar = untypedScalar(value) else {
                return .failure(Mismatch(message: "null is not a value (give a value or remove the param)"))
            }
            if let problem = nonFinite(scalar) { return .failure(problem) }
            return .success(scalar)
        case .sequence:
            return typed(value, as: .list)
        case .mapping:
            return .failure(Mismatch(message: "expected a scalar or a list, found a mapping"))
        }
    }

    /// A list item has no declared type, so `1.0` and `1` must be one value: the run registry keeps
    /// params as JSON, which writes `1.0` as `1`, and a list read back from it must give the same key.
    private static func wholeNumbersAsInts(_ value: ParamValue) -> ParamValue {
        guard case .float(let number) = value, number == number.rounded(), abs(number) < 9.0e15 else { return value }
        return .int(Int64(number))
    }

    /// Undeclared params and list items have no declaration that could allow NaN or infinity.
    private static func nonFinite(_ value: ParamValue) -> Mismatch? {
        guard case .float(let number) = value, !number.isFinite else { return nil }
        return Mismatch(message: "\(value) is not a finite number (quote it to pass the text)")
    }

    private static func untypedScalar(_ value: YAMLValue) -> ParamValue? {
        guard case .scalar(let text, let plain) = value.content else { return nil }
        guard plain else { return .string(text) }
        switch YAMLScalar.classify(text) {
        case .null: return nil
        case .bool(let v): return .bool(v)
        case .int(let v): return .int(v)
        case .float(let v): return .float(v)
        case .string(let v): return .string(v)
        }
    }

    /// Checks bounds and choices of a typed value against its declaration.
    static func checkLimits(_ value: ParamValue, _ declaration: ParamDeclaration) -> Mismatch? {
        if case .float(let number) = value, !number.isFinite {
            if declaration.finite {
                return Mismatch(message: "\(value) is not a finite number (the declaration may allow it with 'finite: false')")
            }
            if number.isNaN, declaration.min != nil || declaration.max != nil {
                return Mismatch(message: "nan is not within the declared bounds")
            }
        }
        if let number = value.numericValue {
            if let min = declaration.min, number < min {
                return Mismatch(message: "\(value) is below the minimum \(display(min, declaration.type))")
            }
            if let max = declaration.max, number > max {
                return Mismatch(message: "\(value) is above the maximum \(display(max, declaration.type))")
            }
        }
        if let choices = declaration.choices, !choices.contains(value) {
            return Mismatch(message: "\(value) is not one of \(choices.map(\.description).joined(separator: ", "))")
        }
        return nil
    }

    /// The bounds of an int or float param as a range (`1 to 1024`, `at least 0`), nil when unbounded.
    static func allowedRange(_ declaration: ParamDeclaration) -> String? {
        guard declaration.type == .int || declaration.type == .float else { return nil }
        let kind = declaration.type == .int ? "whole numbers " : ""
        switch (declaration.min, declaration.max) {
        case let (min?, max?): return "\(kind)from \(display(min, declaration.type)) to \(display(max, declaration.type))"
        case let (min?, nil): return "\(kind)from \(display(min, declaration.type))"
        case let (nil, max?): return "\(kind)up to \(display(max, declaration.type))"
        case (nil, nil): return nil
        }
    }

    /// Bounds print in the param's own type (`1`, not `1.0`, for an int param).
    static func display(_ bound: Double, _ type: ParamType) -> String {
        if type == .int, bound.rounded() == bound, abs(bound) < 1e18 { return String(Int64(bound)) }
        return bound.description
    }
}
