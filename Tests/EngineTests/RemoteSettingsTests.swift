@testable import Engine
import Foundation
import Testing

/// `remotes:` in pipe.config.yaml: what parses, and the exact diagnostics (file:line:col) for what does not.
@Suite("Remote settings in pipe.config.yaml")
struct RemoteSettingsTests {
    @Test func remotesParseWithTheirDefaults() throws {
        let text = """
        executor: local
        remotes:
          team:
            url: http://cache.lan:8080/pipe
            auth_env: PIPE_CACHE_TOKEN
            default: true
          nas: { path: /mnt/nas/pipe-cache }
          ci: { url: "https://ci.example/cache", auth: basic, auth_env: CI_CACHE_AUTH, upload: put, retries: 5, timeout: 2.5 }
        """
        let remotes = try ExecutorSettings.parse(text, file: "pipe.config.yaml").remotes
        #expect(remotes.entries.map(\.name) == ["team", "nas", "ci"], "file order")
        #expect(remotes.defaultEntry?.name == "team")
        let team = try #require(remotes.entry(named: "team"))
        #expect(team.location == .url("http://cache.lan:8080/pipe") && team.authEnv == "PIPE_CACHE_TOKEN" && team.auth == .bearer)
        #expect(team.upload == "move" && team.retries == 3 && team.timeout == 30)
        #expect(remotes.entry(named: "nas")?.location == .path("/mnt/nas/pipe-cache"))
        let ci = try #require(remotes.entry(named: "ci"))
        #expect(ci.auth == .basic && ci.upload == "put" && ci.retries == 5 && ci.timeout == 2.5 && !ci.isDefault)
        #expect(try ExecutorSettings.parse("executor: local\n", file: "x.yaml").remotes.entries.isEmpty)
    }

    @Test func caFileIsResolvedAgainstTheConfigFilesDirectory() throws {
        let directory = FileManager.default.temporaryDirectory.path + "/pipe-ca-file-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory + "/certs", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        FileManager.default.createFile(atPath: directory + "/certs/ca.pem", contents: Data("pem".utf8))
        let text = "remotes:\n  team: { url: https://cache.lan/pipe, ca_file: certs/ca.pem }\n"
        let team = try #require(try ExecutorSettings.parse(text, file: directory + "/pipe.config.yaml").remotes.entry(named: "team"))
        #expect(team.caFile == directory + "/certs/ca.pem")
        #expect(try ExecutorSettings.parse("remotes:\n  team: { url: https://h/p }\n", file: "x.yaml").remotes.entry(named: "team")?.caFile == nil)
    }

    @Test(arguments: [
        ("remotes:\n  team: { url: http://h/p, token: abc123 }\n",
         "pipe.config.yaml:2:28: remotes.team.token: secrets never go in pipe.config.yaml; put the credential in an environment variable and name it with auth_env: VARIABLE"),
        ("remotes:\n  team: { url: http://h/p, auth_env: \"Bearer abc\" }\n",
         "pipe.config.yaml:2:38: remotes.team.auth_env: 'Bearer abc' is not an environment variable name (write the variable's name, e.g. PIPE_CACHE_TOKEN, never the secret itself)"),
        ("remotes:\n  team: { url: ftp://h/p }\n",
         "pipe.config.yaml:2:16: remotes.team.url: 'ftp://h/p' is not an http:// or https:// URL (for a mounted directory write path: instead)"),
        ("remotes:\n  team: { url: http://h/p, path: /mnt/x }\n",
         "pipe.config.yaml:2:9: remotes.team has both url and path; a remote is one or the other"),
        ("remotes:\n  team: { auth_env: TOKEN }\n",
         "pipe.config.yaml:2:9: remotes.team needs url: (an HTTP server) or path: (a mounted directory)"),
        ("remotes:\n  team: { url: http://h/p, defualt: true }\n",
         "pipe.config.yaml:2:28: unknown field 'defualt' in remotes.team (did you mean 'default'? known: url, path, auth_env, auth, upload, retries, timeout, ca_file, default)"),
        ("remotes:\n  a: { path: /x, default: true }\n  b: { path: /y, default: true }\n",
         "pipe.config.yaml:3:27: remotes.b.default: only one remote can be the default (line 2 already sets one)"),
        ("remotes:\n  team: { url: http://h/p, upload: post }\n",
         "pipe.config.yaml:2:36: remotes.team.upload must be move (PUT to tmp/, then WebDAV MOVE) or put (the server's PUT is atomic), not 'post'"),
        ("remotes:\n  team: { url: http://h/p, retries: many }\n",
         "pipe.config.yaml:2:37: remotes.team.retries must be a whole number from 0 to 20"),
        // Int(timeout) for the socket timeout trapped on these.
        ("remotes:\n  team: { url: http://h/p, timeout: 1e300 }\n",
         "pipe.config.yaml:2:37: remotes.team.timeout must be a number of seconds from 0.1 to 86400"),
        ("remotes:\n  team: { url: http://h/p, timeout: inf }\n",
         "pipe.config.yaml:2:37: remotes.team.timeout must be a number of seconds from 0.1 to 86400"),
        ("remotes:\n  nas: { path: /x, auth_env: TOKEN }\n",
         "pipe.config.yaml:2:8: remotes.nas: auth_env applies to url remotes only"),
        ("remotes:\n  team: { url: https://h/p, ca_file: no-such-ca.pem }\n",
         "pipe.config.yaml:2:38: remotes.team.ca_file: no-such-ca.pem does not exist or cannot be read (give the PEM file of the CA that signed the server's certificate, relative to this file or absolute)"),
        ("remotes:\n  team: { url: http://h/p, ca_file: /dev/null }\n",
         "pipe.config.yaml:2:9: remotes.team: ca_file applies to https:// remotes only"),
        ("remotes:\n  team: http://h/p\n",
         "pipe.config.yaml:2:9: remotes.team must be a mapping, e.g. { url: http://host:8080/pipe } or { path: /mnt/cache }"),
        ("remotes:\n  9lives: { path: /x }\n",
         "pipe.config.yaml:2:11: remotes: '9lives' is not a valid remote name (use letters, digits, - and _, starting with a letter)"),
    ])
    func remoteErrorsNameFileLineColumnAndField(text: String, expected: String) {
        do {
            _ = try ExecutorSettings.parse(text, file: "pipe.config.yaml")
            Issue.record("accepted: \(text)")
        } catch {
            #expect("\(error)" == expected)
        }
    }
}
