import Foundation

/// Raw writes to a file descriptor (stdout by default), bypassing stdio buffering so that a live
/// view and child processes never interleave half-lines.
public struct TerminalOutput: Sendable {
    public let fd: Int32

    public init(fd: Int32 = 1) { self.fd = fd }

    public var isTerminal: Bool { isatty(fd) == 1 }

    /// Columns of the terminal, or 100 when unknown.
    public var width: Int {
        var size = winsize()
        if ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return 100
    }

    public func write(_ text: String) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 { if errno == EINTR { continue }; return }
                offset += written
            }
        }
    }
}

/// ANSI styling, used only on terminals (and never when `NO_COLOR` is set).
enum ANSI {
    static let reset = "\u{1B}[0m"
    static let bold = "\u{1B}[1m"
    static let dim = "\u{1B}[2m"
    static let red = "\u{1B}[31m"
    static let green = "\u{1B}[32m"
    static let yellow = "\u{1B}[33m"
    static let blue = "\u{1B}[34m"
    static let cyan = "\u{1B}[36m"
    static let clearLine = "\u{1B}[2K"
    static let hideCursor = "\u{1B}[?25l"
    static let showCursor = "\u{1B}[?25h"
    static func up(_ lines: Int) -> String { lines > 0 ? "\u{1B}[\(lines)A" : "" }
}
