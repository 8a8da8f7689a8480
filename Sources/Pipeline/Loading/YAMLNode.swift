/// A composed YAML node with its position: the small tree the loaders walk.
///
/// Built by `YAMLComposer` straight from libyaml's events (Yams' vendored CYaml), which is about
/// twice as fast as `Yams.compose` for pipeline-sized files: no per-node classes, no tag resolver,
/// and duplicate keys are found with the position of the repeat rather than the first occurrence.
indirect enum YAMLNode: Sendable {
    case scalar(Scalar)
    case mapping(Mapping)
    case sequence(Sequence)

    struct Mark: Sendable, Hashable {
        /// 1-based, as libyaml counts (columns in Unicode scalars).
        var line: Int
        var column: Int
    }

    struct Scalar: Sendable {
        enum Style: Sendable { case plain, singleQuoted, doubleQuoted, literal, folded }

        var string: String
        /// `plain` only for untagged plain scalars (or `!!int`/`!!float`/`!!bool`-tagged ones);
        /// `!!str 12` counts as quoted, so it stays a string.
        var style: Style
        var mark: Mark
    }

    struct Mapping: Sendable, Swift.Sequence {
        var pairs: [(key: YAMLNode, value: YAMLNode)]
        var mark: Mark
        /// Written `{ a: 1, b: 2 }`: there a comma in unquoted text starts a new entry.
        var isFlow = false
        /// Nodes in this subtree with aliases expanded (bounds alias bombs, see `YAMLComposer.Limits`).
        var expandedSize = 1
        /// Bytes of scalar text in this subtree with aliases expanded.
        var expandedBytes = 0

        var count: Int { pairs.count }
        var isEmpty: Bool { pairs.isEmpty }
        func makeIterator() -> IndexingIterator<[(key: YAMLNode, value: YAMLNode)]> { pairs.makeIterator() }
    }

    struct Sequence: Sendable, Swift.Sequence {
        var items: [YAMLNode]
        var mark: Mark
        var expandedSize = 1
        var expandedBytes = 0

        var count: Int { items.count }
        var isEmpty: Bool { items.isEmpty }
        func makeIterator() -> IndexingIterator<[YAMLNode]> { items.makeIterator() }
    }

    var mark: Mark {
        switch self {
        case .scalar(let s): s.mark
        case .mapping(let m): m.mark
        case .sequence(let s): s.mark
        }
    }

    /// Nodes in this subtree once aliases are expanded.
    var expandedSize: Int {
        switch self {
        case .scalar: 1
        case .mapping(let m): m.expandedSize
        case .sequence(let s): s.expandedSize
        }
    }

    /// Bytes of scalar text in this subtree once aliases are expanded.
    var expandedBytes: Int {
        switch self {
        case .scalar(let s): s.string.utf8.count
        case .mapping(let m): m.expandedBytes
        case .sequence(let s): s.expandedBytes
        }
    }

    /// The text of a scalar node, nil otherwise.
    var string: String? {
        if case .scalar(let s) = self { return s.string }
        return nil
    }

    var mapping: Mapping? {
        if case .mapping(let m) = self { return m }
        return nil
    }
}
