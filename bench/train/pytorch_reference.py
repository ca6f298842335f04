#!/usr/bin/python3
"""Training-throughput reference: the "dense" architecture in plain, eager PyTorch.

The model is the C++ `dense` plugin (plugins/arch-dense) written as an ordinary PyTorch
module, so that its training throughput can be compared with the C++ trainer's on the same
configuration:

  token embedding; n_layers pre-norm blocks, each x + attention(RMSNorm(x)) then
  h + SwiGLU(RMSNorm(h)); a final RMSNorm; an output head tied to the embedding. Attention is
  causal grouped-query attention (n_heads query heads share n_kv_heads key/value heads, each
  serving n_heads / n_kv_heads consecutive query heads) with rotary positions in the
  rotate-half layout (feature i pairs with feature i + head_dim/2, turned by
  position * rope_base^(-2i/head_dim)). No biases, no dropout.

The math is that of tests/fixtures/dense/make_reference.py (the fixture generator of the C++
unit test); `--check-fixture` compares this module's logits with that script's in float64.
Initialisation follows DenseImpl::initialize: in registration order, every RMSNorm gain is 1,
attention.wo and feed_forward.w2 are N(0, init_std / sqrt(2 * n_layers)) and every other
matrix (the embedding included) is N(0, init_std), drawn from one CPU generator seeded with
the splitmix64 step of the run seed that DenseModel uses.

The training step is a normal PyTorch loop: forward (optionally under
torch.autocast("cpu", dtype=torch.bfloat16), fp32 master weights), cross-entropy,
backward, clip_grad_norm_(1.0), torch.optim.AdamW(lr 3e-4, betas (0.9, 0.95),
weight decay 0.1 on the >= 2-D weights but the embedding, foreach=True),
zero_grad(set_to_none=True). Tokens are uniform random in [0, vocab), seeded, [batch, seq + 1]
per step, with inputs tokens[:, :-1] and targets tokens[:, 1:].

Prints one JSON line on stdout:
  {"impl": "pytorch-eager", "precision", "tokens_per_s", "step_ms", "params",
   "flops_per_token", "torch", "threads", ...}
where tokens_per_s = batch * seq * timed_steps / timed seconds (the --warmup-steps first steps
are not timed), and flops_per_token is dense_flops_per_token of plugins/arch-dense/
dense_options.cpp. The final loss goes to stderr.

Run with Debian's torch (the python3 on PATH may have none):
    /usr/bin/python3 bench/train/pytorch_reference.py --d-model 256 --layers 4 --heads 4 \
        --seq 256 --batch 16 --vocab 4096 --steps 12 --threads 2
"""

import argparse
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

HAS_SDPA = hasattr(F, "scaled_dot_product_attention")


# ---------------------------------------------------------------------------------------------
# Options and derived quantities (plugins/arch-dense/dense_options.{h,cpp})

def ffn_width(d_model, ffn_hidden=0, multiplier=8.0 / 3.0, multiple_of=64):
    """DenseOptions::ffn_width: ffn_hidden if > 0, else multiplier * d_model rounded up to a
    multiple of multiple_of (plugin defaults: 8/3 and 64)."""
    if ffn_hidden > 0:
        return ffn_hidden
    return multiple_of * math.ceil(multiplier * d_model / multiple_of)


def dense_matmul_parameters(d_model, n_layers, n_heads, n_kv_heads, ffn, vocab):
    """dense_matmul_parameters: per layer wq, wk, wv, wo and w1, w2, w3, plus the output head
    (counted even when tied). Neither the embedding lookup nor the norm gains count."""
    head_dim = d_model // n_heads
    kv_width = n_kv_heads * head_dim
    attention = 2 * d_model * d_model + 2 * d_model * kv_width
    mlp = 3 * d_model * ffn
    return n_layers * (attention + mlp) + vocab * d_model


def dense_flops_per_token(d_model, n_layers, n_heads, n_kv_heads, ffn, vocab, seq_len):
    """dense_flops_per_token: 6 * matmul parameters + 12 * n_layers * d_model * seq_len
    (attention scores and weighted values, forward + backward, causal mask not halved)."""
    return (6.0 * dense_matmul_parameters(d_model, n_layers, n_heads, n_kv_heads, ffn, vocab)
            + 12.0 * n_layers * d_model * seq_len)


