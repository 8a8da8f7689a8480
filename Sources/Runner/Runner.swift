// The Runner module: see ARCHITECTURE.md.
