import JSONQuoting

/// One node of a Parquet schema with its Dremel levels: `definitionLevel` counts the optional and
/// repeated nodes from the root down to and including this one, `repetitionLevel` the repeated ones.
final class ParquetNode {
    enum Repetition: Int32 { case required = 0, optional = 1, repeated = 2 }
    /// How a leaf's values become JSON.
    enum LeafKind { case boolean, int32, uint32, int64, uint64, float, double, string, null }

    let name: String
    let repetition: Repetition
    let element: ParquetSchemaElement
    var children: [ParquetNode] = []
    var definitionLevel = 0
    var repetitionLevel = 0
    /// Leaves under this node (itself for a leaf): `firstLeaf..<firstLeaf + leafCount`, in column order.
    var firstLeaf = 0
    var leafCount = 0
    var path: [String] = []
    var leafKind = LeafKind.null

    init(_ element: ParquetSchemaElement, repetition: Repetition) {
        self.name = element.name
        self.repetition = repetition
        self.element = element
    }

    var isLeaf: Bool { children.isEmpty && element.numChildren == nil }
    var isList: Bool { element.convertedType == 3 || element.logicalType == 3 }
    var dottedPath: String { path.joined(separator: ".") }

    /// A LIST's repeated child holds the element itself (the old two-level form) rather than one
    /// `element` child (the three-level form pyarrow writes): the backward-compatibility rules of the spec.
    func listElementIsRepeatedNode(listName: String) -> Bool {
        guard let repeated = children.first else { return true }
        return repeated.isLeaf || repeated.children.count > 1 || repeated.name == "array" || repeated.name == listName + "_tuple"
    }
}

/// The schema tree, built from the footer's depth-first element list, checked for what rows need.
struct ParquetSchema {
    let root: ParquetNode
    var leaves: [ParquetNode] = []
    static let maxDepth = 60

    init(_ elements: [ParquetSchemaElement]) throws {
        guard let first = elements.first, first.numChildren != nil else {
            throw ColumnarError("corrupt Parquet file: the schema has no root group")
        }
        var index = 1
        root = ParquetNode(first, repetition: .required)
        var leaves: [ParquetNode] = []
        func build(_ node: ParquetNode, depth: Int) throws {
            guard depth <= Self.maxDepth else { throw ColumnarError("corrupt Parquet file: the schema nests deeper than \(Self.maxDepth) levels") }
            node.firstLeaf = leaves.count
            let count = Int(node.element.numChildren ?? 0)
            guard count >= 0, count <= elements.count - index else {
                throw ColumnarError("corrupt Parquet file: the schema's element \(index - 1) has more children than the schema has elements")
            }
            if node.element.numChildren == nil {
                leaves.append(node)
            }
            for _ in 0..<count {
                // Children before this one may have used up the elements.
                guard index < elements.count else {
                    throw ColumnarError("corrupt Parquet file: the schema's groups have more children than the schema has elements")
                }
                let e = elements[index]
                index += 1
                guard let rep = ParquetNode.Repetition(rawValue: e.repetition ?? 0) else {
                    throw ColumnarError("corrupt Parquet file: column \"\(e.name)\" has repetition \(e.repetition ?? 0)")
                }
                let child = ParquetNode(e, repetition: rep)
                child.path = node.path + [e.name]
                child.definitionLevel = node.definitionLevel + (rep == .required ? 0 : 1)
                child.repetitionLevel = node.repetitionLevel + (rep == .repeated ? 1 : 0)
                node.children.append(child)
                try build(child, depth: depth + 1)
            }
            node.leafCount = leaves.count - node.firstLeaf
        }
        try build(root, depth: 0)
        guard index == elements.count else {
            throw ColumnarError("corrupt Parquet file: the schema lists \(elements.count) elements, its tree holds \(index)")
        }
        for node in leaves { node.leafKind = try Self.leafKind(node) }
        try Self.checkGroups(root)
        self.leaves = leaves
    }

    /// Groups: structs and lists are read; a map or a group with no leaves is refused by name.
    static func checkGroups(_ node: ParquetNode) throws {
        for child in node.children where !child.isLeaf {
            let what = child.dottedPath
            if child.element.convertedType == 1 || child.element.convertedType == 2 || child.element.logicalType == 2 {
                throw ColumnarError("column \"\(what)\" is a MAP, which is not read; store it as a list of structs or as JSON text")
            }
            if child.leafCount == 0 { throw ColumnarError("column \"\(what)\" is a group with no columns, which is not read") }
            if child.isList {
                guard child.children.count == 1, child.children[0].repetition == .repeated, child.repetition != .repeated else {
                    throw ColumnarError("corrupt Parquet file: LIST column \"\(what)\" does not hold one repeated group")
                }
            }
            try checkGroups(child)
        }
    }

    /// How a leaf's values become JSON; types JSON has no form for are refused by name.
    static func leafKind(_ node: ParquetNode) throws -> ParquetNode.LeafKind {
        let e = node.element
        let what = "column \"\(node.dottedPath)\""
        if e.logicalType == 11 { return .null }
        if let logical = e.logicalType, ![1, 4, 10, 12].contains(logical) {
            throw ColumnarError("\(what) has logical type \(ParquetNames.logical(logical)), which is not read; cast it to a string or a number before saving")
        }
        if let converted = e.convertedType, ![0, 4, 19].contains(converted), !(11...18).contains(converted) {
            throw ColumnarError("\(what) has converted type \(ParquetNames.converted(converted)), which is not read; cast it to a string or a number before saving")
        }
        let unsigned = (11...14).contains(e.convertedType ?? -1)
        switch e.type {
        case 0?: return .boolean
        case 1?: return unsigned ? .uint32 : .int32
        case 2?: return unsigned ? .uint64 : .int64
        case 4?: return .float
        case 5?: return .double
        case 6?:
            guard e.convertedType != nil || e.logicalType != nil else {
                throw ColumnarError("\(what) is binary (BYTE_ARRAY without a string annotation), which is not read; store text as strings")
            }
            return .string
        case let t?:
            throw ColumnarError("\(what) has physical type \(ParquetNames.physical(t)), which is not read; cast it to a string or a number before saving")
        case nil:
            throw ColumnarError("corrupt Parquet file: leaf column \"\(node.dottedPath)\" has no type")
        }
    }
}
