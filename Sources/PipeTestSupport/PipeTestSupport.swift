// The PipeTestSupport module: see ARCHITECTURE.md.
