import Foundation
import Testing
@testable import Tensor
@testable import Models

/// `pytorch_model.bin` folders (torch.save zip archives) load without Python, exactly as the same model
/// saved as safetensors; hostile, damaged and unsupported files are refused with what is wrong.
/// Fixtures: scripts/make-torchbin-fixtures.py (a 2-layer, 24-wide GPT-2 of vocab 100).
@Suite("pytorch_model.bin checkpoints")
struct TorchCheckpointTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/torchbin").path

    /// Every layout loads to the safetensors load's parameters bit for bit: F32 with old causal-mask
    /// buffers (uint8) and wte/wpe/lm_head as views at offsets of one shared storage, F16, BF16, an
    /// untied model saved as nn.Parameters, two shards with GPT2Model names, ZIP64 records, and the layout of
    /// UER-py's conversion (uer/gpt2-chinese-cluecorpussmall): transposed Conv1D weights, float masks; and
    /// that layout in the legacy format torch.save wrote before PyTorch 1.6.
    @Test(arguments: [("bin-f32", "st-f32"), ("bin-f16", "st-f16"), ("bin-bf16", "st-bf16"), ("bin-untied", "st-untied"),
                      ("bin-sharded", "st-f32"), ("bin-zip64", "st-f16"), ("bin-uer", "st-f32"), ("bin-legacy", "st-f32")])
    func loadsLikeSafetensors(bin: String, safetensors: String) throws {
        let fromBin = try GPTModel.load(from: Self.fixtures + "/" + bin)
        let fromSafetensors = try GPTModel.load(from: Self.fixtures + "/" + safetensors)
        #expect(fromBin.config == fromSafetensors.config)
        #expect(fromBin.config.tieWordEmbeddings == (bin != "bin-untied"))
        #expect(fromBin.parameters.array.map(\.bitPattern) == fromSafetensors.parameters.array.map(\.bitPattern))
        #expect(fromBin.parameters.array.contains { $0 != 0 })
    }

    /// Tensor by tensor through the reader: every stored tensor equals the safetensors one (converted to
    /// F32 the same way); views of one storage point into the same bytes.
    @Test func readerMatchesSafetensorsTensorByTensor() throws {
        for (bin, st) in [("bin-f32", "st-f32"), ("bin-bf16", "st-bf16"), ("bin-untied", "st-untied"), ("bin-uer", "st-f32"),
                          ("bin-legacy", "st-f32")] {
            let torch = try TorchCheckpointReader(path: "\(Self.fixtures)/\(bin)/pytorch_model.bin")
            let reference = try SafetensorsReader(path: "\(Self.fixtures)/\(st)/model.safetensors")
            for t in reference.tensors {
                let info = try torch.info(t.name)
                #expect(info.shape == t.shape && info.dtype == t.dtype, "\(bin) \(t.name)")
                var values = [Float](repeating: .nan, count: t.elementCount)
                try values.withUnsafeMutableBufferPointer { try torch.readFloats(t.name, into: $0) }
                #expect(values.map(\.bitPattern) == (try reference.floats(t.name)).map(\.bitPattern), "\(bin) \(t.name)")
            }
        }
        let f32 = try TorchCheckpointReader(path: "\(Self.fixtures)/bin-f32/pytorch_model.bin")
        let wte = try f32.info("transformer.wte.weight"), wpe = try f32.info("transformer.wpe.weight")
        #expect(try f32.info("lm_head.weight").dataRange == wte.dataRange)
        #expect(wpe.dataRange.upperBound == wte.dataRange.lowerBound, "wte follows wpe in their shared storage")
        #expect(try f32.info("transformer.h.1.attn.bias").dtype == .u8)
        #expect(try f32.info("transformer.h.1.attn.masked_bias").shape == [])
        #expect { try f32.readFloats("transformer.h.1.attn.bias", into: UnsafeMutableBufferPointer(start: nil, count: 0)) } throws: {
            "\($0)" == "\(Self.fixtures)/bin-f32/pytorch_model.bin: tensor 'transformer.h.1.attn.bias' is U8, expected a floating-point dtype (F32, F16, BF16, F64)"
        }
    }

    /// A folder with both formats loads model.safetensors, as transformers does.
    @Test func safetensorsIsPreferred() throws {
        let dir = temporaryDirectory("torch-both")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for file in ["config.json", "model.safetensors"] {
            try FileManager.default.copyItem(atPath: "\(Self.fixtures)/st-f32/\(file)", toPath: "\(dir)/\(file)")
        }
        try FileManager.default.copyItem(atPath: "\(Self.fixtures)/bin-untied/pytorch_model.bin", toPath: "\(dir)/pytorch_model.bin")
        let both = try GPTModel.load(from: dir), reference = try GPTModel.load(from: "\(Self.fixtures)/st-f32")
        #expect(both.parameters.array == reference.parameters.array)
        try FileManager.default.removeItem(atPath: "\(dir)/model.safetensors")
        #expect(try GPTModel.load(from: dir).parameters.array != reference.parameters.array, "the .bin is another model")
    }

    /// Files pipe refuses, each with what it is and what to do.
    @Test func unsupportedFilesAreRefused() throws {
        let h = Self.fixtures + "/hostile"
        let convert = "python scripts/convert-to-safetensors.py \(h)  (in a Python with torch and safetensors)"
        let expected = [
            "os-system": "data.pkl: pickle refers to posix.system, which a state dict never does; refused without running anything "
                + "(allowed: collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter, torch.*Storage)",
            "torchscript": "a TorchScript archive (torch.jit.save), not a state dict saved by torch.save; save model.state_dict() "
                + "with torch.save, or convert: \(convert)",
            "deflated": "entry 'small/byteorder' is compressed (ZIP method 8); torch.save stores entries uncompressed, so this "
                + "archive was repacked: re-save it with torch.save, or convert it",
            "big-endian": "stores big-endian tensors (byteorder 'big'); pipe reads little-endian checkpoints only (re-save it on a little-endian machine)",
            "strided": "tensor 'w' is a strided view with gaps or overlaps (shape [3, 2], stride [4, 2]); pipe reads row-major "
                + "and permuted (e.g. transposed) tensors: save tensor.contiguous()",
            "whole-model": "data.pkl: state dict entry 'model' is a dict, not a tensor (save model.state_dict(), not a training checkpoint)",
        ]
        for (name, message) in expected.sorted(by: { $0.key < $1.key }) {
            #expect { try TorchCheckpointReader(path: "\(h)/\(name).bin") } throws: { "\($0)" == "\(h)/\(name).bin: \(message)" }
        }
        let small = try TorchCheckpointReader(path: "\(h)/small.bin")
        #expect(try small.floats("w") == [0, 1, 2, 3, 4, 5])
        #expect(try TorchCheckpointReader(path: "\(h)/legacy.bin").floats("w") == [0, 1, 2, 3, 4, 5], "the legacy format loads")
        let transposed = try TorchCheckpointReader(path: "\(h)/transposed.bin")  // arange(6).view(2, 3).t()
        #expect(try transposed.info("w").shape == [3, 2])
        #expect(try transposed.floats("w") == [0, 3, 1, 4, 2, 5])
        var part = [Float](repeating: 0, count: 3)
        try part.withUnsafeMutableBufferPointer { try transposed.readFloats("w", elements: 2..<5, into: $0) }
        #expect(part == [1, 4, 2])
        #expect { try small.info("v") } throws: { "\($0)" == "\(h)/small.bin: no tensor named 'v'" }
    }

    /// Through the model loader: the error names the file, whether single or a shard.
    @Test func loaderReportsTheFile() throws {
        let dir = temporaryDirectory("torch-refused")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.copyItem(atPath: "\(Self.fixtures)/st-f32/config.json", toPath: "\(dir)/config.json")
        try FileManager.default.copyItem(atPath: "\(Self.fixtures)/hostile/os-system.bin", toPath: "\(dir)/pytorch_model.bin")
        #expect { try GPTModel.load(from: dir) } throws: { "\($0)".hasPrefix("\(dir)/pytorch_model.bin: data.pkl: pickle refers to posix.system") }
        try FileManager.default.removeItem(atPath: "\(dir)/pytorch_model.bin")
        for file in ["pytorch_model-00001-of-00002.bin", "pytorch_model.bin.index.json"] {
            try FileManager.default.copyItem(atPath: "\(Self.fixtures)/bin-sharded/\(file)", toPath: "\(dir)/\(file)")
        }
        try FileManager.default.copyItem(atPath: "\(Self.fixtures)/hostile/torchscript.bin", toPath: "\(dir)/pytorch_model-00002-of-00002.bin")
        #expect { try GPTModel.load(from: dir) } throws: {
            "\($0)" == "\(dir)/pytorch_model-00002-of-00002.bin: a TorchScript archive (torch.jit.save), not a state dict saved by "
                + "torch.save; save model.state_dict() with torch.save, or convert: python scripts/convert-to-safetensors.py \(dir)  "
                + "(in a Python with torch and safetensors)"
        }
        try FileManager.default.copyItem(atPath: "\(Self.fixtures)/hostile/small.bin", toPath: "\(dir)/small.bin")
        try FileManager.default.removeItem(atPath: "\(dir)/pytorch_model-00002-of-00002.bin")
        try FileManager.default.moveItem(atPath: "\(dir)/small.bin", toPath: "\(dir)/pytorch_model-00002-of-00002.bin")
        #expect { try GPTModel.load(from: dir) } throws: {
            "\($0)" == "\(dir)/pytorch_model.bin.index.json: weight_map puts 'h.1.attn.c_attn.bias' in pytorch_model-00002-of-00002.bin, which has no such tensor"
        }
    }

    /// The legacy format's own damage: each is named, never a crash or a misread tensor.
    @Test func damagedLegacyFilesAreRefused() throws {
        let dir = temporaryDirectory("torch-legacy")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let good = try [UInt8](Data(contentsOf: URL(fileURLWithPath: "\(Self.fixtures)/hostile/legacy.bin")))
        func refusal(_ bytes: [UInt8]) -> String {
            let path = "\(dir)/p.bin"
            FileManager.default.createFile(atPath: path, contents: Data(bytes))
            do {
                _ = try TorchCheckpointReader(path: path)
                return "loaded"
            } catch {
                return "\(error)".replacingOccurrences(of: path + ": ", with: "")
            }
        }
        // The storage follows the last pickle as [count: 8 bytes][count × 4 bytes]: 6 floats, 32 bytes.
        let storageStart = good.count - 32
        #expect(Array(good[storageStart..<(storageStart + 8)]) == [6, 0, 0, 0, 0, 0, 0, 0])
        let key = String(decoding: good[...].split(separator: 0x58).last!.dropFirst(4).prefix { $0 != 0x71 }, as: UTF8.self)
        #expect(refusal(Array(good.dropLast(1))) == "storage '\(key)' of 6 elements runs past the end of the file (\(good.count - 1) bytes; cut short?)")
        #expect(refusal(Array(good.prefix(storageStart + 3))) == "ends at byte \(storageStart + 3) before storage '\(key)' (cut short?)")
        var count = good
        count[storageStart] = 7
        #expect(refusal(count) == "storage '\(key)' holds 7 elements, but the pickle declares 6")
        var version = good
        version[19] = 0x04  // BININT2 0x03E9 (1001) → 0x04E9
        #expect(refusal(version) == "a legacy torch.save file of protocol version 1257, not 1001; convert it: "
            + "python scripts/convert-to-safetensors.py \(dir)  (in a Python with torch and safetensors)")
        #expect(refusal(Array(good.prefix(40))) == "pickle: string of 16 bytes at byte 27 is longer than the rest of the pickle (8 bytes)")
        var tar = [UInt8](repeating: 0, count: 512)
        tar.replaceSubrange(257..<262, with: Array("ustar".utf8))
        #expect(refusal(tar) == "a tar-format torch.save file (PyTorch before 0.4), which pipe does not read; convert it: "
            + "python scripts/convert-to-safetensors.py \(dir)  (in a Python with torch and safetensors)")
        #expect(refusal(Array("hello".utf8)) == "not a PyTorch checkpoint (torch.save writes a zip archive, starting with 'PK', or before "
            + "PyTorch 1.6 a pickle of its magic number; this file is 5 bytes and starts otherwise)")
        for cut in stride(from: 0, to: good.count, by: 7) {
            #expect(refusal(Array(good.prefix(cut))) != "loaded", "cut at \(cut)")
        }
        // Flipped bytes: each file loads (a flip in the floats) or is named; none crashes.
        var state: UInt64 = 7
        for _ in 0..<400 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            var flipped = good
            flipped[Int(state >> 33) % good.count] ^= UInt8(truncatingIfNeeded: (state >> 13) | 1)
            _ = refusal(flipped)
        }
    }

    // MARK: - Hand-made hostile archives

    /// A pickle of `{name: tensor}` the way torch.save writes it (protocol 2), with every field settable.
    static func statePickle(name: String = "w", storageClass: String = "FloatStorage", key: String = "0", elements: Int = 6,
                            offset: Int = 0, shape: [Int] = [2, 3], stride: [Int] = [3, 1]) -> [UInt8] {
        var p = PickleBytes()
        p.op(0x80, 2)
        p.global("collections", "OrderedDict"); p.op(0x29); p.op(0x52)
        p.op(0x28)
        p.string(name)
        p.global("torch._utils", "_rebuild_tensor_v2")
        p.op(0x28)
        p.op(0x28); p.string("storage"); p.global("torch", storageClass); p.string(key); p.string("cpu"); p.int(elements); p.op(0x74)
        p.op(0x51)
        p.int(offset)
        p.op(0x28); shape.forEach { p.int($0) }; p.op(0x74)
        p.op(0x28); stride.forEach { p.int($0) }; p.op(0x74)
        p.op(0x89)
        p.global("collections", "OrderedDict"); p.op(0x29); p.op(0x52)
        p.op(0x74)
        p.op(0x52)
        p.op(0x75)
        p.op(0x2E)
        return p.bytes
    }

    /// Opens an archive `archive/data.pkl` = `pickle` (+ a 6-float storage '0') and returns the error text.
    static func refusal(_ pickle: [UInt8], entries: [(String, [UInt8])]? = nil, crc: UInt32? = nil) throws -> String {
        let dir = temporaryDirectory("torch-hostile")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let all = entries ?? [("archive/data.pkl", pickle), ("archive/byteorder", Array("little".utf8)),
                              ("archive/data/0", [UInt8](repeating: 0, count: 24)), ("archive/version", Array("3\n".utf8))]
        try Data(StoredZip.write(all, crcOverride: crc)).write(to: URL(fileURLWithPath: dir + "/x.bin"))
        do {
            _ = try TorchCheckpointReader(path: dir + "/x.bin")
            return "loaded"
        } catch {
            return String("\(error)".dropFirst((dir + "/x.bin: ").count))
        }
    }

    @Test func handMadeArchiveLoads() throws {
        #expect(try Self.refusal(Self.statePickle()) == "loaded")
        #expect(try Self.refusal(Self.statePickle(shape: [2, 1, 3], stride: [3, 99, 1])) == "loaded", "a size-1 dimension's stride does not matter")
        #expect(try Self.refusal(Self.statePickle(offset: 2, shape: [4], stride: [1])) == "loaded", "a view at an offset")
        #expect(try Self.refusal(Self.statePickle(shape: [3, 2], stride: [1, 3])) == "loaded", "a transposed view")
    }

    /// A permuted view is gathered row-major: a [2, 3, 4] tensor stored as its (2, 0, 1) permutation.
    @Test func permutedViewsAreGatheredRowMajor() {
        let shape = [2, 3, 4], stride = [3, 1, 6]  // storage holds x.permute(2, 0, 1) row-major: [4][2][3]
        var stored = [Float](repeating: 0, count: 24)
        for i in 0..<2 { for j in 0..<3 { for k in 0..<4 { stored[i * stride[0] + j * stride[1] + k * stride[2]] = Float(100 * i + 10 * j + k) } } }
        var out = [Float](repeating: -1, count: 24)
        stored.withUnsafeBufferPointer { s in out.withUnsafeMutableBufferPointer { o in
            TorchCheckpointReader.gather(s.baseAddress!, shape: shape, stride: stride, elements: 0..<24, into: o.baseAddress!)
        } }
        var rowMajor: [Float] = []
        for i in 0..<2 { for j in 0..<3 { for k in 0..<4 { rowMajor.append(Float(100 * i + 10 * j + k)) } } }
        #expect(out == rowMajor)
        var tail = [Float](repeating: -1, count: 5)
        stored.withUnsafeBufferPointer { s in tail.withUnsafeMutableBufferPointer { o in
            TorchCheckpointReader.gather(s.baseAddress!, shape: shape, stride: stride, elements: 19..<24, into: o.baseAddress!)
        } }
        #expect(tail == [113, 120, 121, 122, 123])
    }

    /// Every refusal of the tensor views and the pickle, by exact message.
    @Test func hostilePicklesAreRefusedByName() throws {
        func expect(_ pickle: [UInt8], _ message: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            #expect(try Self.refusal(pickle) == message, sourceLocation: sourceLocation)
        }
        // Tensor views.
        try expect(Self.statePickle(elements: 1 << 40), "tensor 'w' declares a storage of 1099511627776 elements of torch.FloatStorage "
            + "(1099511627776 × 4 bytes), but '0' holds 24 bytes")
        try expect(Self.statePickle(elements: Int.max / 2), "tensor 'w' declares a storage of \(Int.max / 2) elements of torch.FloatStorage "
            + "(\(Int.max / 2) × 4 bytes), but '0' holds 24 bytes")
        try expect(Self.statePickle(storageClass: "HalfStorage"), "tensor 'w' declares a storage of 6 elements of torch.HalfStorage (6 × 2 bytes), but '0' holds 24 bytes")
        try expect(Self.statePickle(offset: 4), "tensor 'w' (shape [2, 3], 6 elements at offset 4) runs past the end of its storage '0' of 6 elements")
        try expect(Self.statePickle(offset: Int.max), "tensor 'w' (shape [2, 3], 6 elements at offset \(Int.max)) runs past the end of its storage '0' of 6 elements")
        try expect(Self.statePickle(shape: [-1, 3]), "tensor 'w' has shape [-1, 3] at offset 0; sizes and offsets must not be negative")
        try expect(Self.statePickle(shape: [1 << 40, 1 << 40], stride: [1 << 40, 1]), "tensor 'w' has shape [1099511627776, 1099511627776], too large to address")
        try expect(Self.statePickle(shape: [2, 2], stride: [3, 1]), "tensor 'w' is a strided view with gaps or overlaps (shape [2, 2], stride [3, 1]); "
            + "pipe reads row-major and permuted (e.g. transposed) tensors: save tensor.contiguous()")
        try expect(Self.statePickle(shape: [2, 3], stride: [0, 1]), "tensor 'w' is a strided view with gaps or overlaps (shape [2, 3], stride [0, 1]); "
            + "pipe reads row-major and permuted (e.g. transposed) tensors: save tensor.contiguous()")
        try expect(Self.statePickle(key: "7"), "tensor 'w' refers to storage '7', which the archive does not hold (no entry 'archive/data/7')")
        try expect(Self.statePickle(storageClass: "ComplexFloatStorage"), "data.pkl: pickle refers to torch.ComplexFloatStorage, which a state dict never "
            + "does; refused without running anything (allowed: collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter, torch.*Storage)")

        // The pickle machine.
        var p = PickleBytes()
        p.op(0x80, 2); p.op(0x29); for _ in 0..<100 { p.op(0x85) }; p.op(0x2E)
        try expect(p.bytes, "data.pkl: tuples nest 65 deep at byte 66; a state dict nests 3 (limit 64)")
        try expect([0x80, 2, 0x58, 0xF0, 0xFF, 0xFF, 0xFF, 0x2E], "data.pkl: string of 4294967280 bytes at byte 2 is longer than the rest of the pickle (1 bytes)")
        try expect([0x80, 2, 0x68, 5, 0x2E], "data.pkl: memo GET at byte 2 of entry 5, which was never PUT")
        try expect([0x80, 2, 0x69], "data.pkl: pickle opcode 0x69 (INST) at byte 2 is not one a state dict uses; refused without running anything")
        try expect([0x80, 2, 0x7D], "data.pkl: pickle ends at byte 3 before its STOP (cut short?)")
        try expect([0x80, 9], "data.pkl: pickle protocol 9 is not one torch.save writes (2 to 5)")
        try expect([0x80, 2, 0x4E, 0x2E], "data.pkl: the pickle holds None, not a state dict (a dict of tensor names to tensors); "
            + "save model.state_dict() rather than a whole model or a training checkpoint")
        try expect([0x80, 2, 0x4E, 0x4E, 0x2E], "data.pkl: pickle stops at byte 4 with 2 values on its stack")
        try expect([0x80, 2, 0x8C, 8] + Array("builtins".utf8) + [0x8C, 4] + Array("eval".utf8) + [0x93],
                   "data.pkl: pickle refers to builtins.eval, which a state dict never does; refused without running anything "
                    + "(allowed: collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter, torch.*Storage)")
        p = PickleBytes(); p.op(0x80, 2); p.global("torch", "FloatStorage"); p.op(0x29); p.op(0x52)
        try expect(p.bytes, "data.pkl: REDUCE at byte 23 calls torch.FloatStorage with a 0-tuple; a state dict only calls OrderedDict and torch's tensor rebuilders")
        p = PickleBytes(); p.op(0x80, 2); p.global("collections", "OrderedDict"); p.op(0x4E); p.op(0x85); p.op(0x52)
        try expect(p.bytes, "data.pkl: OrderedDict at byte 29 is given 1 arguments, not none")
        p = PickleBytes(); p.op(0x80, 2); p.global("torch._utils", "_rebuild_tensor_v2"); p.op(0x29); p.op(0x52)
        try expect(p.bytes, "data.pkl: _rebuild_tensor_v2 at byte 36 is not given (storage, offset, size, stride, requires_grad, hooks)")
        p = PickleBytes(); p.op(0x80, 2); p.global("torch._utils", "_rebuild_parameter"); p.op(0x29); p.op(0x52)
        try expect(p.bytes, "data.pkl: torch._utils._rebuild_parameter at byte 36 is not given (tensor, requires_grad, hooks)")
        try expect([0x80, 2, 0x4E, 0x51], "data.pkl: persistent id at byte 3 is not ('storage', torch.<Type>Storage, key, location, size)")
        try expect([0x80, 2, 0x4E, 0x4E, 0x62], "data.pkl: BUILD at byte 4 sets the state of None; a state dict only sets a dict's")
        try expect([0x80, 2, 0x4E, 0x4E, 0x4E, 0x73], "data.pkl: SETITEM(S) at byte 5 adds to None, not a dict")
        try expect([0x80, 2, 0x7D, 0x28, 0x4E, 0x75], "data.pkl: SETITEMS at byte 5 has an odd number of items")
        try expect([0x80, 2, 0x4E, 0x4E, 0x61], "data.pkl: APPEND(S) at byte 4 adds to something that is not a list")
        try expect([0x80, 2, 0x74], "data.pkl: opcode at byte 2 needs a MARK")
        try expect([0x80, 2, 0x52], "data.pkl: opcode at byte 2 needs 2 values on the pickle stack")
        try expect([0x80, 2, 0x71, 0], "data.pkl: memo PUT at byte 2 with an empty stack")
        try expect([0x80, 2, 0x8A, 9], "data.pkl: integer of 9 bytes at byte 2 is larger than any size or offset")
        try expect([0x80, 2, 0x8C, 2, 0xFF, 0xFE], "data.pkl: string at byte 2 is not UTF-8")
        try expect([0x80, 2, 0x63, 0x6F, 0x73, 0x01], "data.pkl: GLOBAL at byte 2 does not name a Python global")
        p = PickleBytes(); p.op(0x80, 2); p.op(0x7D); p.op(0x28); p.int(1); p.op(0x4E); p.op(0x75); p.op(0x2E)
        try expect(p.bytes, "data.pkl: the state dict has a key that is an int, not a tensor name")
        var twice = Self.statePickle()
        twice.removeLast(2)  // SETITEMS STOP
        let once = Self.statePickle()
        let tensor = Array(once[once.firstIndex(of: 0x58)!..<(once.count - 2)])  // 'w' and its tensor again
        try expect(twice + tensor + [0x75, 0x2E], "data.pkl: tensor 'w' is stored twice")
        // LONG1 integers (as Python writes sizes beyond 2³¹), negative too: an offset of -1 is refused as negative.
        p = PickleBytes(); p.op(0x80, 2); p.op(0x7D); p.op(0x2E)
        #expect(try Self.refusal(p.bytes) == "loaded", "an empty state dict opens (the loader then names the missing tensors)")
    }

    /// A pickle bomb of lists nested 200,000 deep (200,000 EMPTY_LISTs, then APPENDs folding each into the one
    /// below) is refused and released without recursing once per level (which would overflow the stack).
    @Test func deeplyNestedListsAreReleasedWithoutRecursion() throws {
        var p = PickleBytes()
        p.op(0x80, 2)
        p.bytes += [UInt8](repeating: 0x5D, count: 200_000) + [UInt8](repeating: 0x61, count: 199_999) + [0x2E]
        #expect(try Self.refusal(p.bytes) == "data.pkl: the pickle holds a list, not a state dict (a dict of tensor names to tensors); "
            + "save model.state_dict() rather than a whole model or a training checkpoint")
    }

    /// Damage to the archive itself.
    @Test func damagedArchivesAreRefusedByName() throws {
        let pickle = Self.statePickle()
        #expect(try Self.refusal(pickle, crc: 1) == "data.pkl does not match its checksum (the file is damaged)")
        #expect(try Self.refusal([], entries: [("archive/version", [0x33])]) == "a zip archive without <archive>/data.pkl: not a checkpoint written by torch.save")
        #expect(try Self.refusal([], entries: [("a/data.pkl", pickle), ("b/data.pkl", pickle)])
            == "a zip archive with 2 data.pkl records: not a checkpoint written by torch.save")
        #expect(try Self.refusal([], entries: [("archive/data.pkl", pickle), ("archive/data.pkl", pickle)])
            == "damaged ZIP archive: entry 'archive/data.pkl' appears twice")
        #expect(try Self.refusal([], entries: [("archive/data.pkl", [UInt8](repeating: 0x4E, count: (64 << 20) + 1))])
            == "data.pkl of 67108865 bytes is larger than any state dict's (limit 67108864)")
        #expect(try Self.refusal([], entries: [("archive/data.pkl", pickle), ("archive/byteorder", Array("middle".utf8))])
            == "byteorder record says 'middle', not 'little' or 'big'")

        let dir = temporaryDirectory("torch-damaged")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/x.bin"
        let good = StoredZip.write([("archive/data.pkl", pickle), ("archive/data/0", [UInt8](repeating: 0, count: 24))])
        func expect(_ bytes: [UInt8], _ message: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            #expect(throws: (any Error).self, sourceLocation: sourceLocation) { try TorchCheckpointReader(path: path) }
            do { _ = try TorchCheckpointReader(path: path) } catch { #expect("\(error)" == "\(path): \(message)", sourceLocation: sourceLocation) }
        }
        try expect(Array(good.dropLast()), "damaged ZIP archive: no end-of-central-directory record (the file is cut short or not a ZIP archive)")
        try expect(Array("not really".utf8), "not a PyTorch checkpoint (torch.save writes a zip archive, starting with 'PK', or before PyTorch 1.6 a pickle of its magic number; this file is 10 bytes and starts otherwise)")
        try expect([], "not a PyTorch checkpoint (torch.save writes a zip archive, starting with 'PK', or before PyTorch 1.6 a pickle of its magic number; this file is 0 bytes and starts otherwise)")
        let end = good.count - 22
        var bad = good
        bad.replaceSubrange((end + 16)..<(end + 20), with: [0xF0, 0xFF, 0xFF, 0x7F])  // directory offset
        try expect(bad, "damaged ZIP archive: central directory (\(good.u32(end + 12)) bytes at byte 2147483632) lies past the end of the file")
        bad = good
        bad.replaceSubrange((end + 10)..<(end + 12), with: [0xFE, 0xFF])  // entry count
        try expect(bad, "damaged ZIP archive: 65534 entries cannot fit a central directory of \(good.u32(end + 12)) bytes")
        bad = good
        bad.replaceSubrange((end + 16)..<(end + 20), with: [0xFF, 0xFF, 0xFF, 0xFF])  // "see ZIP64", without the records
        try expect(bad, "damaged ZIP archive: ZIP64 end-of-central-directory locator missing")
        let directory = Int(good.u32(end + 16))
        bad = good
        bad[directory] = 0  // the first central directory header's signature
        try expect(bad, "damaged ZIP archive: central directory entry 0 at byte \(directory) is not a file header")
        bad = good
        bad.replaceSubrange((directory + 42)..<(directory + 46), with: [0x00, 0x00, 0x00, 0x70])  // data.pkl's header offset
        try expect(bad, "damaged ZIP archive: entry 'archive/data.pkl' (\(pickle.count) bytes at byte 1879048192) lies outside the archive's data")
        bad = good
        bad.replaceSubrange((directory + 24)..<(directory + 28), with: [0x00, 0x00, 0x00, 0x70])  // data.pkl's size
        try expect(bad, "damaged ZIP archive: stored entry 'archive/data.pkl' declares \(pickle.count) stored bytes but 1879048192 bytes of data")
        let storageHeader = 30 + "archive/data.pkl".utf8.count + pickle.count
        bad = good
        bad[storageHeader] = 0
        try expect(bad, "damaged ZIP archive: entry 'archive/data/0' has no local header at byte \(storageHeader)")
        bad = good
        bad.replaceSubrange((storageHeader + 26)..<(storageHeader + 28), with: [0xFF, 0xFF])  // its name length
        try expect(bad, "damaged ZIP archive: entry 'archive/data/0' (24 bytes at byte \(storageHeader + 30 + 0xFFFF)) runs past the archive's data")
    }
}

