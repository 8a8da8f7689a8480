import CYaml

/// Composes one YAML document into `YAMLNode`s from libyaml's event stream.
struct YAMLComposer {
    enum Failure: Error {
        /// A libyaml scanner/parser error: the problem at `mark`, and what was being parsed.
        case syntax(problem: String, mark: YAMLNode.Mark, context: String?, contextMark: YAMLNode.Mark?)
        /// Undecodable input (bad UTF-8, …).
        case reader(problem: String, offset: Int, value: Int32)
        /// A key repeated in one mapping.
        case duplicateKey(String, repeat: YAMLNode.Mark, first: YAMLNode.Mark)
        /// `*name` without a matching `&name`, a second document, an unsupported tag, or aliases that
        /// expand beyond `Limits`.
        case structure(String, YAMLNode.Mark)
    }

    /// Bounds on alias expansion (as hardened YAML loaders have): a few hundred bytes of nested
    /// aliases ("billion laughs") would otherwise expand to gigabytes when the tree is walked.
    /// A node counts once per place it appears after expansion, and so does the text an alias
    /// repeats (a few aliases of one long string are as costly as many nodes); pipeline files are far
    /// below all three.
    enum Limits {
        static let expandedNodes = 100_000
        static let aliases = 10_000
        static let aliasedBytes = 1_000_000
        /// libyaml's own bound on nested lists and mappings (its default), which also keeps the
        /// recursive composer's stack small.
        static let nesting = 1000
    }

    /// nil for an empty document (only comments or blank).
    static func compose(_ text: String) throws(Failure) -> YAMLNode? {
        var bytes = Array(text.utf8)
        if bytes.isEmpty { return nil }
        return try bytes.withUnsafeMutableBufferPointer { (buffer) throws(Failure) -> YAMLNode? in
            var session = Session()
            defer { session.close() }
            yaml_parser_set_input_string(&session.parser, buffer.baseAddress, buffer.count)
            yaml_parser_set_encoding(&session.parser, YAML_UTF8_ENCODING)
            return try session.document()
        }
    }

    /// One parse: owns the libyaml parser and the anchors seen so far.
    private struct Session {
        var parser = yaml_parser_t()
        var anchors: [String: YAMLNode] = [:]
        /// Nodes of the document so far, counting each alias as the size of what it stands for.
        var expandedNodes = 0
        var aliasCount = 0
        /// Bytes of scalar text that aliases have repeated so far.
        var aliasedBytes = 0

        init() { yaml_parser_initialize(&parser) }

        mutating func close() { yaml_parser_delete(&parser) }

        /// Reads the next event; `body` sees it before it is freed.
        mutating func next<T>(_ body: (inout yaml_event_t) throws(Failure) -> T) throws(Failure) -> T {
            var event = yaml_event_t()
            guard yaml_parser_parse(&parser, &event) == 1 else { throw failure() }
            defer { yaml_event_delete(&event) }
            return try body(&event)
        }

        private func failure() -> Failure {
            let problem = parser.problem.map { String(cString: $0) } ?? "unknown problem"
            if parser.error == YAML_READER_ERROR { return .reader(problem: problem, offset: parser.problem_offset, value: parser.problem_value) }
            let context = parser.context.map { String(cString: $0) }
            return .syntax(problem: problem, mark: Self.mark(parser.problem_mark), context: context,
                           contextMark: context == nil ? nil : Self.mark(parser.context_mark))
        }

        static func mark(_ m: yaml_mark_t) -> YAMLNode.Mark { YAMLNode.Mark(line: m.line + 1, column: m.column + 1) }

        mutating func document() throws(Failure) -> YAMLNode? {
            _ = try next { _ throws(Failure) in () }  // STREAM_START
            let started = try next { (e) throws(Failure) -> Bool in e.type == YAML_DOCUMENT_START_EVENT }
            guard started else { return nil }  // STREAM_END: empty stream
            let root = try node()
            _ = try next { _ throws(Failure) in () }  // DOCUMENT_END
            try next { (e) throws(Failure) in
                if e.type == YAML_DOCUMENT_START_EVENT {
                    throw .structure("only one YAML document is allowed (remove the second '---')", Self.mark(e.start_mark))
                }
            }
            return root
        }

