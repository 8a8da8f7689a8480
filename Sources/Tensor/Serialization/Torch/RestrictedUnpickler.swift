/// Reads the pickle of a PyTorch state dict (`data.pkl` in a `torch.save` archive) WITHOUT running it:
/// like `torch.load(weights_only=True)`, only the opcodes a state dict uses are understood, and the only
/// callables are an allow-list (OrderedDict, the tensor and parameter rebuilders, the storage classes),
/// interpreted here, never looked up or called. Anything else is refused by name before it does anything.
///
/// Memory is linear in the pickle's size: every opcode pushes at most one value, lengths are checked
/// against the bytes left before anything is allocated, and memo gets share values instead of copying.
struct RestrictedUnpickler {
    /// A tensor storage named by the archive (`data/<key>`), as a persistent id declares it.
    struct Storage: Equatable {
        let key: String
        let dtype: SafetensorsDType
        let className: String
        let elementCount: Int
    }

    /// A tensor view into a storage, as `torch._utils._rebuild_tensor_v2` describes it.
    struct Tensor {
        let storage: Storage
        let offset: Int
        let shape: [Int]
        let stride: [Int]
    }

    final class PickleDict {
        var items: [(key: Value, value: Value)] = []
    }

    final class PickleList {
        var items: [Value] = []
    }

    enum Value {
        case none, bool(Bool), int(Int), string(String)
        case tuple([Value], depth: Int), dictionary(PickleDict), list(PickleList)
        /// An allow-listed global (`module.name`), only ever interpreted by REDUCE or a persistent id.
        case global(String)
        case storage(Storage), tensor(Tensor)

        var kind: String {
            switch self {
            case .none: "None"
            case .bool: "a bool"
            case .int: "an int"
            case .string(let s): "the string '\(s.prefix(40))'"
            case .tuple(let t, _): "a \(t.count)-tuple"
            case .dictionary: "a dict"
            case .list: "a list"
            case .global(let g): g
            case .storage: "a storage"
            case .tensor: "a tensor"
            }
        }
    }

    /// Storage classes (the legacy typed names torch still pickles) and the element type each holds.
    static let storageClasses: [String: SafetensorsDType] = [
        "torch.FloatStorage": .f32, "torch.HalfStorage": .f16, "torch.BFloat16Storage": .bf16, "torch.DoubleStorage": .f64,
        "torch.LongStorage": .i64, "torch.IntStorage": .i32, "torch.ShortStorage": .i16, "torch.CharStorage": .i8,
        "torch.ByteStorage": .u8, "torch.BoolStorage": .bool,
    ]
    static let callables: Set<String> = [
        "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state",
    ]

    /// Names of opcodes that a state dict never uses, for the refusal message.
    static let refusedOpcodeNames: [UInt8: String] = [
        0x63: "GLOBAL", 0x69: "INST", 0x6F: "OBJ", 0x81: "NEWOBJ", 0x92: "NEWOBJ_EX", 0x50: "PERSID", 0x52: "REDUCE",
        0x30: "POP", 0x31: "POP_MARK", 0x32: "DUP", 0x46: "FLOAT", 0x47: "BINFLOAT", 0x49: "INT", 0x4C: "LONG",
        0x8B: "LONG4", 0x53: "STRING", 0x54: "BINSTRING", 0x55: "SHORT_BINSTRING", 0x56: "UNICODE", 0x42: "BINBYTES",
        0x43: "SHORT_BINBYTES", 0x8E: "BINBYTES8", 0x8D: "BINUNICODE8", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER",
        0x98: "READONLY_BUFFER", 0x90: "ADDITEMS", 0x8F: "EMPTY_SET", 0x91: "FROZENSET", 0x82: "EXT1", 0x83: "EXT2",
        0x84: "EXT4", 0x64: "DICT", 0x6C: "LIST", 0x67: "GET", 0x70: "PUT",
    ]

