import Foundation
import Store

/// Reads the files out of a WebDAV `207 Multi-Status` answer to PROPFIND (Depth: 1): each
/// `response` with an `href`, `getcontentlength` and `getlastmodified`; collections (the directory
/// itself, subdirectories) are left out. A tolerant scanner rather than an XML parser: the element
/// names carry whatever namespace prefix the server chose (`D:`, `d:`, `lp1:` or none).
enum WebDAVListing {
    /// Nil when the text has no `multistatus` element or a file lacks its size or date.
    static func files(in xml: String) -> [RemoteFile]? {
        let text = Substring(xml)
        guard !elements("multistatus", in: text).isEmpty else { return nil }
        var files: [RemoteFile] = []
        for response in elements("response", in: text) {
            guard let href = elements("href", in: response).first else { return nil }
            let isCollection = elements("resourcetype", in: response).first.map { !elements("collection", in: $0).isEmpty || $0.contains("collection") } ?? false
            if isCollection || href.hasSuffix("/") { continue }
            guard let lengthText = elements("getcontentlength", in: response).first, let size = Int64(lengthText.trimmingCharacters(in: .whitespaces)),
                  let dateText = elements("getlastmodified", in: response).first, let modified = parseDate(String(dateText)) else { return nil }
            let decoded = String(href).removingPercentEncoding ?? String(href)
            guard let name = decoded.split(separator: "/").last.map(String.init), !name.isEmpty else { continue }
            files.append(RemoteFile(name: name, size: size, modified: modified))
        }
        return files.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
    }

    /// The contents of every `<prefix:name …>…</prefix:name>` in `text` (empty for `<name/>`).
    static func elements(_ name: String, in text: Substring) -> [Substring] {
        var found: [Substring] = []
        var index = text.startIndex
        while let open = text[index...].firstIndex(of: "<") {
            guard let close = text[open...].firstIndex(of: ">") else { break }
            let tag = text[text.index(after: open)..<close]
            index = text.index(after: close)
            guard !tag.hasPrefix("/"), !tag.hasPrefix("?"), !tag.hasPrefix("!") else { continue }
            let qualified = tag.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "/" }).first ?? ""
            guard qualified.split(separator: ":").last == Substring(name) else { continue }
            if tag.hasSuffix("/") { found.append(text[index..<index]); continue }
            let closing = "</" + qualified + ">"
            guard let end = text[index...].range(of: closing) else { break }
            found.append(text[index..<end.lowerBound])
            index = end.upperBound
        }
        return found
    }

    /// An HTTP date (RFC 1123, `Sun, 06 Dec 2026 11:00:00 GMT`).
    static func parseDate(_ text: String) -> Date? {
        formatter.date(from: text.trimmingCharacters(in: .whitespaces))
    }

    private static let formatter: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter
    }()
}
