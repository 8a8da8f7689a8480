/// Stage, input, output and param names: letters, digits, `_` and `-` (dots separate `stage.output`).
enum StageNames {
    /// Names used in `stage.output` references: no dots, no spaces.
    static func isValid(_ name: String) -> Bool {
        !name.isEmpty && name.unicodeScalars.allSatisfy {
            $0 == "_" || $0 == "-" || ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
        }
    }
}
