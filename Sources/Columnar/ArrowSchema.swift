/// An Arrow schema field with the types rows are read from; other types are refused by name.
final class ArrowField {
    enum Kind: Equatable {
        case null, bool, int(bytes: Int, signed: Bool), float32, float64, utf8, largeUtf8, list, largeList, fixedSizeList(Int), structure
    }
    let name: String
    let kind: Kind
    let children: [ArrowField]

    init(name: String, kind: Kind, children: [ArrowField]) {
        self.name = name
        self.kind = kind
        self.children = children
    }

    static let maxDepth = 60

    /// Reads a `Field` table (Schema.fbs), refusing what rows cannot hold.
    static func read(_ table: FlatTable, path: String, depth: Int) throws -> ArrowField {
        guard depth <= maxDepth else { throw ColumnarError("corrupt Arrow file: the schema nests deeper than \(maxDepth) levels") }
        let name = try table.string(0) ?? ""
        let column = path.isEmpty ? name : path + "." + name
        let what = "column \"\(column)\""
        if try table.table(4) != nil {
            throw ColumnarError("\(what) is dictionary-encoded, which is not read; decode it before saving (e.g. Dataset.cast or pyarrow's dictionary_decode)")
        }
        let typeType = try table.uint8(2)
        let type = try table.table(3)
        let children = try table.tables(5).map { try read($0, path: column, depth: depth + 1) }
        let names = [1: "Null", 2: "Int", 3: "FloatingPoint", 4: "Binary", 5: "Utf8", 6: "Bool", 7: "Decimal", 8: "Date", 9: "Time",
                     10: "Timestamp", 11: "Interval", 12: "List", 13: "Struct", 14: "Union", 15: "FixedSizeBinary", 16: "FixedSizeList",
                     17: "Map", 18: "Duration", 19: "LargeBinary", 20: "LargeUtf8", 21: "LargeList", 22: "RunEndEncoded",
                     23: "BinaryView", 24: "Utf8View", 25: "ListView", 26: "LargeListView"]
        let kind: Kind
        switch typeType {
        case 1: kind = .null
        case 2:
            guard let type else { throw ColumnarError("corrupt Arrow file: \(what) has no Int type") }
            let bits = try type.int32(0)
            guard [8, 16, 32, 64].contains(bits) else { throw ColumnarError("corrupt Arrow file: \(what) is an Int of \(bits) bits") }
            kind = .int(bytes: Int(bits) / 8, signed: try type.uint8(1) != 0)
        case 3:
            let precision = try type?.int16(0) ?? 0
            switch precision {
            case 1: kind = .float32
            case 2: kind = .float64
            default: throw ColumnarError("\(what) is a half-precision float, which is not read; cast it to float32 before saving")
            }
        case 5: kind = .utf8
        case 6: kind = .bool
        case 12: kind = .list
        case 13: kind = .structure
        case 16:
            let size = try type?.int32(0) ?? -1
            guard size >= 0 else { throw ColumnarError("corrupt Arrow file: \(what) has a negative list size") }
            kind = .fixedSizeList(Int(size))
        case 20: kind = .largeUtf8
        case 21: kind = .largeList
        case 4, 19, 23:
            throw ColumnarError("\(what) is binary, which is not read; store text as strings")
        default:
            let typeName = names[Int(typeType)] ?? "type \(typeType)"
            throw ColumnarError("\(what) has Arrow type \(typeName), which is not read; cast it to a string or a number before saving")
        }
        switch kind {
        case .list, .largeList, .fixedSizeList:
            guard children.count == 1 else { throw ColumnarError("corrupt Arrow file: list \(what) has \(children.count) child fields") }
        case .structure: break
        default:
            guard children.isEmpty else { throw ColumnarError("corrupt Arrow file: \(what) has child fields") }
        }
        return ArrowField(name: name, kind: kind, children: children)
    }
}
