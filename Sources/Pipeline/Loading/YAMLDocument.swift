extension YAMLValue {
    /// Reads one YAML document with the pipeline loader's reader (libyaml, anchors and aliases,
    /// duplicate keys rejected) into values that keep their file:line:column; nil for an empty
    /// document. pipe's other YAML files (the executor config, lock files) are read with it, so
    /// there is one YAML reader.
    public static func parse(text: String, file: String) throws(PipelineError) -> YAMLValue? {
        let reader = YAMLReader(file: file, text: text)
        return try reader.compose().map { reader.value($0) }
    }

    /// Key → value of a mapping with scalar keys, in file order; nil for any other value.
    public var mappingEntries: [(key: String, value: YAMLValue)]? {
        guard case .mapping(let pairs) = content else { return nil }
        return pairs.compactMap { pair in pair.key.scalarText.map { (key: $0, value: pair.value) } }
    }

    /// The value under `key` in a mapping.
    public subscript(key: String) -> YAMLValue? {
        mappingEntries?.first { $0.key == key }?.value
    }
}

extension YAMLValue {
    /// The number a plain scalar holds by YAML 1.2 core rules (`3`, `2e-6`, `.5`, `.nan`); nil for
    /// anything else (quoted text, bools, null, lists, mappings).
    public var number: Double? {
        guard case .scalar(let text, plain: true) = content else { return nil }
        switch YAMLScalar.classify(text) {
        case .int(let value): return Double(value)
        case .float(let value): return value
        default: return nil
        }
    }

    /// What the value is, for messages: `string "abc"`, `bool true`, `null`, `a list`, `a mapping`.
    public var kindNoun: String { kindDescription }
}