    let file: String
    /// What the messages call the pickle: `data.pkl`, or where a legacy file's pickle starts.
    let record: String
    private let bytes: [UInt8]
    /// The next byte to read: after a `load`, where the following pickle of a legacy file starts.
    private(set) var at: Int
    private var stack: [Value] = []
    private var marks: [Int] = []
    private var memo: [Int: Value] = [:]
    /// Every dict and list made, emptied when done: releasing nested containers one by one keeps a
    /// hostile million-deep nesting from recursing in deinit (tuples are bounded by `maxTupleDepth`).
    private var containers: [AnyObject] = []
    static let maxTupleDepth = 64

    init(_ bytes: [UInt8], from start: Int = 0, file: String, record: String = "data.pkl") {
        self.bytes = bytes
        self.file = file
        self.record = record
        at = start
    }

    private func fail(_ message: String) -> TorchCheckpointError {
        TorchCheckpointError(file: file, message: record + ": " + message)
    }

    /// Runs the next pickle, which must hold an int (a legacy file's protocol version).
    mutating func integer() throws(TorchCheckpointError) -> Int {
        defer { tearDown() }
        let start = at
        guard case .int(let value) = try load() else { throw fail("the pickle at byte \(start) does not hold an int") }
        return value
    }

    /// Runs the next pickle, which must hold a dict; returns the bool under `key`, if any (a legacy
    /// file's `sys_info` says `little_endian`).
    mutating func bool(under key: String) throws(TorchCheckpointError) -> Bool? {
        defer { tearDown() }
        let start = at
        guard case .dictionary(let dict) = try load() else { throw fail("the pickle at byte \(start) does not hold a dict") }
        for case (.string(key), .bool(let value)) in dict.items { return value }
        return nil
    }

    /// Runs the next pickle, which must hold a list of strings (a legacy file's storage keys).
    mutating func strings() throws(TorchCheckpointError) -> [String] {
        defer { tearDown() }
        let start = at
        guard case .list(let list) = try load() else { throw fail("the pickle at byte \(start) does not hold a list") }
        var out: [String] = []
        for item in list.items {
            guard case .string(let s) = item else { throw fail("the list at byte \(start) holds \(item.kind), not only strings") }
            out.append(s)
        }
        return out
    }

    /// Runs the pickle and returns the state dict it builds: (name, tensor) in pickle order.
    mutating func stateDict() throws(TorchCheckpointError) -> [(name: String, tensor: Tensor)] {
        defer { tearDown() }
        let top = try load()
        guard case .dictionary(let dict) = top else {
            throw fail("the pickle holds \(top.kind), not a state dict (a dict of tensor names to tensors); "
                + "save model.state_dict() rather than a whole model or a training checkpoint")
        }
        var out: [(name: String, tensor: Tensor)] = []
        for (key, value) in dict.items {
            guard case .string(let name) = key else { throw fail("the state dict has a key that is \(key.kind), not a tensor name") }
            guard case .tensor(let tensor) = value else {
                throw fail("state dict entry '\(name)' is \(value.kind), not a tensor (save model.state_dict(), not a training checkpoint)")
            }
            out.append((name, tensor))
        }
        return out
    }

