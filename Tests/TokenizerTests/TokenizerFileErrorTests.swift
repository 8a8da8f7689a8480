import Foundation
import Testing
@testable import Tokenizer

/// Tokenizer files read through the one JSON parser: syntax errors placed by line and column,
/// wrong-typed fields named with the value found, integer-valued floats accepted as ids.
@Suite("Tokenizer file errors")
struct TokenizerFileErrorTests {
    /// A folder holding `files`; returns its path.
    static func folder(_ files: [String: String]) throws -> String {
        let dir = try WordPieceTests.temporaryDirectory()
        for (name, text) in files { try WordPieceTests.write(dir, name, text) }
        return dir
    }

    /// The message `PretrainedTokenizer.load` fails with, with the folder's path shown as `DIR`.
    static func failure(_ files: [String: String]) throws -> String {
        let dir = try folder(files)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do { _ = try PretrainedTokenizer.load(directory: dir); return "accepted" } catch {
            return "\(error)".replacingOccurrences(of: dir, with: "DIR")
        }
    }

    static let bpeText = TokenizerTests.trained(300).huggingFaceJSON()
    static let vocabTxt = "[UNK]\n[CLS]\n[SEP]\n[PAD]\n[MASK]\na\n"

    @Test func malformedFilesNameTheLineAndColumn() throws {
        // tokenizer.json, line 4 is `  "padding": null,`.
        #expect(try Self.failure(["tokenizer.json": Self.bpeText.replacingOccurrences(of: "\"padding\": null", with: "\"padding\": nul")])
                == "DIR/tokenizer.json: not valid JSON: line 4, column 14: invalid literal (expected null)")
        #expect(try Self.failure(["tokenizer.json": Self.bpeText.replacingOccurrences(of: "\"version\": \"1.0\",", with: "\"version\": \"1.0\",\n  \"version\": \"1.0\",")])
                == "DIR/tokenizer.json: not valid JSON: line 3, column 3: duplicate key \"version\"")
        #expect(try Self.failure(["tokenizer.json": String(Self.bpeText.dropLast(3))])
                == "DIR/tokenizer.json: not valid JSON: line \(Self.bpeText.split(separator: "\n").count - 1), column 4: unexpected end of text inside an object (missing '}')")
        #expect(try Self.failure(["vocab.txt": Self.vocabTxt, "tokenizer_config.json": "{\n  \"eos_token\": \"[SEP]\"\n  \"pad_token\": \"[PAD]\"\n}\n"])
                == "DIR/tokenizer_config.json: not valid JSON: line 3, column 3: expected ',' or '}' in an object, found '\"'")
        #expect(try Self.failure(["vocab.txt": Self.vocabTxt, "special_tokens_map.json": "{\"cls_token\": \"[CLS]\", \"sep_token\": '[SEP]'}"])
                == "DIR/special_tokens_map.json: not valid JSON: line 1, column 37: unexpected character ''' (expected a value)")
        #expect(try Self.failure(["vocab.json": "{\"a\": 0,\n \"b\": 1,,\n}", "merges.txt": ""])
                == "DIR/vocab.json: not valid JSON: line 2, column 9: expected a quoted key, found ','")
        #expect(try Self.failure(["vocab.txt": Self.vocabTxt, "added_tokens.json": "{\"x\": 6"])
                == "DIR/added_tokens.json: not valid JSON: line 1, column 8: unexpected end of text inside an object (missing '}')")
    }

    @Test func wrongTypedFieldsAreNamed() throws {
        let token5 = TokenizerTests.trained(300).tokenString(5)
        let entry5 = "\(JSONFields.quoted(token5)): 5,"
        #expect(Self.bpeText.contains(entry5))
        #expect(try Self.failure(["tokenizer.json": Self.bpeText.replacingOccurrences(of: entry5, with: "\(JSONFields.quoted(token5)): \"5\",")])
                == "DIR/tokenizer.json: model.vocab[\(JSONFields.quoted(token5))] must be an integer id, got \"5\"")
        // A boolean is not the id 1, even where Foundation's NSNumber would have said so.
        #expect(try Self.failure(["tokenizer.json": Self.bpeText.replacingOccurrences(of: entry5, with: "\(JSONFields.quoted(token5)): true,")])
                == "DIR/tokenizer.json: model.vocab[\(JSONFields.quoted(token5))] must be an integer id, got true")
        #expect(try Self.failure(["tokenizer.json": Self.bpeText.replacingOccurrences(of: entry5, with: "\(JSONFields.quoted(token5)): 5.5,")])
                == "DIR/tokenizer.json: model.vocab[\(JSONFields.quoted(token5))] must be an integer id, got 5.5")
        #expect(try Self.failure(["vocab.txt": Self.vocabTxt, "tokenizer_config.json": #"{"do_lower_case": "yes"}"#])
                == "DIR/tokenizer_config.json: do_lower_case must be true or false, got \"yes\"")
        #expect(try Self.failure(["vocab.txt": Self.vocabTxt, "tokenizer_config.json": #"{"do_lower_case": 1}"#])
                == "DIR/tokenizer_config.json: do_lower_case must be true or false, got 1")
        #expect(try Self.failure(["vocab.txt": Self.vocabTxt, "special_tokens_map.json": #"{"eos_token": 7}"#])
                == "DIR/special_tokens_map.json: eos_token must be a string, {\"content\": …} or null, got 7")
        #expect(try Self.failure(["tokenizer.json": #"{"model": {"type": 7}}"#])
                == "DIR/tokenizer.json: model.type is 7; supported: \"BPE\" and \"WordPiece\"")
    }

    /// Ids written as `5.0` (Python's `json` after a float conversion) are the integers they spell.
    @Test func integerValuedFloatIdsLoadTheSameTokenizer() throws {
        var lines = Self.bpeText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var changed = 0
        for i in lines.indices {
            // Vocabulary lines end in `: <id>` or `: <id>,`; added tokens carry `"id": <id>,`.
            if let range = lines[i].range(of: #": [0-9]+,?$"#, options: .regularExpression) {
                let digits = lines[i][range].filter(\.isNumber)
                lines[i].replaceSubrange(range, with: ": \(digits).0" + (lines[i].hasSuffix(",") ? "," : ""))
                changed += 1
            }
            if let range = lines[i].range(of: #""id": [0-9]+"#, options: .regularExpression) {
                lines[i].replaceSubrange(range, with: lines[i][range] + ".0")
                changed += 1
            }
        }
        #expect(changed > 300)
        let dir = try Self.folder(["tokenizer.json": lines.joined(separator: "\n")])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try BPETokenizer(contentsOf: dir).huggingFaceJSON() == Self.bpeText)
        let loaded = try PretrainedTokenizer.load(directory: dir)
        #expect(loaded.encode("hello world, integer ids") == TokenizerTests.trained(300).encode("hello world, integer ids"))
    }

    /// A leading byte-order mark is skipped; a U+FEFF inside a token is kept (Foundation's parser
    /// on Linux dropped it, which the old reader worked around).
    @Test func byteOrderMarks() throws {
        let bytes = (0..<256).map { [UInt8($0)] }
        let special = "<\u{FEFF}eot>"
        let tokenizer = BPETokenizer(tokenBytes: bytes + [Array(special.utf8)], merges: [], specialTokens: [(special, 256)])
        let dir = try Self.folder(["tokenizer.json": "\u{FEFF}" + tokenizer.huggingFaceJSON()])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let loaded = try BPETokenizer(contentsOf: dir)
        #expect(loaded.specialId(special) == 256)
        #expect(loaded.huggingFaceJSON() == tokenizer.huggingFaceJSON())
    }
}
