import Engine
import Foundation
import Pipeline
import RemoteHTTP
import Store

/// Turns `--remote NAME|URL|PATH` (or the config file's default remote) into a `Remote`.
public enum RemoteResolver {
    /// Environment variable naming a PEM CA file for https:// remotes without ca_file:.
    public static let caFileVariable = "PIPE_REMOTE_CA_FILE"

    /// - Parameters:
    ///   - flag: a remote name from `remotes:`, an http(s):// URL, or a directory path; nil: the default remote.
    ///   - environment: where `auth_env` variables are read.
    public static func resolve(_ flag: String?, settings: RemoteSettings,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws -> any Remote {
        let configured = settings.entries.map(\.name)
        let entry: RemoteSettings.Entry
        if let flag {
            if let named = settings.entry(named: flag) {
                entry = named
            } else if flag.contains("://") {
                if flag.lowercased().hasPrefix("file://") {
                    entry = RemoteSettings.Entry(name: flag, location: .path(String(flag.dropFirst("file://".count))))
                } else {
                    entry = RemoteSettings.Entry(name: flag, location: .url(flag))
                }
            } else if flag.hasPrefix("/") || flag.hasPrefix(".") || flag.contains("/") {
                entry = RemoteSettings.Entry(name: flag, location: .path(flag))
            } else {
                let hint = Suggestion.nearest(to: flag, in: configured).map { "did you mean '\($0)'? " } ?? ""
                throw RemoteError.local(remote: flag, reason: "no remote named '\(flag)' in pipe.config.yaml (\(hint)"
                    + (configured.isEmpty ? "no remotes: are configured" : "configured: " + configured.joined(separator: ", "))
                    + "); give a name, an http(s):// URL or a directory path")
            }
        } else if let chosen = settings.defaultEntry {
            entry = chosen
        } else {
            throw RemoteError.local(remote: "(none)", reason: "no remote given: pass --remote NAME|URL|PATH, or mark one remote in pipe.config.yaml with default: true"
                + (configured.isEmpty ? "" : " (configured: " + configured.joined(separator: ", ") + ")"))
        }
        return try make(entry, environment: environment)
    }

    static func make(_ entry: RemoteSettings.Entry, environment: [String: String]) throws -> any Remote {
        switch entry.location {
        case .path(let path):
            let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: absolute, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw RemoteError.local(remote: entry.name, reason: "directory \(absolute) does not exist (is the share mounted? create it with mkdir if the remote is new)")
            }
            let blobs = FilesystemBlobs(root: absolute)
            return ContentAddressedRemote(name: entry.name == path ? absolute : "\(entry.name) (\(absolute))", blobs: blobs)
        case .url(let url):
            var authorization: String?
            if let variable = entry.authEnv {
                guard let secret = environment[variable], !secret.isEmpty else {
                    throw RemoteError.local(remote: entry.name, reason: "auth_env names \(variable), which is not set; export \(variable) with the "
                        + (entry.auth == .basic ? "user:password" : "token") + " (it is never read from pipe.config.yaml)")
                }
                switch entry.auth {
                case .bearer: authorization = "Bearer " + secret
                case .basic:
                    guard secret.contains(":") else {
                        throw RemoteError.local(remote: entry.name, reason: "\(variable) must hold user:password for auth: basic")
                    }
                    authorization = "Basic " + Data(secret.utf8).base64EncodedString()
                }
            }
            // ca_file from the config; else PIPE_REMOTE_CA_FILE for any https:// remote (e.g. a URL on the command line).
            var caFile = entry.caFile
            if caFile == nil, url.lowercased().hasPrefix("https://"), let variable = environment[caFileVariable], !variable.isEmpty {
                caFile = variable
            }
            let blobs = try HTTPBlobs(url: url, authorization: authorization, uploadMode: HTTPBlobs.UploadMode(rawValue: entry.upload) ?? .move,
                                      retries: entry.retries, timeout: entry.timeout, caFile: caFile)
            return ContentAddressedRemote(name: entry.name == url ? url : "\(entry.name) (\(url))", blobs: blobs)
        }
    }
}
