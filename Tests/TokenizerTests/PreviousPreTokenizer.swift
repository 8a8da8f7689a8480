// The pre-tokenizer as it was (over String scalars): the reference the byte-level one must match.
/// GPT-2's pre-tokenisation: text is split into pieces before BPE, and merges never cross pieces.
///
/// The pattern is GPT-2's (and the Hugging Face `ByteLevel` pre-tokenizer's, `use_regex: true`):
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`, written out by hand
/// over Unicode scalar properties so no regex engine is needed and the split is identical to the one a
/// `transformers` user gets from the exported `tokenizer.json`.
///
/// Chinese: Han characters are letters (`\p{L}`), so a run of Chinese between punctuation marks is one
/// piece, and BPE learns multi-character words inside it (Chinese has no spaces to split words).
/// Full-width punctuation (，。！) is `[^\s\p{L}\p{N}]`, so sentences split at it. No CJK-specific rule
/// is added: any extra split would have to be reproduced by every loader of `tokenizer.json`.
enum PreviousPreTokenizer {
    enum Class { case letter, number, space, other }

    static func classify(_ s: Unicode.Scalar) -> Class {
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return s.properties.isWhitespace ? .space : .other
        }
    }

    /// The pieces of `text`, in order; their concatenation is `text`.
    static func split(_ text: String) -> [Substring] {
        let scalars = text.unicodeScalars
        var indices: [String.UnicodeScalarView.Index] = []
        var classes: [Class] = []
        indices.reserveCapacity(scalars.count + 1)
        for i in scalars.indices {
            indices.append(i)
            classes.append(classify(scalars[i]))
        }
        indices.append(scalars.endIndex)
        let n = classes.count
        var pieces: [Substring] = []
        var i = 0
        func isApostropheSuffix(_ i: Int) -> Int {
            guard scalars[indices[i]] == "'", i + 1 < n else { return 0 }
            let c1 = scalars[indices[i + 1]]
            if c1 == "s" || c1 == "t" || c1 == "m" || c1 == "d" { return 2 }
            guard i + 2 < n else { return 0 }
            let c2 = scalars[indices[i + 2]]
            if (c1 == "r" && c2 == "e") || (c1 == "v" && c2 == "e") || (c1 == "l" && c2 == "l") { return 3 }
            return 0
        }
        while i < n {
            var end = i
            let suffix = isApostropheSuffix(i)
            if suffix > 0 {
                end = i + suffix
            } else {
                // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional single space, then a run of one class.
                let hasSpace = scalars[indices[i]] == " " && i + 1 < n && classes[i + 1] != .space
                let start = hasSpace ? i + 1 : i
                let cls = classes[start]
                if cls != .space {
                    end = start + 1
                    while end < n && classes[end] == cls { end += 1 }
                } else {
                    // `\s+(?!\S)|\s+`: a whitespace run, leaving its last character to the next piece
                    // when a non-space follows (so " word" keeps its space).
                    var runEnd = i + 1
                    while runEnd < n && classes[runEnd] == .space { runEnd += 1 }
                    end = (runEnd < n && runEnd - i > 1) ? runEnd - 1 : runEnd
                }
            }
            pieces.append(Substring(text.unicodeScalars[indices[i]..<indices[end]]))
            i = end
        }
        return pieces
    }
}
