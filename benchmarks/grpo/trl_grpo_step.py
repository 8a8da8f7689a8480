"""TRL reference for `pipe bench grpo`: one `trl.GRPOTrainer` step on config S, timed by phase.

Same shape as pipe's benchmark (GRPOBenchmark): a GPT-2 policy (vocab 6000, 4 layers, 4 heads, width
256, random weights), a frozen reference (beta 0.04), a GPT-2 sequence-classification reward model.
16 prompts x 16 tokens, G = 8 completions of exactly 16 tokens each (128 rows, sampling at temperature 1
with the KV cache), rewards, group advantages, loss "dapo", one iteration -> one optimiser step (AdamW).
CPU only, `--threads` intra-op threads. The tokenizer is a word-level one over "t0".."t5999" built here,
so nothing is downloaded.

Usage: python benchmarks/grpo/trl_grpo_step.py [--threads 1] [--steps 3] [--json]
(needs torch, transformers, datasets and trl installed with pip in a venv.)
Phases: generate = TRL's `_generate` (tokenise + sample); score = the rest of
`_generate_and_score_completions` (reward model, reference log-probs, advantages); update = the rest of
the step (policy forward, loss, backward, clip, AdamW). Prints medians (seconds); --json prints one
JSON object (read by `pipe bench grpo`).
"""
import argparse, json, os, random, statistics, sys, tempfile, time

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--steps", type=int, default=3)
ap.add_argument("--prompts", type=int, default=16)
ap.add_argument("--generations", type=int, default=8)
ap.add_argument("--query-len", type=int, default=16)
ap.add_argument("--response-len", type=int, default=16)
ap.add_argument("--vocab", type=int, default=6000)
ap.add_argument("--layers", type=int, default=4)
ap.add_argument("--heads", type=int, default=4)
ap.add_argument("--width", type=int, default=256)
ap.add_argument("--json", action="store_true")
args = ap.parse_args()
os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import torch
from datasets import Dataset
from tokenizers import Tokenizer, models, pre_tokenizers, decoders
from transformers import (GPT2Config, GPT2ForSequenceClassification, GPT2LMHeadModel, PreTrainedTokenizerFast,
                          TrainerCallback)
from transformers.utils import logging as hf_logging
import trl
from trl import GRPOConfig, GRPOTrainer

torch.set_num_threads(args.threads)
torch.manual_seed(0)
hf_logging.set_verbosity_error()

V = args.vocab
word = Tokenizer(models.WordLevel({f"t{i}": i for i in range(V)}, unk_token="t1"))
word.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
word.decoder = decoders.WordPiece(prefix="##", cleanup=False)   # joins tokens with spaces
tokenizer = PreTrainedTokenizerFast(tokenizer_object=word, eos_token="t0", pad_token="t0", unk_token="t1")
tokenizer.padding_side = "left"

config = GPT2Config(vocab_size=V, n_positions=128, n_embd=args.width, n_layer=args.layers, n_head=args.heads,
                    bos_token_id=0, eos_token_id=0, pad_token_id=0, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                    num_labels=1)
policy = GPT2LMHeadModel(config)
reward = GPT2ForSequenceClassification(config)

rng = random.Random(3)
# A trailing space so TRL's prompt + completion concatenation re-tokenises to the same tokens.
prompts = [" ".join(f"t{rng.randrange(2, V)}" for _ in range(args.query_len)) + " " for _ in range(256)]
dataset = Dataset.from_dict({"prompt": prompts})

rows = args.prompts * args.generations
out = tempfile.mkdtemp(prefix="trl-grpo-bench-")
# TRL builds the frozen reference from the policy's path: save the random policy and pass the path.
policy.save_pretrained(out + "/policy")
grpo = GRPOConfig(
    output_dir=out, per_device_train_batch_size=rows, gradient_accumulation_steps=1,
    num_generations=args.generations, max_completion_length=args.response_len,
    generation_kwargs={"min_new_tokens": args.response_len}, temperature=1.0, top_k=0, top_p=1.0,
    beta=0.04, epsilon=0.2, loss_type="dapo", scale_rewards="group", num_iterations=1,
    learning_rate=1e-5, lr_scheduler_type="constant", max_grad_norm=1.0, max_steps=args.steps + 1,
    use_cpu=True, bf16=False, fp16=False, report_to="none", logging_steps=1, save_strategy="no",
    gradient_checkpointing=False,   # TRL turns it on by default; on the CPU it only re-runs forwards
    disable_dropout=True, dataloader_num_workers=0, seed=0)
trainer = GRPOTrainer(model=out + "/policy", reward_funcs=reward, args=grpo, train_dataset=dataset, processing_class=tokenizer,
                      reward_processing_classes=tokenizer)

phase = {"generate": 0.0, "generate_and_score": 0.0}


def timed(name, fn):
    def wrapper(*a, **k):
        t0 = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            phase[name] += time.perf_counter() - t0
    return wrapper


trainer._generate = timed("generate", trainer._generate)
trainer._generate_and_score_completions = timed("generate_and_score", trainer._generate_and_score_completions)
samples = []


class StepTimer(TrainerCallback):
    def on_step_begin(self, a, state, control, **kw):
        phase["generate"] = phase["generate_and_score"] = 0.0
        self.t0 = time.perf_counter()

    def on_step_end(self, a, state, control, **kw):
        total = time.perf_counter() - self.t0
        if state.global_step > 1:   # the first step is the warm-up
            g, gs = phase["generate"], phase["generate_and_score"]
            samples.append({"generate_s": g, "score_s": gs - g, "update_s": total - gs, "total_s": total})


trainer.add_callback(StepTimer())
trainer.train()
figures = {k: statistics.median(s[k] for s in samples) for k in ["generate_s", "score_s", "update_s", "total_s"]}
if args.json:
    print(json.dumps(figures))
else:
    print(f"TRL {trl.__version__}, torch {torch.__version__}, {args.threads} thread(s): {rows} completions "
          f"({args.prompts} prompts x G={args.generations}) x {args.response_len} tokens, medians of {len(samples)} steps")
    for k, v in figures.items():
        print(f"  {k:<11} {v:8.3f}")
