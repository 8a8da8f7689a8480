// libFuzzer target for an HF GPT-2 model folder (scripts/fuzz.sh checkpoint): config.json, model.safetensors
// or model.safetensors.index.json with its shards, or pytorch_model.bin (torch.save's zip archive, its
// pickle read by the restricted unpickler) or its index with .bin shards, loaded by `GPTModel.load`.
//
// Input (FuzzInput): config.json, then `#== model.safetensors`, `#== model.safetensors.index.json`,
// `#== <shard>.safetensors`, `#== pytorch_model.bin`, `#== pytorch_model.bin.index.json` or `#== <shard>.bin`
// files. A bad folder must throw, never trap or allocate beyond the limit.
#if FUZZING
import FuzzSupport
import Models

nonisolated(unsafe) private let folder = FuzzDirectory("checkpoint")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCheckpoint(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    folder.reset()
    let input = FuzzInput(data, size)
    folder.write("config.json", input.main)
    for file in input.files where (file.name.hasSuffix(".safetensors") || file.name.hasSuffix(".bin")
        || file.name == "model.safetensors.index.json" || file.name == "pytorch_model.bin.index.json")
        && !file.name.contains("/") && file.name.utf8.count < 64 {
        folder.write(file.name, input.file(file.name) ?? [])
    }
    for heads in [false, true] {
        guard let model = try? GPTModel.load(from: folder.path, valueHead: heads, rewardHead: heads) else { break }
        _ = model.config
    }
    return 0
}
#else
@main struct FuzzCheckpointStub {
    static func main() { print("built without FUZZING: run scripts/fuzz.sh checkpoint") }
}
#endif
