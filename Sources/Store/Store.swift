// The Store module: see ARCHITECTURE.md.
