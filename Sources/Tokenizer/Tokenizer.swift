// The Tokenizer module: byte-level BPE in the GPT-2 style.
//
// - `ByteLevel`: the GPT-2 byte ↔ printable-character map (any UTF-8 text, Chinese and emoji included,
//   round-trips exactly).
// - `PreTokenizer`: GPT-2's split regex, hand-written over Unicode properties (identical to the
//   `ByteLevel` pre-tokenizer of Hugging Face `tokenizers` with `use_regex: true`).
// - `BPETrainer`: learns merges to a target vocabulary size (incremental pair counts, deterministic ties).
// - `BPETokenizer`: encode/decode with special tokens; `tokenizer.json` save/load (HF format).