    /// Runs the pickle to its STOP and returns the value it built.
    private mutating func load() throws(TorchCheckpointError) -> Value {
        while true {
            let start = at
            let opcode = try byte()
            switch opcode {
            case 0x80:  // PROTO
                let version = try byte()
                guard version >= 2, version <= 5 else { throw fail("pickle protocol \(version) is not one torch.save writes (2 to 5)") }
            case 0x95:  // FRAME (protocol 4): a length hint only
                _ = try take(8)
            case 0x2E:  // STOP
                guard marks.isEmpty, stack.count == 1 else { throw fail("pickle stops at byte \(start) with \(stack.count) values on its stack") }
                return stack[0]
            case 0x28: marks.append(stack.count)  // MARK
            case 0x7D: stack.append(.dictionary(container(PickleDict())))  // EMPTY_DICT
            case 0x5D: stack.append(.list(container(PickleList())))  // EMPTY_LIST
            case 0x29: stack.append(.tuple([], depth: 1))  // EMPTY_TUPLE
            case 0x4E: stack.append(.none)  // NONE
            case 0x88: stack.append(.bool(true))  // NEWTRUE
            case 0x89: stack.append(.bool(false))  // NEWFALSE
            case 0x4A: stack.append(.int(Int(Int32(bitPattern: UInt32(try little(4))))))  // BININT
            case 0x4B: stack.append(.int(Int(try little(1))))  // BININT1
            case 0x4D: stack.append(.int(Int(try little(2))))  // BININT2
            case 0x8A:  // LONG1: n-byte two's complement
                let n = Int(try byte())
                guard n <= 8 else { throw fail("integer of \(n) bytes at byte \(start) is larger than any size or offset") }
                let raw = try little(n)
                let value = n == 0 ? 0 : n == 8 ? Int(Int64(bitPattern: raw)) : Int(raw) - (raw >> (8 * n - 1) == 1 ? 1 << (8 * n) : 0)
                stack.append(.int(value))
            case 0x58: stack.append(.string(try string(length: Int(try little(4)), at: start)))  // BINUNICODE
            case 0x8C: stack.append(.string(try string(length: Int(try byte()), at: start)))  // SHORT_BINUNICODE
            case 0x74: stack.append(try tuple(try popMark(start), start))  // TUPLE
            case 0x85, 0x86, 0x87:  // TUPLE1, TUPLE2, TUPLE3
                let n = Int(opcode - 0x84)
                try need(n, start)
                let items = Array(stack.suffix(n))
                stack.removeLast(n)
                stack.append(try tuple(items, start))
            case 0x71: try put(Int(try little(1)), start)  // BINPUT
            case 0x72: try put(Int(try little(4)), start)  // LONG_BINPUT
            case 0x94: try put(memo.count, start)  // MEMOIZE
            case 0x68: try get(Int(try little(1)), start)  // BINGET
            case 0x6A: try get(Int(try little(4)), start)  // LONG_BINGET
            case 0x63:  // GLOBAL module\nname\n
                let module = try line(start), name = try line(start)
                try pushGlobal(module + "." + name)
            case 0x93:  // STACK_GLOBAL
                try need(2, start)
                guard case .string(let module) = stack[stack.count - 2], case .string(let name) = stack[stack.count - 1] else {
                    throw fail("STACK_GLOBAL at byte \(start) without a module and a name")
                }
                stack.removeLast(2)
                try pushGlobal(module + "." + name)
            case 0x51:  // BINPERSID: a storage of the archive
                try need(1, start)
                stack.append(.storage(try storage(stack.removeLast(), start)))
            case 0x52:  // REDUCE
                try need(2, start)
                let arguments = stack.removeLast(), callable = stack.removeLast()
                stack.append(try reduce(callable, arguments, start))
            case 0x62:  // BUILD: an OrderedDict's attributes (state_dict's `_metadata`), not needed
                try need(2, start)
                let state = stack.removeLast()
                switch (stack[stack.count - 1], state) {
                case (.dictionary, .dictionary), (.dictionary, .tuple), (.dictionary, .none): break
                default: throw fail("BUILD at byte \(start) sets the state of \(stack[stack.count - 1].kind); a state dict only sets a dict's")
                }
            case 0x73:  // SETITEM
                try need(3, start)
                let value = stack.removeLast(), key = stack.removeLast()
                try dictionary(below: stack.count, start).items.append((key, value))
            case 0x75:  // SETITEMS
                let items = try popMark(start)
                guard items.count % 2 == 0 else { throw fail("SETITEMS at byte \(start) has an odd number of items") }
                let target = try dictionary(below: stack.count, start)
                for i in stride(from: 0, to: items.count, by: 2) { target.items.append((items[i], items[i + 1])) }
            case 0x61:  // APPEND
                try need(2, start)
                let value = stack.removeLast()
                try list(start).items.append(value)
            case 0x65:  // APPENDS
                let items = try popMark(start)
                try list(start).items += items
            default:
                let name = Self.refusedOpcodeNames[opcode].map { " (\($0))" } ?? ""
                throw fail("pickle opcode 0x\(String(opcode, radix: 16))\(name) at byte \(start) is not one a state dict uses; "
                    + "refused without running anything")
            }
        }
    }

