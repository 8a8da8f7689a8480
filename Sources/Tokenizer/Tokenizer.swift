// The Tokenizer module: pipe's own byte-level BPE, and the pretrained tokenizers users bring (GPT-2
// BPE, BERT WordPiece), encoding exactly as the Hugging Face `tokenizers` package does.
//
// What the stages use:
// - `TextTokenizer`: the common interface (encode, decode, vocabSize, endOfTextId, padId, specialId,
//   tokenString, save). `encode` never adds [CLS]/[SEP].
// - `PretrainedTokenizer`: a model folder's tokenizer plus its end-of-text/pad convention;
//   `PretrainedTokenizer.load(directory:endOfText:pad:)` detects tokenizer.json (BPE or WordPiece),
//   BERT's vocab.txt + tokenizer_config.json, or GPT-2's vocab.json + merges.txt.
//
// Byte-level BPE:
// - `ByteLevel`: the GPT-2 byte ↔ printable-character map (any UTF-8 text, Chinese and emoji included,
//   round-trips exactly).
// - `PreTokenizer`: GPT-2's split regex, hand-written over Unicode properties (identical to the
//   `ByteLevel` pre-tokenizer of Hugging Face `tokenizers` with `use_regex: true`).
// - `BPETrainer`: learns merges to a target vocabulary size (incremental pair counts, deterministic ties).
// - `BPETokenizer`: encode/decode with special tokens; `tokenizer.json` save/load (HF format).
//
// WordPiece (BERT):
// - `BertNormalizer` + `BertCharacterClasses` (tables generated from `tokenizers` by
//   scripts/generate-bert-unicode-tables.py), `AddedTokenMatcher`, `ByteTrie` (longest-match lookup),
//   `WordPieceTokenizer` (encode/decode, post-processor), `WordPieceFiles` (read/write the HF files).
// - `WordPieceBenchmark`: encoding throughput (benchmarks/tokenizer/ has the `tokenizers` side).
//
// Everything else in a tokenizer.json (Pipeline/): `TokenizerPipeline` runs normalizer → pre-tokenizer →
// model → decoder as `tokenizers` 0.23 does (`PipelineNormalizer`, `PipelinePreTokenizer` with
// `SplitPattern`/`SplitBehavior`, `PipelineBPE` or a WordPieceTokenizer's word encoder, `PipelineDecoder`);
// `PretrainedTokenizer.load` uses it only for files the two fast paths refuse.