        /// The node starting at the next event.
        mutating func node() throws(Failure) -> YAMLNode {
            guard let node = try nodeOrEnd() else {
                throw .structure("unexpected end of a collection", YAMLNode.Mark(line: 1, column: 1))
            }
            return node
        }

        /// The node starting at the next event, or nil if that event closes the open collection.
        private mutating func nodeOrEnd() throws(Failure) -> YAMLNode? {
            enum Start { case scalar(YAMLNode, anchor: String?), sequence(YAMLNode.Mark, String?), mapping(YAMLNode.Mark, String?, flow: Bool), alias(String, YAMLNode.Mark), end }
            let start = try next { (e) throws(Failure) -> Start in
                let mark = Self.mark(e.start_mark)
                switch e.type {
                case YAML_SCALAR_EVENT:
                    let s = e.data.scalar
                    let text = String(decoding: UnsafeBufferPointer(start: s.value, count: s.length), as: UTF8.self)
                    let tag = s.tag.map { String(cString: $0) }
                    var style: YAMLNode.Scalar.Style
                    switch s.style {
                    case YAML_SINGLE_QUOTED_SCALAR_STYLE: style = .singleQuoted
                    case YAML_DOUBLE_QUOTED_SCALAR_STYLE: style = .doubleQuoted
                    case YAML_LITERAL_SCALAR_STYLE: style = .literal
                    case YAML_FOLDED_SCALAR_STYLE: style = .folded
                    default: style = .plain
                    }
                    if tag == "tag:yaml.org,2002:str" || tag == "!" { style = .singleQuoted }
                    if let tag, !Self.scalarTags.contains(tag) { throw Self.unsupported(tag: tag, mark) }
                    // A command, path or name is cut at a NUL when it reaches the OS: refuse it, or
                    // `run: "a\0; b"` would run `a` alone and say nothing.
                    if text.utf8.contains(0) {
                        throw .structure("text contains a NUL character ('\\0'); remove it (commands, paths and names cannot hold one)", mark)
                    }
                    return .scalar(.scalar(.init(string: text, style: style, mark: mark)), anchor: s.anchor.map { String(cString: $0) })
                case YAML_SEQUENCE_START_EVENT:
                    let start = e.data.sequence_start
                    if let tag = start.tag.map({ String(cString: $0) }), tag != "tag:yaml.org,2002:seq" { throw Self.unsupported(tag: tag, mark) }
                    return .sequence(mark, start.anchor.map { String(cString: $0) })
                case YAML_MAPPING_START_EVENT:
                    let start = e.data.mapping_start
                    if let tag = start.tag.map({ String(cString: $0) }), tag != "tag:yaml.org,2002:map" { throw Self.unsupported(tag: tag, mark) }
                    return .mapping(mark, start.anchor.map { String(cString: $0) }, flow: start.style == YAML_FLOW_MAPPING_STYLE)
                case YAML_ALIAS_EVENT: return .alias(String(cString: e.data.alias.anchor), mark)
                default: return .end
                }
            }
            switch start {
            case let .scalar(node, anchor):
                expandedNodes += 1
                if let anchor { anchors[anchor] = node }
                return node
            case let .alias(name, mark):
                guard let node = anchors[name] else { throw .structure("unknown alias '*\(name)' (define it first with '&\(name)')", mark) }
                aliasCount += 1
                expandedNodes += node.expandedSize
                aliasedBytes += node.expandedBytes
                if aliasCount > Limits.aliases {
                    throw .structure("more than \(Limits.aliases) aliases ('*\(name)' is one too many); write the values out instead", mark)
                }
                if expandedNodes > Limits.expandedNodes {
                    throw .structure("alias '*\(name)' expands the document beyond \(Limits.expandedNodes) nodes (nested aliases multiply); write the values out or nest fewer aliases", mark)
                }
                if aliasedBytes > Limits.aliasedBytes {
                    throw .structure("alias '*\(name)' makes aliases repeat more than \(Limits.aliasedBytes) bytes of text (it stands for \(node.expandedBytes)); alias shorter values or fewer times", mark)
                }
                return node
            case let .sequence(mark, anchor):
                expandedNodes += 1
                var items: [YAMLNode] = []
                var size = 1, bytes = 0
                while let item = try nodeOrEnd() {
                    items.append(item)
                    size += item.expandedSize
                    bytes += item.expandedBytes
                }
                let node = YAMLNode.sequence(.init(items: items, mark: mark, expandedSize: size, expandedBytes: bytes))
                if let anchor { anchors[anchor] = node }
                return node
            case let .mapping(mark, anchor, flow):
                expandedNodes += 1
                var pairs: [(key: YAMLNode, value: YAMLNode)] = []
                var firstMarks: [String: YAMLNode.Mark] = [:]
                while let key = try nodeOrEnd() {
                    let value = try node()
                    if case .scalar(let k) = key, k.string != "<<" {
                        if let first = firstMarks[k.string] { throw .duplicateKey(k.string, repeat: k.mark, first: first) }
                        firstMarks[k.string] = k.mark
                    }
                    pairs.append((key, value))
                }
                if pairs.contains(where: { Self.isMergeKey($0.key) }) { pairs = try Self.merged(pairs) }
                let size = pairs.reduce(1) { $0 + $1.key.expandedSize + $1.value.expandedSize }
                let bytes = pairs.reduce(0) { $0 + $1.key.expandedBytes + $1.value.expandedBytes }
                let node = YAMLNode.mapping(.init(pairs: pairs, mark: mark, isFlow: flow, expandedSize: size, expandedBytes: bytes))
                if let anchor { anchors[anchor] = node }
                return node
            case .end:
                return nil
            }
        }

