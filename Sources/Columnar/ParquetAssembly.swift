import JSONQuoting

/// Turns one row group's decoded columns back into rows (Dremel record assembly): a row of a leaf is
/// its entries from one repetition level 0 to the next; a repeated node splits its entries where the
/// repetition level equals its own; a definition level below a node's own means the node is null (or
/// an empty list). Every count is checked: columns that disagree are a corrupt file, not a trap.
struct ParquetAssembler {
    let schema: ParquetSchema
    let columns: [ParquetColumnStream]
    /// Per leaf, the next present value to take (an index into its `data.values`).
    var cursors: [Int]
    /// Per leaf, the chunk-wide entry where the next row starts.
    var rowStarts: [Int]
    let rows: Int
    let rowGroup: Int
    /// Rows assembled so far: past `rows`, every column must be used up.
    var done = 0

    init(schema: ParquetSchema, columns: [ParquetColumnStream], rows: Int, rowGroup: Int) {
        self.schema = schema
        self.columns = columns
        self.rows = rows
        self.rowGroup = rowGroup
        cursors = Array(repeating: 0, count: columns.count)
        rowStarts = Array(repeating: 0, count: columns.count)
    }

    private func corrupt(_ node: ParquetNode) -> ColumnarError {
        ColumnarError("corrupt Parquet file: column \"\(node.dottedPath)\", row group \(rowGroup): its levels do not fit the schema")
    }

    /// The next row, decoding pages as the columns need them; nil after the row group's last row.
    mutating func next() throws -> JSONValue? {
        guard done < rows else {
            for (i, column) in columns.enumerated() where !(rowStarts[i] == column.total && column.finished) {
                throw ColumnarError("corrupt Parquet file: column \"\(schema.leaves[i].dottedPath)\", row group \(rowGroup): more values than the row group's \(rows) rows")
            }
            return nil
        }
        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(columns.count)
        for (i, column) in columns.enumerated() {
            let start = rowStarts[i]
            while start >= column.data.entries { try column.loadPage() }
            var end = start + 1
            if schema.leaves[i].repetitionLevel > 0 {
                // The row runs to the next entry at repetition level 0, perhaps pages on.
                while true {
                    let held = column.data.entries
                    let reps = column.data.repetition, base = column.data.base
                    while end < held, reps[end - base] != 0 { end += 1 }
                    if end < held || column.finished { break }
                    try column.loadPage()
                }
            }
            rowStarts[i] = end
            ranges.append((start - column.data.base)..<(end - column.data.base))
        }
        let row = try instance(schema.root, ranges[...])
        done += 1
        // Drop what this row used once it is a good part of what is held.
        for (i, column) in columns.enumerated() {
            let used = rowStarts[i] - column.data.base
            if used >= 4096, used * 2 >= column.data.entries - column.data.base {
                column.discard(before: rowStarts[i], values: cursors[i])
                cursors[i] = 0
            }
        }
        return row
    }

    /// The definition level at the start of an instance's first leaf (the deepest when the leaf is required all the way).
    private func firstDefinition(_ node: ParquetNode, _ ranges: ArraySlice<Range<Int>>) throws -> Int {
        let leaf = node.firstLeaf
        guard let range = ranges.first, !range.isEmpty else { throw corrupt(node) }
        let defs = columns[leaf].data.definition
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
            let data = columns[leaf].data
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
            let reps = columns[node.firstLeaf + k].data.repetition
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
