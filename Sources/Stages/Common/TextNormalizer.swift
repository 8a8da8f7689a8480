import Foundation

/// The text normalisation applied to every imported text (dataset stage) and every prompt (ppo, evaluate,
/// `pipe sample`), so prompts tokenise like the training text.
///
/// - Unicode NFC (canonical composition only). Not NFKC: compatibility mapping would turn full-width
///   Chinese punctuation (，！？) into ASCII, changing the text's style and breaking prompts such as
///   '刚收到货，感觉'.
/// - Control and invisible format characters (BOM, zero-width space, …) are removed.
/// - Every run of whitespace (including the ideographic space U+3000 and line breaks) becomes one
///   ASCII space; leading and trailing whitespace is trimmed.
public enum TextNormalizer {
    public static func normalize(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        var pendingSpace = false
        for scalar in text.precomposedStringWithCanonicalMapping.unicodeScalars {
            if scalar.properties.isWhitespace {
                pendingSpace = !out.isEmpty
                continue
            }
            switch scalar.properties.generalCategory {
            case .control, .format, .surrogate, .unassigned: continue
            default: break
            }
            if pendingSpace { out.append(" "); pendingSpace = false }
            out.append(scalar)
        }
        return String(out)
    }
}
