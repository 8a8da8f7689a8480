import Foundation
import Testing
@testable import Tokenizer

/// A small mixed-language corpus generated in the test (Chinese reviews, ASCII, emoji).
func sampleCorpus() -> [String] {
    let openings = ["这部电影很", "刚收到货，感觉", "说实话，真的很", "这次购物总的来说体验很", "The movie was ", "Delivery "]
    let middles = ["好看", "不错", "失望", "一般", "great", "slow", "满意！", "差劲。", "值得推荐", "good 👍", "bad 😡"]
    var texts: [String] = []
    for (i, o) in openings.enumerated() {
        for (j, m) in middles.enumerated() {
            let ending = (i + j) % 3 == 0 ? "，下次还会再来。" : " It's \(i * j) stars."
            texts.append(o + m + ending)
        }
    }
    return texts
}

@Suite("Byte-level BPE")
struct TokenizerTests {
    static let mixed = [
        "这部电影很好看，强烈推荐！", "Hello, world! It's 2026.", "emoji 👍🏽 and 家人们 🎉\n\ttabs  spaces",
        "混合 Chinese and English：价格￥99.9", "", " ", "é (e + combining ́)", "生僻字𠀀𪚥", "<|endoftext|>后面",
    ]

    static func trained(_ vocab: Int = 400) -> BPETokenizer { BPETrainer(vocabSize: vocab).train(sampleCorpus()) }

    @Test func byteLevelMapIsABijection() {
        #expect(Set(ByteLevel.characters).count == 256)
        #expect(ByteLevel.characters[0x20] == "Ġ")
        #expect(ByteLevel.characters[0x0A] == "Ċ")
        #expect(ByteLevel.characters[Int(UInt8(ascii: "a"))] == "a")
        let all = Array(0...255).map(UInt8.init)
        #expect(ByteLevel.decode(ByteLevel.encode(all)) == all)
    }

