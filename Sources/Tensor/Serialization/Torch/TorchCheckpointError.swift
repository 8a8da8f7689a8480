/// A `pytorch_model.bin` that cannot be read, or is refused: names the file and what is wrong with it.
public struct TorchCheckpointError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let message: String

    public init(file: String, message: String) {
        self.file = file
        self.message = message
    }

    public var description: String { "\(file): \(message)" }
}
