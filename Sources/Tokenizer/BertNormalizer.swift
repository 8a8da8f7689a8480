import Foundation

/// BERT's text normalisation (the `BertNormalizer` of `tokenizers`, the basic tokenizer's first half):
/// clean text, space out CJK ideographs, strip accents (NFD, drop non-spacing marks), lower-case — in
/// that order, on Unicode scalars.
public struct BertNormalizer: Sendable, Equatable {
    /// Delete control/format characters, NUL and U+FFFD; turn every whitespace character into " ".
    public var cleanText: Bool
    /// Put spaces around CJK ideographs so each becomes its own word.
    public var handleChineseChars: Bool
    /// nil follows `lowercase` (BERT's rule: uncased models strip accents, cased ones keep them).
    public var stripAccents: Bool?
    public var lowercase: Bool
    /// NFC after cleaning and spacing CJK, before accents and case: what `transformers`' slow
    /// `BertTokenizerLegacy` does (the BertNormalizer of `tokenizers` does not), so "e" + U+0300 is "è".
    public var composesCanonically = false

    public init(cleanText: Bool = true, handleChineseChars: Bool = true, stripAccents: Bool? = nil, lowercase: Bool = true,
                composesCanonically: Bool = false) {
        self.composesCanonically = composesCanonically
        self.cleanText = cleanText
        self.handleChineseChars = handleChineseChars
        self.stripAccents = stripAccents
        self.lowercase = lowercase
    }

    var stripsAccents: Bool { stripAccents ?? lowercase }

    /// Appends the normalised form of `input` to `output`.
    func normalize(_ input: some Collection<UInt32>, into output: inout [UInt32]) {
        if composesCanonically {
            var cleaned: [UInt32] = []
            BertNormalizer(cleanText: cleanText, handleChineseChars: handleChineseChars, stripAccents: false, lowercase: false)
                .normalize(input, into: &cleaned)
            var text = String.UnicodeScalarView()
            for c in cleaned { if let s = Unicode.Scalar(c) { text.append(s) } }
            let composed = String(text).precomposedStringWithCanonicalMapping.unicodeScalars.map(\.value)
            BertNormalizer(cleanText: false, handleChineseChars: false, stripAccents: stripAccents, lowercase: lowercase)
                .normalize(composed, into: &output)
            return
        }
        let classes = BertCharacterClasses.shared
        let strip = stripsAccents
        // Canonical reordering (part of NFD) may only move a mark back to here: never across a starter.
        var runStart = output.count
        @inline(__always) func appendCased(_ c: UInt32, flags: UInt8) {
            if lowercase && flags & BertCharacterClasses.lowercases != 0, let lower = classes.lowercase[c] {
                output += lower
                runStart = output.count
            } else {
                output.append(c)
            }
        }
        for c in input {
            if c < 0x80 {
                // ASCII: controls except \t \n \r are deleted, those three become spaces; A-Z lower-case.
                if cleanText {
                    if c < 0x20 && c != 0x09 && c != 0x0A && c != 0x0D || c == 0x7F { continue }
                    if c == 0x09 || c == 0x0A || c == 0x0D { output.append(0x20); runStart = output.count; continue }
                }
                output.append(lowercase && c >= 0x41 && c <= 0x5A ? c + 0x20 : c)
                runStart = output.count
                continue
            }
            let flags = classes.flag(c)
            if cleanText {
                if flags & BertCharacterClasses.removed != 0 { continue }
                if flags & BertCharacterClasses.cleanSpace != 0 { output.append(0x20); runStart = output.count; continue }
            }
            if handleChineseChars && flags & BertCharacterClasses.chinese != 0 {
                output.append(0x20)
                if strip && flags & BertCharacterClasses.decomposes != 0, let parts = classes.decompositions[c] {
                    output += parts  // compatibility ideographs decompose to one unified ideograph
                } else {
                    output.append(c)
                }
                output.append(0x20)
                runStart = output.count
                continue
            }
            guard strip else { appendCased(c, flags: flags); runStart = output.count; continue }
            if flags & BertCharacterClasses.decomposes != 0, let parts = classes.decompositions[c] {
                for p in parts { appendStripped(p, classes: classes, output: &output, runStart: &runStart) }
            } else {
                appendStripped(c, classes: classes, output: &output, runStart: &runStart)
            }
        }
    }

    /// One NFD scalar under strip_accents: non-spacing marks vanish, other marks are ordered by their
    /// combining class (stable), then the scalar is lower-cased if asked.
    @inline(__always)
    private func appendStripped(_ c: UInt32, classes: BertCharacterClasses, output: inout [UInt32], runStart: inout Int) {
        let flags = classes.flag(c)
        if flags & BertCharacterClasses.nonspacing != 0 { return }
        let ccc = Self.combiningClass(c)
        if ccc == 0 {
            if lowercase && flags & BertCharacterClasses.lowercases != 0, let lower = classes.lowercase[c] {
                output += lower
            } else {
                output.append(c)
            }
            runStart = output.count
            return
        }
        // A mark: insert after the last earlier mark of the same run whose class is not greater.
        var i = output.count
        while i > runStart && Self.combiningClass(output[i - 1]) > ccc { i -= 1 }
        output.insert(c, at: i)
    }

    @inline(__always) static func combiningClass(_ c: UInt32) -> UInt8 {
        guard c >= 0x300, let scalar = Unicode.Scalar(c) else { return 0 }
        return scalar.properties.canonicalCombiningClass.rawValue
    }
}
