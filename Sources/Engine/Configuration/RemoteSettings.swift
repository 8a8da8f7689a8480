import Foundation
import Pipeline

/// The `remotes:` block of `pipe.config.yaml`: named shared caches.
///
///     remotes:
///       team:
///         url: http://cache.lan:8080/pipe   # nginx WebDAV location (or https://)
///         auth_env: PIPE_CACHE_TOKEN         # environment variable holding the token (never the token)
///         auth: bearer                       # or basic (the variable holds user:password)
///         ca_file: certs/team-ca.pem         # https: also trust this CA (PEM; relative to this file)
///         upload: move                       # PUT to tmp/ then MOVE (WebDAV); put: PUT in place
///         retries: 3                         # extra attempts on 5xx, timeouts, connection errors
///         timeout: 30                        # seconds without progress before an attempt fails
///         default: true                      # used by push/pull/status when --remote is not given
///       nas:
///         path: /mnt/nas/pipe-cache          # a mounted directory
public struct RemoteSettings: Sendable, Equatable {
    public enum Location: Sendable, Equatable {
        case url(String)
        case path(String)
    }
    public enum Auth: String, Sendable, CaseIterable { case bearer, basic }

    public struct Entry: Sendable, Equatable {
        public var name: String
        public var location: Location
        public var authEnv: String?
        public var auth: Auth = .bearer
        /// "move" or "put" (see `HTTPBlobs.UploadMode`).
        public var upload: String = "move"
        public var retries: Int = 3
        public var timeout: Double = 30
        /// https only: a PEM file of CAs trusted besides the system's (absolute path).
        public var caFile: String?
        public var isDefault = false

        public init(name: String, location: Location) { self.name = name; self.location = location }
    }

    /// In file order.
    public var entries: [Entry] = []

    public init(entries: [Entry] = []) { self.entries = entries }

    public var defaultEntry: Entry? { entries.first { $0.isDefault } }

    public func entry(named name: String) -> Entry? { entries.first { $0.name == name } }

    static let fields = ["url", "path", "auth_env", "auth", "upload", "retries", "timeout", "ca_file", "default"]
    /// Fields people write when they mean auth_env: refused with a pointer to it.
    static let secretFields = ["token", "password", "secret", "bearer", "credentials", "user", "username"]

    static func parse(_ node: YAMLValue, reader: SettingsReader) throws -> RemoteSettings {
        var settings = RemoteSettings()
        var defaultNode: YAMLValue?
        for (name, item) in try reader.mapping(node, "remotes", allowed: nil) {
            guard Self.isValidName(name) else {
                throw reader.error(item, "remotes: '\(name)' is not a valid remote name (use letters, digits, - and _, starting with a letter)")
            }
            let path = "remotes.\(name)"
            guard case .mapping(let pairs) = item.content else {
                throw reader.error(item, "\(path) must be a mapping, e.g. { url: http://host:8080/pipe } or { path: /mnt/cache }")
            }
            for (keyNode, _) in pairs where Self.secretFields.contains(keyNode.scalarText ?? "") {
                throw reader.error(keyNode, "\(path).\(keyNode.scalarText ?? ""): secrets never go in pipe.config.yaml; put the credential in an environment variable and name it with auth_env: VARIABLE")
            }
            var url: String?, directory: String?
            var entry = Entry(name: name, location: .path(""))
            for (key, value) in try reader.mapping(item, path, allowed: fields) {
                let field = "\(path).\(key)"
                switch key {
                case "url":
                    let text = try reader.string(value, field)
                    let lower = text.lowercased()
                    guard (lower.hasPrefix("http://") || lower.hasPrefix("https://")), URL(string: text)?.host?.isEmpty == false else {
                        throw reader.error(value, "\(field): '\(text)' is not an http:// or https:// URL (for a mounted directory write path: instead)")
                    }
                    url = text
                case "path":
                    let text = try reader.string(value, field)
                    guard !text.isEmpty else { throw reader.error(value, "\(field) must not be empty") }
                    directory = text
                case "auth_env":
                    let text = try reader.string(value, field)
                    guard Self.isEnvironmentName(text) else {
                        throw reader.error(value, "\(field): '\(text)' is not an environment variable name (write the variable's name, e.g. PIPE_CACHE_TOKEN, never the secret itself)")
                    }
                    entry.authEnv = text
                case "auth":
                    let text = try reader.string(value, field)
                    guard let auth = Auth(rawValue: text) else { throw reader.error(value, "\(field) must be bearer or basic, not '\(text)'") }
                    entry.auth = auth
                case "upload":
                    let text = try reader.string(value, field)
                    guard text == "move" || text == "put" else {
                        throw reader.error(value, "\(field) must be move (PUT to tmp/, then WebDAV MOVE) or put (the server's PUT is atomic), not '\(text)'")
                    }
                    entry.upload = text
                case "retries":
                    guard let count = Int(try reader.string(value, field)), count >= 0, count <= 20 else {
                        throw reader.error(value, "\(field) must be a whole number from 0 to 20")
                    }
                    entry.retries = count
                case "timeout": entry.timeout = try reader.seconds(value, field, minimum: 0.1)
                case "ca_file":
                    let text = try reader.string(value, field)
                    let base = (reader.file as NSString).deletingLastPathComponent
                    let absolute = text.hasPrefix("/") ? text : (base.isEmpty ? text : base + "/" + text)
                    guard FileManager.default.isReadableFile(atPath: absolute) else {
                        throw reader.error(value, "\(field): \(absolute) does not exist or cannot be read (give the PEM file of the CA that signed the server's certificate, relative to this file or absolute)")
                    }
                    entry.caFile = absolute
                default:
                    switch try reader.string(value, field) {
                    case "true":
                        if let defaultNode {
                            throw reader.error(value, "\(field): only one remote can be the default (line \(defaultNode.location?.line ?? 0) already sets one)")
                        }
                        entry.isDefault = true
                        defaultNode = value
                    case "false": entry.isDefault = false
                    default: throw reader.error(value, "\(field) must be true or false")
                    }
                }
            }
            switch (url, directory) {
            case let (url?, nil): entry.location = .url(url)
            case let (nil, directory?): entry.location = .path(directory)
            case (.some, .some): throw reader.error(item, "\(path) has both url and path; a remote is one or the other")
            case (nil, nil): throw reader.error(item, "\(path) needs url: (an HTTP server) or path: (a mounted directory)")
            }
            if case .path = entry.location, entry.authEnv != nil {
                throw reader.error(item, "\(path): auth_env applies to url remotes only")
            }
            if entry.caFile != nil, case .url(let url) = entry.location, !url.lowercased().hasPrefix("https://") {
                throw reader.error(item, "\(path): ca_file applies to https:// remotes only")
            }
            settings.entries.append(entry)
        }
        return settings
    }

    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, CharacterSet.letters.contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_" }
    }

    static func isEnvironmentName(_ name: String) -> Bool {
        guard let first = name.utf8.first, first == UInt8(ascii: "_") || (first | 0x20 >= UInt8(ascii: "a") && first | 0x20 <= UInt8(ascii: "z")) else { return false }
        return name.utf8.allSatisfy { $0 == UInt8(ascii: "_") || ($0 >= 48 && $0 <= 57) || ($0 | 0x20 >= UInt8(ascii: "a") && $0 | 0x20 <= UInt8(ascii: "z")) }
    }
}
