import JSONQuoting

/// Turns one row group's decoded columns back into rows (Dremel record assembly): a row of a leaf is
/// its entries from one repetition level 0 to the next; a repeated node splits its entries where the
/// repetition level equals its own; a definition level below a node's own means the node is null (or
/// an empty list). Every count is checked: columns that disagree are a corrupt file, not a trap.
struct ParquetAssembler {
    let schema: ParquetSchema
    var leaves: [ParquetLeafData]
    /// Per leaf, the next present value to take.
    var cursors: [Int]
    /// Per leaf, where each row starts (plus the end).
    let rowStarts: [[Int]]
    let rowGroup: Int

    init(schema: ParquetSchema, leaves: [ParquetLeafData], rows: Int, rowGroup: Int) throws {
        self.schema = schema
        self.leaves = leaves
        self.rowGroup = rowGroup
        cursors = Array(repeating: 0, count: leaves.count)
        var starts: [[Int]] = []
        for (i, data) in leaves.enumerated() {
            let node = schema.leaves[i]
            var s: [Int] = []
            if node.repetitionLevel == 0 {
                guard data.entries == rows else {
                    throw ColumnarError("corrupt Parquet file: column \"\(node.dottedPath)\", row group \(rowGroup): \(data.entries) values for \(rows) rows")
                }
            } else {
                s.reserveCapacity(rows + 1)
                for (j, r) in data.repetition.enumerated() where r == 0 { s.append(j) }
                guard s.count == rows else {
                    throw ColumnarError("corrupt Parquet file: column \"\(node.dottedPath)\", row group \(rowGroup): \(s.count) rows, the row group has \(rows)")
                }
                s.append(data.entries)
            }
            starts.append(s)
        }
        rowStarts = starts
    }

    private func corrupt(_ node: ParquetNode) -> ColumnarError {
        ColumnarError("corrupt Parquet file: column \"\(node.dottedPath)\", row group \(rowGroup): its levels do not fit the schema")
    }

    mutating func row(_ r: Int) throws -> JSONValue {
        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(leaves.count)
        for i in 0..<leaves.count {
            ranges.append(schema.leaves[i].repetitionLevel == 0 ? r..<r + 1 : rowStarts[i][r]..<rowStarts[i][r + 1])
        }
        return try instance(schema.root, ranges[...])
    }

    /// The definition level at the start of an instance's first leaf (the deepest when the leaf is required all the way).
    private func firstDefinition(_ node: ParquetNode, _ ranges: ArraySlice<Range<Int>>) throws -> Int {
        let leaf = node.firstLeaf
        guard let range = ranges.first, !range.isEmpty else { throw corrupt(node) }
        let defs = leaves[leaf].definition
        if schema.leaves[leaf].definitionLevel == 0 { return 0 }
        guard range.lowerBound < defs.count else { throw corrupt(node) }
        return Int(defs[range.lowerBound])
    }

    /// A node as an object member: null when absent, an array when repeated or a LIST.
    private mutating func field(_ node: ParquetNode, _ ranges: ArraySlice<Range<Int>>) throws -> JSONValue {
        if node.repetition == .repeated {
            return .array(try elements(node, ranges).map { try instance(node, $0[...]) })
        }
        if node.repetition == .optional, try firstDefinition(node, ranges) < node.definitionLevel {
            guard ranges.allSatisfy({ $0.count == 1 }) else { throw corrupt(node) }
            return .null
        }
        if node.isList {
            let repeated = node.children[0]
            let twoLevel = node.listElementIsRepeatedNode(listName: node.name)
            return .array(try elements(repeated, ranges).map { element in
                twoLevel ? try instance(repeated, element[...]) : try field(repeated.children[0], element[...])
            })
        }
        return try instance(node, ranges)
    }

    /// A present node: a leaf's value, or a group's members.
    private mutating func instance(_ node: ParquetNode, _ ranges: ArraySlice<Range<Int>>) throws -> JSONValue {
        if node.isLeaf {
            let leaf = node.firstLeaf
            guard let range = ranges.first, range.count == 1 else { throw corrupt(node) }
            let data = leaves[leaf]
            if node.definitionLevel > 0 {
                guard range.lowerBound < data.definition.count else { throw corrupt(node) }
                if Int(data.definition[range.lowerBound]) < node.definitionLevel { return .null }
            }
            if node.leafKind == .null { return .null }
            let c = cursors[leaf]
            guard c < data.values.count else { throw corrupt(node) }
            cursors[leaf] = c + 1
            return data.values[c]
        }
        var members: [JSONMember] = []
        members.reserveCapacity(node.children.count)
        let base = ranges.startIndex - node.firstLeaf
        for child in node.children {
            let slice = ranges[(base + child.firstLeaf)..<(base + child.firstLeaf + child.leafCount)]
            members.append(JSONMember(child.name, try field(child, slice)))
        }
        return .object(members)
    }

    /// The instances of a repeated node within one instance of its parent, as per-leaf ranges.
    private func elements(_ node: ParquetNode, _ ranges: ArraySlice<Range<Int>>) throws -> [[Range<Int>]] {
        if try firstDefinition(node, ranges) < node.definitionLevel {
            guard ranges.allSatisfy({ $0.count == 1 }) else { throw corrupt(node) }
            return []
        }
        var result: [[Range<Int>]] = []
        for (k, range) in ranges.enumerated() {
            let reps = leaves[node.firstLeaf + k].repetition
            guard range.upperBound <= reps.count, !range.isEmpty else { throw corrupt(node) }
            var start = range.lowerBound
            var e = 0
            func emit(_ r: Range<Int>) throws {
                if k == 0 { result.append([r]) } else {
                    guard e < result.count else { throw corrupt(node) }
                    result[e].append(r)
                }
                e += 1
            }
            for j in (range.lowerBound + 1)..<range.upperBound where Int(reps[j]) <= node.repetitionLevel {
                try emit(start..<j)
                start = j
            }
            try emit(start..<range.upperBound)
            guard e == result.count else { throw corrupt(node) }
        }
        return result
    }
}
