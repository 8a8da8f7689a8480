// The Pipeline module: see ARCHITECTURE.md.