def init_seed(run_seed):
    """DenseModel's init_seed: one splitmix64 step of the run seed (uint64 arithmetic)."""
    mask = (1 << 64) - 1
    z = (run_seed + 0x9E3779B97F4A7C15) & mask
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return z ^ (z >> 31)


# ---------------------------------------------------------------------------------------------
# Model (plugins/arch-dense/dense_layers.cpp, dense_model.cpp)

class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        # Low-precision inputs are normalised in float32, as in RMSNormImpl::forward.
        xf = x.to(torch.promote_types(x.dtype, torch.float32))
        normed = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return normed.to(x.dtype) * self.weight


def rotary_tables(head_dim, base, length, dtype, device=None):
    """cos, sin of the rotary angles, each [T, 1, head_dim]; angles in float32 (float64 for a
    float64 model) before the cast, as in rotary_tables()."""
    angle_dtype = torch.float64 if dtype == torch.float64 else torch.float32
    inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=angle_dtype, device=device)
                               / head_dim))
    positions = torch.arange(length, dtype=angle_dtype, device=device)
    half = torch.outer(positions, inv_freq)
    angles = torch.cat([half, half], dim=-1).unsqueeze(1)
    return angles.cos().to(dtype), angles.sin().to(dtype)


def apply_rotary(x, cos, sin):
    """x [B, T, H, hd] * cos + rotate_half(x) * sin, rotate_half([x1, x2]) = [-x2, x1]."""
    x1, x2 = x.chunk(2, dim=-1)
    return x * cos + torch.cat([-x2, x1], dim=-1) * sin


def repeat_heads(x, times):
    """[B, KV, S, hd] -> [B, KV * times, S, hd], each head repeated for `times` query heads."""
    if times == 1:
        return x
    b, kv, s, hd = x.shape
    return x.unsqueeze(2).expand(b, kv, times, s, hd).reshape(b, kv * times, s, hd)


