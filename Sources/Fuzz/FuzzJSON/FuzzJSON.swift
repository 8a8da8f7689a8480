// libFuzzer target for pipe's one JSON reader and quoter (scripts/fuzz.sh json).
//
// Input: any bytes, parsed as a JSON file (with and without non-finite numbers). Every string the
// parser returns must survive `jsonQuoted` and a re-parse unchanged.
#if FUZZING
import JSONQuoting

private func strings(_ value: JSONValue, into out: inout [String]) {
    switch value {
    case .string(let s): out.append(s)
    case .array(let items): for item in items { strings(item, into: &out) }
    case .object(let members): for m in members { out.append(m.key); strings(m.value, into: &out) }
    default: break
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    for nonFinite in [false, true] {
        guard let value = try? JSONParser.parseFile(bytes, allowingNonFinite: nonFinite) else {
            do { _ = try JSONParser.parse(bytes, allowingNonFinite: nonFinite) } catch {
                _ = JSONFileSyntaxError(error, in: bytes).description
            }
            continue
        }
        _ = value.typeName
        var found: [String] = []
        strings(value, into: &found)
        for s in found.prefix(16) {
            let quoted = jsonQuoted(s)
            guard case .string(let back)? = try? JSONParser.parse(Array(quoted.utf8)), back == s else {
                fatalError("jsonQuoted round trip changed \(s.debugDescription) into \(quoted)")
            }
        }
    }
    return 0
}
#else
@main struct FuzzJSONStub {
    static func main() { print("built without FUZZING: run scripts/fuzz.sh json") }
}
#endif