    // MARK: - Opcode arguments

    private mutating func byte() throws(TorchCheckpointError) -> UInt8 {
        guard at < bytes.count else { throw fail("pickle ends at byte \(bytes.count) before its STOP (cut short?)") }
        defer { at += 1 }
        return bytes[at]
    }

    private mutating func take(_ n: Int) throws(TorchCheckpointError) -> ArraySlice<UInt8> {
        guard n <= bytes.count - at else { throw fail("pickle ends at byte \(bytes.count) before its STOP (cut short?)") }
        defer { at += n }
        return bytes[at..<(at + n)]
    }

    private mutating func little(_ n: Int) throws(TorchCheckpointError) -> UInt64 {
        var value: UInt64 = 0
        for (i, b) in try take(n).enumerated() { value |= UInt64(b) << (8 * i) }
        return value
    }

    private mutating func string(length: Int, at start: Int) throws(TorchCheckpointError) -> String {
        guard length <= bytes.count - at else {
            throw fail("string of \(length) bytes at byte \(start) is longer than the rest of the pickle (\(bytes.count - at) bytes)")
        }
        guard let text = String(validating: try take(length), as: UTF8.self) else { throw fail("string at byte \(start) is not UTF-8") }
        return text
    }

    /// A GLOBAL argument: printable text up to a newline, at most 200 bytes.
    private mutating func line(_ start: Int) throws(TorchCheckpointError) -> String {
        var text: [UInt8] = []
        while true {
            let b = try byte()
            if b == 0x0A { break }
            guard b >= 0x20, b < 0x7F, text.count < 200 else { throw fail("GLOBAL at byte \(start) does not name a Python global") }
            text.append(b)
        }
        return String(decoding: text, as: UTF8.self)
    }

    // MARK: - Stack

    private func need(_ n: Int, _ start: Int) throws(TorchCheckpointError) {
        guard stack.count - (marks.last ?? 0) >= n else { throw fail("opcode at byte \(start) needs \(n) values on the pickle stack") }
    }

    private mutating func popMark(_ start: Int) throws(TorchCheckpointError) -> [Value] {
        guard let mark = marks.popLast() else { throw fail("opcode at byte \(start) needs a MARK") }
        defer { stack.removeLast(stack.count - mark) }
        return Array(stack[mark...])
    }

    private func dictionary(below count: Int, _ start: Int) throws(TorchCheckpointError) -> PickleDict {
        guard count > (marks.last ?? 0), case .dictionary(let d) = stack[count - 1] else {
            throw fail("SETITEM(S) at byte \(start) adds to \(count > 0 ? stack[count - 1].kind : "nothing"), not a dict")
        }
        return d
    }

    private func list(_ start: Int) throws(TorchCheckpointError) -> PickleList {
        guard stack.count > (marks.last ?? 0), case .list(let l) = stack[stack.count - 1] else {
            throw fail("APPEND(S) at byte \(start) adds to something that is not a list")
        }
        return l
    }

    private mutating func put(_ index: Int, _ start: Int) throws(TorchCheckpointError) {
        guard let top = stack.last, stack.count > (marks.last ?? 0) else { throw fail("memo PUT at byte \(start) with an empty stack") }
        memo[index] = top
    }

    private mutating func get(_ index: Int, _ start: Int) throws(TorchCheckpointError) {
        guard let value = memo[index] else { throw fail("memo GET at byte \(start) of entry \(index), which was never PUT") }
        stack.append(value)
    }