extension TorchCheckpointTests {
    /// ZIP64 records (the fixture repacked with them) and the rarer damage to entries, by exact message.
    @Test func zipRecordsAreCheckedByName() throws {
        let dir = temporaryDirectory("torch-zip64")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/x.bin"
        func expect(_ bytes: [UInt8], _ message: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            #expect(throws: (any Error).self, sourceLocation: sourceLocation) { try TorchCheckpointReader(path: path) }
            do { _ = try TorchCheckpointReader(path: path) } catch { #expect("\(error)" == "\(path): \(message)", sourceLocation: sourceLocation) }
        }
        func le64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }

        let zip64 = [UInt8](try #require(FileManager.default.contents(atPath: Self.fixtures + "/bin-zip64/pytorch_model.bin")))
        let locator = zip64.count - 22 - 20, record = Int(zip64.u64(locator + 8)), directory = Int(zip64.u64(record + 48))
        var bad = zip64
        bad.replaceSubrange((locator + 8)..<(locator + 16), with: le64(1 << 40))
        try expect(bad, "damaged ZIP archive: ZIP64 end-of-central-directory record offset 1099511627776 lies past the end of the file")
        bad = zip64
        bad.replaceSubrange((locator + 8)..<(locator + 16), with: le64(0))
        try expect(bad, "damaged ZIP archive: no ZIP64 end-of-central-directory record at byte 0")
        bad = zip64
        bad.replaceSubrange((record + 32)..<(record + 40), with: le64(.max))
        try expect(bad, "damaged ZIP archive: ZIP64 end-of-central-directory record declares sizes beyond any file")
        let extra = directory + 46 + Int(zip64.u16(directory + 28))  // data.pkl's extra field: ZIP64 (id 1), size and stored size
        bad = zip64
        bad[extra] = 2
        try expect(bad, "damaged ZIP archive: entry 'pytorch_model/data.pkl' needs a ZIP64 extra field and has none")
        bad = zip64
        bad[extra + 2] = 8
        try expect(bad, "damaged ZIP archive: entry 'pytorch_model/data.pkl' has a short ZIP64 extra field")

        let pickle = Self.statePickle()
        let good = StoredZip.write([("archive/data.pkl", pickle), ("archive/data/0", [UInt8](repeating: 0, count: 24))])
        let start = Int(good.u32(good.count - 22 + 16))
        bad = good
        bad[start + 46] = 0xFF  // the first name's first byte
        try expect(bad, "damaged ZIP archive: central directory entry 0 has a name that is not UTF-8")
        bad = good
        bad.replaceSubrange((start + 28)..<(start + 30), with: [0xFF, 0xFF])
        try expect(bad, "damaged ZIP archive: central directory entry 0 runs past the directory's end")
        bad = good
        bad[start + 8] |= 1
        try expect(bad, "entry 'archive/data.pkl' is encrypted")
        let second = start + 46 + "archive/data.pkl".utf8.count
        bad = good
        bad.replaceSubrange((second + 42)..<(second + 46), with: withUnsafeBytes(of: UInt32(start - 29).littleEndian, Array.init))
        try expect(bad, "damaged ZIP archive: entry 'archive/data/0' has its header past the data")

        // A central directory declared over 64 MB (a sparse file of 65 MB whose end record says so).
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: Data(good[0..<start]))
        let end = 65 << 20
        try handle.seek(toOffset: UInt64(end))
        try handle.write(contentsOf: Data([0x50, 0x4B, 0x05, 0x06, 0, 0, 0, 0, 2, 0, 2, 0]
            + withUnsafeBytes(of: UInt32(end).littleEndian, Array.init) + [0, 0, 0, 0, 0, 0]))
        try handle.close()
        #expect { try TorchCheckpointReader(path: path) } throws: {
            "\($0)" == "\(path): damaged ZIP archive: central directory of 68157440 bytes is larger than any checkpoint's (limit 67108864)"
        }