class Attention(nn.Module):
    def __init__(self, d_model, n_heads, n_kv_heads):
        super().__init__()
        self.n_heads, self.n_kv_heads = n_heads, n_kv_heads
        self.head_dim = d_model // n_heads
        self.wq = nn.Linear(d_model, n_heads * self.head_dim, bias=False)
        self.wk = nn.Linear(d_model, n_kv_heads * self.head_dim, bias=False)
        self.wv = nn.Linear(d_model, n_kv_heads * self.head_dim, bias=False)
        self.wo = nn.Linear(n_heads * self.head_dim, d_model, bias=False)

    def forward(self, x, cos, sin, causal_mask):
        b, t, _ = x.shape
        h, kv, hd = self.n_heads, self.n_kv_heads, self.head_dim
        q = self.wq(x).view(b, t, h, hd)
        k = self.wk(x).view(b, t, kv, hd)
        v = self.wv(x).view(b, t, kv, hd)
        q = apply_rotary(q, cos.to(q.dtype), sin.to(q.dtype)).transpose(1, 2)
        k = apply_rotary(k, cos.to(k.dtype), sin.to(k.dtype)).transpose(1, 2)
        v = v.transpose(1, 2)
        k, v = repeat_heads(k, h // kv), repeat_heads(v, h // kv)
        if HAS_SDPA:
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            # torch 1.13: no fused attention; the usual manual path.
            scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
            scores = scores.masked_fill(causal_mask[:t, :t], float("-inf"))
            out = torch.softmax(scores, dim=-1) @ v
        return self.wo(out.transpose(1, 2).reshape(b, t, h * hd))


class FeedForward(nn.Module):
    def __init__(self, d_model, hidden):
        super().__init__()
        self.w1 = nn.Linear(d_model, hidden, bias=False)
        self.w2 = nn.Linear(hidden, d_model, bias=False)
        self.w3 = nn.Linear(d_model, hidden, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class DenseBlock(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.attention_norm = RMSNorm(cfg["d_model"], cfg["norm_eps"])
        self.attention = Attention(cfg["d_model"], cfg["n_heads"], cfg["n_kv_heads"])
        self.ffn_norm = RMSNorm(cfg["d_model"], cfg["norm_eps"])
        self.feed_forward = FeedForward(cfg["d_model"], cfg["ffn_hidden"])

    def forward(self, x, cos, sin, causal_mask):
        h = x + self.attention(self.attention_norm(x), cos, sin, causal_mask)
        return h + self.feed_forward(self.ffn_norm(h))


class Dense(nn.Module):
    """cfg keys as in make_reference.py: vocab_size, d_model, n_layers, n_heads, n_kv_heads,
    ffn_hidden, rope_base, norm_eps, tie_embeddings; plus max_seq_len and init_std."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = dict(cfg)
        self.tok_embeddings = nn.Embedding(cfg["vocab_size"], cfg["d_model"])
        self.layers = nn.ModuleList(DenseBlock(cfg) for _ in range(cfg["n_layers"]))
        self.norm = RMSNorm(cfg["d_model"], cfg["norm_eps"])
        self.output = (None if cfg["tie_embeddings"] else
                       nn.Linear(cfg["d_model"], cfg["vocab_size"], bias=False))
        max_len = cfg.get("max_seq_len", 1024)
        self.register_buffer("causal_mask",
                             torch.ones(max_len, max_len, dtype=torch.bool).triu(1),
                             persistent=False)

    @torch.no_grad()
    def initialize(self, generator):
        """DenseImpl::initialize, in registration order."""
        std = self.cfg.get("init_std", 0.02)
        residual_std = std / math.sqrt(2.0 * self.cfg["n_layers"])
        for name, param in self.named_parameters():
            if name.endswith("norm.weight"):
                param.fill_(1.0)
            elif name.endswith("attention.wo.weight") or name.endswith("feed_forward.w2.weight"):
                param.normal_(0.0, residual_std, generator=generator)
            else:
                param.normal_(0.0, std, generator=generator)

    def forward(self, tokens):
        t = tokens.shape[1]
        x = self.tok_embeddings(tokens)
        cos, sin = rotary_tables(self.cfg["d_model"] // self.cfg["n_heads"],
                                 self.cfg["rope_base"], t, x.dtype, x.device)
        for layer in self.layers:
            x = layer(x, cos, sin, self.causal_mask)
        x = self.norm(x)
        head = self.tok_embeddings.weight if self.output is None else self.output.weight
        return F.linear(x, head)


# ---------------------------------------------------------------------------------------------
# Sanity check against the fixture generator's independent implementation

def check_fixture():
    """Loads the weights of each case of tests/fixtures/dense/make_reference.py into Dense and
    compares the logits (float64) with that script's logits_of. Returns the largest error."""
    import importlib.util
    import pathlib
    path = (pathlib.Path(__file__).resolve().parents[2]
            / "tests" / "fixtures" / "dense" / "make_reference.py")
    spec = importlib.util.spec_from_file_location("make_reference", path)
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    tokens = torch.tensor(ref.TOKENS, dtype=torch.long)
    worst = 0.0
    for name, cfg, _ in ref.CASES:
        weights = {s["name"]: ref.formula(s["shape"], s["amp"], s["offset"], s["phase"])
                   for s in ref.parameter_specs(cfg)}
        model = Dense(cfg).double()
        model.load_state_dict(weights, strict=True)
        with torch.no_grad():
            mine = model(tokens)
            theirs = ref.logits_of(tokens, weights, cfg)
        err = (mine - theirs).abs().max().item()
        scale = theirs.abs().max().item()
        print(f"fixture case {name}: logits {list(mine.shape)}, max |diff| {err:.3e} "
              f"(max |logit| {scale:.3f})", file=sys.stderr)
        worst = max(worst, err)
    # Random init through the same path, also checked against the functional reference.
    cfg = dict(ref.CASES[0][1])
    model = Dense(cfg).double()
    model.initialize(torch.Generator().manual_seed(init_seed(1234)))
    with torch.no_grad():
        mine = model(tokens)
        theirs = ref.logits_of(tokens, dict(model.state_dict()), cfg)
    err = (mine - theirs).abs().max().item()
    print(f"seeded init (gqa_tied config): max |diff| {err:.3e}", file=sys.stderr)
    return max(worst, err)


# ---------------------------------------------------------------------------------------------
# Benchmark

def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--d-model", type=int, default=256)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--kv-heads", type=int, default=0, help="0 (default) = --heads")
    p.add_argument("--ffn-hidden", type=int, default=0,
                   help="0 (default) = the dense plugin's rule: 64 * ceil(8/3 * d_model / 64)")
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--vocab", type=int, default=4096)
    p.add_argument("--steps", type=int, default=12, help="timed steps")
    p.add_argument("--warmup-steps", type=int, default=2, help="untimed steps before them")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads; 0 = leave")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rope-base", type=float, default=10000.0)
    p.add_argument("--norm-eps", type=float, default=1e-5)
    p.add_argument("--init-std", type=float, default=0.02)
    p.add_argument("--check-fixture", action="store_true",
                   help="compare logits with tests/fixtures/dense/make_reference.py and exit")
    return p.parse_args()


def main():
    args = parse_args()
    if args.check_fixture:
        worst = check_fixture()
        ok = worst < 1e-10
        print(json.dumps({"check": "fixture", "max_abs_diff": worst, "ok": ok}))
        sys.exit(0 if ok else 1)

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    kv_heads = args.kv_heads or args.heads
    if args.d_model % args.heads or (args.d_model // args.heads) % 2 or args.heads % kv_heads:
        sys.exit("heads must divide d-model with an even head width; kv-heads must divide heads")
    cfg = dict(vocab_size=args.vocab, d_model=args.d_model, n_layers=args.layers,
               n_heads=args.heads, n_kv_heads=kv_heads,
               ffn_hidden=ffn_width(args.d_model, args.ffn_hidden),
               rope_base=args.rope_base, norm_eps=args.norm_eps, tie_embeddings=True,
               max_seq_len=max(1024, args.seq), init_std=args.init_std)

    model = Dense(cfg)
    model.initialize(torch.Generator().manual_seed(init_seed(args.seed)))
    model.train()

    decay, no_decay = [], []
    for name, param in model.named_parameters():
        (decay if param.dim() >= 2 and name != "tok_embeddings.weight" else no_decay).append(param)
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                                   {"params": no_decay, "weight_decay": 0.0}],
                                  lr=3e-4, betas=(0.9, 0.95), foreach=True)

    data_gen = torch.Generator().manual_seed(args.seed + 1)
    bf16 = args.precision == "bf16"

    def step():
        batch = torch.randint(0, args.vocab, (args.batch, args.seq + 1), generator=data_gen,
                              dtype=torch.long)
        inputs, targets = batch[:, :-1], batch[:, 1:]
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = model(inputs)
            loss = F.cross_entropy(logits.reshape(-1, args.vocab).float(), targets.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item()

    first_loss = None
    for _ in range(args.warmup_steps):
        loss = step()
        first_loss = loss if first_loss is None else first_loss
    start = time.perf_counter()
    for _ in range(args.steps):
        loss = step()
        first_loss = loss if first_loss is None else first_loss
    elapsed = time.perf_counter() - start

    params = sum(p.numel() for p in model.parameters())
    tokens = args.batch * args.seq * args.steps
    print(f"loss: first {first_loss:.4f}, final {loss:.4f} "
          f"(ln vocab = {math.log(args.vocab):.4f})", file=sys.stderr)
    print(json.dumps({
        "impl": "pytorch-eager",
        "precision": args.precision,
        "tokens_per_s": round(tokens / elapsed, 2),
        "step_ms": round(1000.0 * elapsed / args.steps, 2),
        "params": params,
        "flops_per_token": dense_flops_per_token(args.d_model, args.layers, args.heads, kv_heads,
                                                 cfg["ffn_hidden"], args.vocab, args.seq),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "attention": "sdpa" if HAS_SDPA else "manual",
        "config": {"d_model": args.d_model, "layers": args.layers, "heads": args.heads,
                   "kv_heads": kv_heads, "ffn_hidden": cfg["ffn_hidden"], "seq": args.seq,
                   "batch": args.batch, "vocab": args.vocab, "steps": args.steps,
                   "warmup_steps": args.warmup_steps, "seed": args.seed},
    }))


if __name__ == "__main__":
    main()