    private mutating func pushGlobal(_ name: String) throws(TorchCheckpointError) {
        guard Self.callables.contains(name) || Self.storageClasses[name] != nil else {
            throw fail("pickle refers to \(name), which a state dict never does; refused without running anything "
                + "(allowed: collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter, torch.*Storage)")
        }
        stack.append(.global(name))
    }

    // MARK: - The allow-listed callables

    /// `('storage', torch.FloatStorage, '<key>', '<location>', <element count>)`; legacy files add a sixth
    /// field, the view metadata, None for a whole storage.
    private func storage(_ id: Value, _ start: Int) throws(TorchCheckpointError) -> Storage {
        var wholeStorage = false
        if case .tuple(let fields, _) = id {
            if fields.count == 5 { wholeStorage = true } else if fields.count == 6, case .none = fields[5] { wholeStorage = true }
        }
        guard wholeStorage, case .tuple(let fields, _) = id, case .string("storage") = fields[0], case .global(let className) = fields[1],
              let dtype = Self.storageClasses[className], case .string(let key) = fields[2], case .string = fields[3],
              case .int(let count) = fields[4], count >= 0 else {
            throw fail("persistent id at byte \(start) is not ('storage', torch.<Type>Storage, key, location, size)")
        }
        return Storage(key: key, dtype: dtype, className: className, elementCount: count)
    }

    private mutating func container<C: AnyObject>(_ c: C) -> C {
        containers.append(c)
        return c
    }

    private func tuple(_ items: [Value], _ start: Int) throws(TorchCheckpointError) -> Value {
        var depth = 1
        for case .tuple(_, let d) in items { depth = max(depth, d + 1) }
        guard depth <= Self.maxTupleDepth else {
            throw fail("tuples nest \(depth) deep at byte \(start); a state dict nests 3 (limit \(Self.maxTupleDepth))")
        }
        return .tuple(items, depth: depth)
    }

    private mutating func tearDown() {
        for case let d as PickleDict in containers { d.items = [] }
        for case let l as PickleList in containers { l.items = [] }
        containers = []
        memo = [:]
        stack = []
    }

    private mutating func reduce(_ callable: Value, _ arguments: Value, _ start: Int) throws(TorchCheckpointError) -> Value {
        guard case .global(let name) = callable, Self.callables.contains(name), case .tuple(let args, _) = arguments else {
            throw fail("REDUCE at byte \(start) calls \(callable.kind) with \(arguments.kind); a state dict only calls "
                + "OrderedDict and torch's tensor rebuilders")
        }
        switch name {
        case "collections.OrderedDict":
            guard args.isEmpty else { throw fail("OrderedDict at byte \(start) is given \(args.count) arguments, not none") }
            return .dictionary(container(PickleDict()))
        case "torch._utils._rebuild_tensor_v2":
            guard args.count == 6 || args.count == 7, case .storage(let storage) = args[0], case .int(let offset) = args[1],
                  let shape = Self.integers(args[2]), let stride = Self.integers(args[3]), shape.count == stride.count, case .bool = args[4] else {
                throw fail("_rebuild_tensor_v2 at byte \(start) is not given (storage, offset, size, stride, requires_grad, hooks)")
            }
            return .tensor(Tensor(storage: storage, offset: offset, shape: shape, stride: stride))
        default:  // _rebuild_parameter(data, requires_grad, hooks[, state]): the data is the tensor
            guard args.count == 3 || (args.count == 4 && name.hasSuffix("_with_state")), case .tensor = args[0] else {
                throw fail("\(name) at byte \(start) is not given (tensor, requires_grad, hooks)")
            }
            return args[0]
        }
    }

    private static func integers(_ value: Value) -> [Int]? {
        guard case .tuple(let items, _) = value else { return nil }
        var out: [Int] = []
        for item in items {
            guard case .int(let n) = item else { return nil }
            out.append(n)
        }
        return out
    }
}