        #expect(try Self.refusal([], entries: [("archive/data.pkl", pickle), ("archive/byteorder", Array("little-endian-bytes".utf8))])
            == "byteorder record of 19 bytes is not 'little' or 'big'")
        #expect(try Self.refusal([0x80, 2, 0x4E, 0x4E, 0x93]) == "data.pkl: STACK_GLOBAL at byte 4 without a module and a name")
        #expect { try TorchCheckpointReader(path: dir + "/nowhere.bin") } throws: {
            "\($0)" == "\(dir)/nowhere.bin: cannot open: No such file or directory"
        }
        #expect { try TorchCheckpointReader(path: dir) } throws: { "\($0)" == "\(dir): not a regular file" }
        let small = try TorchCheckpointReader(path: Self.fixtures + "/hostile/small.bin")
        var buffer = [Float](repeating: 0, count: 4)
        #expect {
            try buffer.withUnsafeMutableBufferPointer { try small.readFloats("w", elements: 4..<8, into: $0) }
        } throws: { "\($0)" == "\(Self.fixtures)/hostile/small.bin: elements 4..<8 of tensor 'w' (6 elements) do not fit a buffer of 4" }
    }
}

/// Pickle opcodes as bytes.
struct PickleBytes {
    var bytes: [UInt8] = []
    mutating func op(_ codes: UInt8...) { bytes += codes }
    mutating func string(_ s: String) {
        bytes.append(0x58)
        bytes += withUnsafeBytes(of: UInt32(s.utf8.count).littleEndian, Array.init) + Array(s.utf8)
    }
    mutating func global(_ module: String, _ name: String) { bytes += [0x63] + Array("\(module)\n\(name)\n".utf8) }
    mutating func int(_ n: Int) {
        if n >= 0, n < 256 { bytes += [0x4B, UInt8(n)] } else if Int(Int32(truncatingIfNeeded: n)) == n {
            bytes += [0x4A] + withUnsafeBytes(of: Int32(n).littleEndian, Array.init)
        } else {
            bytes += [0x8A, 8] + withUnsafeBytes(of: Int64(n).littleEndian, Array.init)
        }
    }
}

/// A ZIP archive of STORED entries, as `torch.save` writes (without its alignment padding).
enum StoredZip {
    static func write(_ entries: [(String, [UInt8])], crcOverride: UInt32? = nil) -> [UInt8] {
        func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        var out: [UInt8] = [], directory: [UInt8] = []
        for (name, data) in entries {
            let crc = name.hasSuffix("data.pkl") ? crcOverride ?? CRC32.checksum(data) : CRC32.checksum(data)
            let offset = UInt32(out.count), n = Array(name.utf8)
            out += le32(0x0403_4B50) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(crc)
                + le32(UInt32(data.count)) + le32(UInt32(data.count)) + le16(n.count) + le16(0) + n + data
            directory += le32(0x0201_4B50) + le16(20) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(crc)
                + le32(UInt32(data.count)) + le32(UInt32(data.count)) + le16(n.count) + le16(0) + le16(0) + le16(0) + le16(0)
                + le32(0) + le32(offset) + n
        }
        let start = UInt32(out.count)
        out += directory
        out += le32(0x0605_4B50) + le16(0) + le16(0) + le16(entries.count) + le16(entries.count)
            + le32(UInt32(directory.count)) + le32(start) + le16(0)
        return out
    }
}
