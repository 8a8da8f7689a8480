// libFuzzer target for loading a model folder's tokenizer (scripts/fuzz.sh tokenizer) and encoding with it.
//
// Input (FuzzInput): the text to encode, then the folder's files as `#== tokenizer.json`,
// `#== tokenizer_config.json`, `#== special_tokens_map.json`, `#== vocab.txt`, `#== vocab.json`,
// `#== merges.txt`, `#== added_tokens.json`. Loading may throw; once loaded, encoding any text and
// decoding the ids must not trap.
#if FUZZING
import FuzzSupport
import Tokenizer

nonisolated(unsafe) private let folder = FuzzDirectory("tokenizer")
private let names: Set<String> = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
                                  "vocab.json", "merges.txt", "added_tokens.json"]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    folder.reset()
    let input = FuzzInput(data, size)
    for file in input.files where names.contains(file.name) { folder.write(file.name, input.file(file.name) ?? []) }
    guard let tokenizer = try? PretrainedTokenizer.load(directory: folder.path) else { return 0 }
    let text = String(decoding: input.main, as: UTF8.self)
    for allowSpecial in [true, false] {
        let ids = tokenizer.encode(text, allowSpecial: allowSpecial)
        _ = tokenizer.decode(ids)
        _ = tokenizer.decode(ids, skipSpecial: true)
        for id in ids.prefix(64) { _ = tokenizer.tokenString(id) }
    }
    return 0
}
#else
@main struct FuzzTokenizerStub {
    static func main() { print("built without FUZZING: run scripts/fuzz.sh tokenizer") }
}
#endif
