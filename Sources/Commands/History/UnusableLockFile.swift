import Foundation
import Pipeline

/// A lock file that is there but cannot be read as one (no permission, a directory in its place,
/// garbage or truncated text). Says which file, what is wrong and how to get a good one back; it
/// is only a record of the last run, so deleting it loses nothing stored.
public struct UnusableLockFile: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var problem: String
    /// `file:line:col` of the problem, when it has a place in the text.
    public var location: String?

    public init(path: String, problem: String, location: String? = nil) {
        self.path = path; self.problem = problem; self.location = location
    }

    public var description: String {
        let shown = Workspace.displayPath(ofFile: path)
        return "\(location ?? shown): \(problem); the lock file cannot be used: restore it (`git checkout -- \(shown)`) "
            + "or delete it (`rm -r \(shown)`), and the next successful `pipe run` of its pipeline writes it again"
    }

    /// The file's bytes, or why they cannot be had (nil: it does not exist).
    static func contents(of path: String) throws -> Data? {
        var status = stat()
        guard stat(path, &status) == 0 else {
            if errno == ENOENT { return nil }
            throw UnusableLockFile(path: path, problem: String(cString: strerror(errno)))
        }
        if status.st_mode & S_IFMT == S_IFDIR { throw UnusableLockFile(path: path, problem: "it is a directory, not a file") }
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else {
            let reason = errno == EACCES ? "no permission to read it (chmod u+r fixes that if its content is good)" : String(cString: strerror(errno))
            throw UnusableLockFile(path: path, problem: reason)
        }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        do { return try handle.readToEnd() ?? Data() } catch {
            throw UnusableLockFile(path: path, problem: "reading it failed (\(error.localizedDescription))")
        }
    }
}
