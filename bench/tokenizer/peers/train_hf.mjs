#!/usr/bin/env node
// Trains a byte-level BPE with Hugging Face `tokenizers` (Node bindings) and prints one JSON line:
//   {"tool":"hf-tokenizers","seconds":S,"peak_rss_mb":M,"vocab_size":V,...}
//
// usage: node train_hf.mjs CORPUS OUT_DIR [VOCAB]
//
// Limitation of the Node bindings (tokenizers@0.23.2): Tokenizer.train(files) always uses
// the model's DEFAULT trainer (BpeTrainer::default(): vocab_size 30000, min_frequency 0, no
// special tokens, no initial alphabet). The bindings expose no trainer options. Therefore:
//   - the vocabulary size is fixed at 30000. If VOCAB differs, the JSON line says so
//     ("vocab_note") and run.sh flags the row;
//   - min_frequency is 0 rather than 2. On a 100+ MB corpus the 30000th merge occurs far
//     more than twice, so the merges come out the same;
//   - <|endoftext|> is added as a special (added) token after training, so it gets the first
//     id after the learned vocabulary (30000). Adding it before training would give it id 0,
//     which then clashes with the learned id 0.
// Pre-tokenizer: ByteLevel(add_prefix_space=false, use_regex=true), the GPT-2 regex.
// Threads: rayon uses every core unless RAYON_NUM_THREADS is set.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import hf from 'tokenizers'; // CommonJS (napi-rs) module: default import only

const { BPE, Tokenizer, byteLevelPreTokenizer } = hf;

const [corpus, outDir, vocabArg] = process.argv.slice(2);
if (!corpus || !outDir) {
  console.error('usage: node train_hf.mjs CORPUS OUT_DIR [VOCAB]');
  process.exit(2);
}
const wanted = Number(vocabArg ?? 30000);
const HF_DEFAULT_VOCAB = 30000;

const tokenizer = new Tokenizer(BPE.empty());
tokenizer.setPreTokenizer(byteLevelPreTokenizer(false, true));

const t0 = performance.now();
tokenizer.train([corpus]);
const seconds = (performance.now() - t0) / 1000;
tokenizer.addSpecialTokens(['<|endoftext|>']);

fs.mkdirSync(outDir, { recursive: true });
const jsonPath = path.join(outDir, 'tokenizer.json');
tokenizer.save(jsonPath);
// The Node bindings have no ByteLevel decoder constructor, so add it to the saved file
// (the Python library writes the same thing).
const saved = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
saved.decoder ??= { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
fs.writeFileSync(jsonPath, JSON.stringify(saved));

const result = {
  tool: 'hf-tokenizers',
  version: '0.23.2',
  seconds: Number(seconds.toFixed(2)),
  // ru_maxrss of this process, in KiB on Linux.
  peak_rss_mb: Number((process.resourceUsage().maxRSS / 1024).toFixed(1)),
  vocab_size: tokenizer.getVocabSize(true),
  threads: process.env.RAYON_NUM_THREADS ? Number(process.env.RAYON_NUM_THREADS) : 'all',
};
if (wanted !== HF_DEFAULT_VOCAB) {
  result.vocab_note = `asked for ${wanted}, but the Node bindings can only train the default ${HF_DEFAULT_VOCAB}`;
}
console.log(JSON.stringify(result));
