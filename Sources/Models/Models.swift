// The Models module: see ARCHITECTURE.md.
