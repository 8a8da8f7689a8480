import ArgumentParser

@main
struct Pipe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipe",
        abstract: "Run machine-learning pipelines declaratively, with content-hashed caching.",
        subcommands: []
    )
}
