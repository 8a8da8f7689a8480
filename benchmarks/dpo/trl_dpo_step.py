"""TRL reference for `pipe bench dpo`: one `trl.DPOTrainer` step on config S, timed.

Same shape as pipe's benchmark (DPOBenchmark): a GPT-2 policy (vocab 6000, 4 layers, 4 heads, width 256,
random weights) and its frozen reference; 16 pairs per step, each a prompt of 16 tokens with chosen and
rejected completions of 16 tokens (32 rows through the policy), loss "sigmoid", beta 0.1, one AdamW step.
Timed twice: with the reference forward in every step (TRL's default) and with
`precompute_ref_log_probs=True` (the reference pass before training, as pipe's default). CPU only,
`--threads` intra-op threads. The tokenizer is a word-level one over "t0".."t5999" built here, so
nothing is downloaded.

Usage: python benchmarks/dpo/trl_dpo_step.py [--threads 1] [--steps 5] [--json]
(needs torch, transformers, datasets and trl installed with pip in a venv.)
Prints median step seconds; --json prints one JSON object (read by `pipe bench dpo`).
"""
import argparse, json, os, random, statistics, tempfile, time

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--steps", type=int, default=5)
ap.add_argument("--pairs", type=int, default=16)
ap.add_argument("--prompt-len", type=int, default=16)
ap.add_argument("--completion-len", type=int, default=16)
ap.add_argument("--vocab", type=int, default=6000)
ap.add_argument("--json", action="store_true")
args = ap.parse_args()
os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import torch
from datasets import Dataset
from tokenizers import Tokenizer, models, pre_tokenizers, decoders
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast, TrainerCallback
from transformers.utils import logging as hf_logging
import trl
from trl import DPOConfig, DPOTrainer

torch.set_num_threads(args.threads)
hf_logging.set_verbosity_error()

V = args.vocab
word = Tokenizer(models.WordLevel({f"t{i}": i for i in range(V)}, unk_token="t1"))
word.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
word.decoder = decoders.WordPiece(prefix="##", cleanup=False)
tokenizer = PreTrainedTokenizerFast(tokenizer_object=word, eos_token="t0", pad_token="t0", unk_token="t1")

rng = random.Random(3)
def words(n):
    return " ".join(f"t{rng.randrange(2, V)}" for _ in range(n))
rows = args.pairs * (args.steps + 1)
dataset = Dataset.from_dict({"prompt": [words(args.prompt_len) + " " for _ in range(rows)],
                             "chosen": [words(args.completion_len) for _ in range(rows)],
                             "rejected": [words(args.completion_len) for _ in range(rows)]})
config = GPT2Config(vocab_size=V, n_positions=128, n_embd=256, n_layer=4, n_head=4, bos_token_id=0, eos_token_id=0,
                    pad_token_id=0, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)


def time_steps(precompute):
    torch.manual_seed(0)
    out = tempfile.mkdtemp(prefix="trl-dpo-bench-")
    # TRL builds the frozen reference from the policy's path: save the random policy and pass the path.
    GPT2LMHeadModel(config).save_pretrained(out + "/policy")
    dpo = DPOConfig(output_dir=out, per_device_train_batch_size=args.pairs, gradient_accumulation_steps=1,
                    beta=0.1, loss_type="sigmoid", max_length=args.prompt_len + args.completion_len + 2,
                    precompute_ref_log_probs=precompute, learning_rate=1e-6, lr_scheduler_type="constant",
                    max_grad_norm=1.0, max_steps=args.steps + 1, use_cpu=True, bf16=False, fp16=False, report_to="none",
                    logging_steps=1, save_strategy="no", disable_dropout=True, dataloader_num_workers=0, seed=0)
    trainer = DPOTrainer(model=out + "/policy", args=dpo, train_dataset=dataset, processing_class=tokenizer)
    samples = []

    class StepTimer(TrainerCallback):
        def on_step_begin(self, a, state, control, **kw):
            self.t0 = time.perf_counter()

        def on_step_end(self, a, state, control, **kw):
            if state.global_step > 1:   # the first step is the warm-up
                samples.append(time.perf_counter() - self.t0)

    trainer.add_callback(StepTimer())
    trainer.train()
    return statistics.median(samples)


figures = {"step_s": time_steps(False), "step_precomputed_s": time_steps(True)}
if args.json:
    print(json.dumps(figures))
else:
    print(f"TRL {trl.__version__}, torch {torch.__version__}, {args.threads} thread(s): {args.pairs} pairs x "
          f"({args.prompt_len} + {args.completion_len}) tokens, medians of {args.steps} steps")
    for k, v in figures.items():
        print(f"  {k:<20} {v:8.3f}")