    @Test func preTokenizerMatchesGPT2Regex() {
        func split(_ s: String) -> [String] { PreTokenizer.split(s).map(String.init) }
        #expect(split("Hello world's  test\n") == ["Hello", " world", "'s", " ", " test", "\n"])
        #expect(split("I'll   go") == ["I", "'ll", "  ", " go"])
        #expect(split("这部电影很好看，推荐！") == ["这部电影很好看", "，", "推荐", "！"])
        #expect(split("价格99元 ok?!") == ["价格", "99", "元", " ok", "?!"])
        #expect(split("a\n\nb") == ["a", "\n", "\n", "b"])
        for text in Self.mixed { #expect(split(text).joined() == text) }
    }

    @Test func roundTripsMixedText() {
        let tok = Self.trained()
        for text in Self.mixed + sampleCorpus() {
            #expect(tok.decode(tok.encode(text)) == text)
        }
        // Merges were learnt: common Chinese words become single tokens, so text gets shorter than its bytes.
        let ids = tok.encode("这部电影很好看")
        #expect(ids.count < "这部电影很好看".utf8.count)
    }

    @Test func specialTokens() {
        let tok = Self.trained()
        #expect(tok.endOfTextId == 256)
        #expect(tok.padId == 257)
        let ids = tok.encode("好<|endoftext|>")
        #expect(ids.last == tok.endOfTextId)
        #expect(tok.decode(ids) == "好<|endoftext|>")
        #expect(tok.decode(ids, skipSpecial: true) == "好")
        #expect(!tok.encode("好<|endoftext|>", allowSpecial: false).contains(tok.endOfTextId))
        // Matched among scalars: a joiner or combining mark after the token does not hide it.
        #expect(tok.encode("<|endoftext|>\u{200D}👍").first == tok.endOfTextId)
        #expect(tok.encode("\u{600}<|endoftext|>\u{301}").contains(tok.endOfTextId))
        #expect(tok.decode(tok.encode("<|endoftext|>\u{200D}👍")) == "<|endoftext|>\u{200D}👍")
    }

    @Test func trainingIsDeterministicAndOrderIndependent() {
        let a = Self.trained()
        let b = Self.trained()
        let c = BPETrainer(vocabSize: 400).train(sampleCorpus().reversed())
        #expect(a == b)
        #expect(a == c)
        #expect(a.huggingFaceJSON() == c.huggingFaceJSON())
        #expect(a.vocabSize == 400)
    }

    @Test func mergesApplyInRankOrder() {
        // Bytes + a, b, c; "bc" ranks before "ab" in one tokenizer and after it in the other.
        let bytes: [[UInt8]] = (0..<256).map { [UInt8($0)] }
        let a = Int32(UInt8(ascii: "a")), b = Int32(UInt8(ascii: "b")), c = Int32(UInt8(ascii: "c"))
        let ab = BPETokenizer.Merge(left: a, right: b, result: 256)
        let bc = BPETokenizer.Merge(left: b, right: c, result: 257)
        let vocab = bytes + [Array("ab".utf8), Array("bc".utf8)]
        let abFirst = BPETokenizer(tokenBytes: vocab, merges: [ab, bc], specialTokens: [])
        let bcFirst = BPETokenizer(tokenBytes: vocab, merges: [bc, ab], specialTokens: [])
        #expect(abFirst.encode("abc") == [256, c])
        #expect(bcFirst.encode("abc") == [a, 257])
        // Equal ranks resolve leftmost first: "aaa" with a+a → [aa, a].
        let aa = BPETokenizer(tokenBytes: bytes + [Array("aa".utf8)], merges: [.init(left: a, right: a, result: 256)], specialTokens: [])
        #expect(aa.encode("aaa") == [256, a])
        #expect(aa.encode("aaaa") == [256, 256])
    }

    @Test func saveAndLoadAreEqual() throws {
        let tok = Self.trained()
        let dir = NSTemporaryDirectory() + "tok-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try tok.save(directory: dir)
        let loaded = try BPETokenizer(contentsOf: dir)
        #expect(loaded == tok)
        for text in Self.mixed { #expect(loaded.encode(text) == tok.encode(text)) }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/tokenizer.json"))) as? [String: Any]
        let model = json?["model"] as? [String: Any]
        #expect(model?["type"] as? String == "BPE")
        #expect((model?["vocab"] as? [String: Any])?.count == tok.vocabSize)
        #expect((model?["merges"] as? [[String]])?.count == tok.merges.count)
    }

    @Test func loadRejectsBadFilesClearly() {
        #expect(throws: TokenizerFileError.self) { try BPETokenizer(huggingFaceJSON: Data("[1]".utf8)) }
        let wordPiece = #"{"model":{"type":"WordPiece","vocab":{}},"normalizer":null,"pre_tokenizer":{"type":"ByteLevel"}}"#
        do {
            _ = try BPETokenizer(huggingFaceJSON: Data(wordPiece.utf8), file: "x/tokenizer.json")
            Issue.record("accepted a WordPiece model")
        } catch {
            #expect("\(error)".hasPrefix("x/tokenizer.json: model.type is WordPiece"))
        }
    }

    /// Cross-check with Hugging Face `tokenizers` when it is installed (set PIPE_HF_PYTHON to a Python
    /// that has it, e.g. a venv); skipped otherwise.
    @Test func matchesHuggingFaceTokenizers() throws {
        let python = ProcessInfo.processInfo.environment["PIPE_HF_PYTHON"] ?? "python3"
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/check-hf-tokenizer.py").path
        let tok = Self.trained()
        let dir = NSTemporaryDirectory() + "tok-hf-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try tok.save(directory: dir)
        let texts = Self.mixed + sampleCorpus()
        let input = texts.map { String(data: try! JSONSerialization.data(withJSONObject: $0, options: .fragmentsAllowed), encoding: .utf8)! }
            .joined(separator: "\n") + "\n"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, script, dir + "/tokenizer.json"]
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            print("skipped: \(python) has no `tokenizers` (status \(process.terminationStatus))")
            return
        }
        let lines = String(decoding: output, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == texts.count)
        for (text, line) in zip(texts, lines) {
            let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            let ids = (obj["ids"] as! [NSNumber]).map(\.int32Value)
            #expect(ids == tok.encode(text), "\(text)")
            #expect(obj["decoded"] as? String == text)
        }
    }
}