        /// Tags a scalar may carry: they only confirm what the text already says.
        static let scalarTags: Set<String> = ["!", "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
                                              "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"]

        static func unsupported(tag: String, _ mark: YAMLNode.Mark) -> Failure {
            let prefix = "tag:yaml.org,2002:"
            let shown = tag.hasPrefix(prefix) ? "!!" + tag.dropFirst(prefix.count) : tag
            return .structure("unsupported tag '\(shown)' (pipelines hold plain text, numbers, booleans, lists and mappings; remove the tag)", mark)
        }

        static func isMergeKey(_ node: YAMLNode) -> Bool {
            if case .scalar(let s) = node { s.string == "<<" && s.style == .plain } else { false }
        }

        /// Applies YAML merge keys (`<<: *defaults`, `<<: [*a, *b]`) while composing: merged entries
        /// come first, the first source wins among sources, and keys written in the mapping itself win.
        /// Sources were merged when they were composed, so a chain of merges costs its length, not
        /// the product of its fan-outs.
        static func merged(_ pairs: [(key: YAMLNode, value: YAMLNode)]) throws(Failure) -> [(key: YAMLNode, value: YAMLNode)] {
            var own: [(key: YAMLNode, value: YAMLNode)] = []
            var merged: [(key: YAMLNode, value: YAMLNode)] = []
            var mergedKeys = Set<String>()
            for pair in pairs {
                guard isMergeKey(pair.key) else { own.append(pair); continue }
                let sources: [YAMLNode]
                switch pair.value {
                case .sequence(let items): sources = items.items
                default: sources = [pair.value]
                }
                for source in sources {
                    guard case .mapping(let mapping) = source else {
                        throw .structure("'<<' merges mappings only (write '<<: *name' or '<<: [*a, *b]' with mapping anchors)", source.mark)
                    }
                    for entry in mapping.pairs {
                        let name = entry.key.string ?? ""
                        if mergedKeys.insert(name).inserted { merged.append(entry) }
                    }
                }
            }
            let ownKeys = Set(own.compactMap { $0.key.string })
            return merged.filter { !ownKeys.contains($0.key.string ?? "") } + own
        }
    }
}
