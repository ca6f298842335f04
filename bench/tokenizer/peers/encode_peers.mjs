#!/usr/bin/env node
// Single-thread encode throughput of the peer tokenizers. Prints one JSON line per tokenizer:
//   {"tool":"...","tokenizer":"...","mb":M,"seconds":S,"mb_per_s":R,"tokens":T}
// (MB = 10^6 bytes of UTF-8 input.)
//
// usage: node encode_peers.mjs TEXT_FILE GPT2_DIR [HF_TRAINED_TOKENIZER_JSON]
//   TEXT_FILE  UTF-8 text to encode (run.sh passes the corpus's first 20 MB)
//   GPT2_DIR   folder with GPT-2's encoder.json + vocab.bpe (tests/fixtures/tokenizer/gpt2)
//
// The text is cut into chunks of about 1 MB at line ends. Each chunk is encoded with one
// call, one call after another, on one thread: RAYON_NUM_THREADS=1 / TOKENIZERS_PARALLELISM=false
// for HF (a single encode() does not use rayon anyway); tiktoken's WASM build is
// single-threaded. The timings leave out reading the file and building the tokenizer.
// Special-token text is encoded as ordinary text: tiktoken encode(chunk, [], []); the HF
// GPT-2 tokenizer built here has no added tokens.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';

process.env.RAYON_NUM_THREADS ??= '1';
process.env.TOKENIZERS_PARALLELISM ??= 'false';
const require = createRequire(import.meta.url);
const hf = require('tokenizers');
const { get_encoding } = require('tiktoken');

const [textFile, gpt2Dir, hfTrained] = process.argv.slice(2);
if (!textFile || !gpt2Dir) {
  console.error('usage: node encode_peers.mjs TEXT_FILE GPT2_DIR [HF_TRAINED_TOKENIZER_JSON]');
  process.exit(2);
}
const text = fs.readFileSync(textFile, 'utf8');
const mb = Buffer.byteLength(text, 'utf8') / 1e6;
const chunks = [];
for (let i = 0; i < text.length; ) {
  let j = Math.min(text.length, i + 1_000_000);
  if (j < text.length) {
    const nl = text.indexOf('\n', j);
    j = nl < 0 ? text.length : nl + 1;
  }
  chunks.push(text.slice(i, j));
  i = j;
}

function report(tool, tokenizer, seconds, tokens) {
  console.log(JSON.stringify({
    tool, tokenizer, mb: Number(mb.toFixed(2)), seconds: Number(seconds.toFixed(3)),
    mb_per_s: Number((mb / seconds).toFixed(2)), tokens,
  }));
}

async function benchHf(label, tokenizer) {
  let tokens = 0;
  await tokenizer.encode('warm up'); // first call sets up the async task machinery
  const t0 = performance.now();
  for (const c of chunks) tokens += (await tokenizer.encode(c, null, { addSpecialTokens: false })).getLength();
  report('hf-tokenizers', label, (performance.now() - t0) / 1000, tokens);
}

// HF tokenizers with GPT-2's vocabulary and merges.
{
  const model = await hf.BPE.fromFile(path.join(gpt2Dir, 'encoder.json'), path.join(gpt2Dir, 'vocab.bpe'));
  const tok = new hf.Tokenizer(model);
  tok.setPreTokenizer(hf.byteLevelPreTokenizer(false, true));
  await benchHf('gpt2', tok);
}
// HF tokenizers with the tokenizer train_hf.mjs trained, if given.
if (hfTrained && fs.existsSync(hfTrained)) await benchHf('trained', hf.Tokenizer.fromFile(hfTrained));

// tiktoken (OpenAI, Rust compiled to WASM), gpt2 = r50k_base.
{
  const enc = get_encoding('gpt2');
  try {
    enc.encode('warm up', [], []);
    let tokens = 0;
    const t0 = performance.now();
    for (const c of chunks) tokens += enc.encode(c, [], []).length;
    report('tiktoken', 'gpt2', (performance.now() - t0) / 1000, tokens);
  } finally {
    enc.free();
  }
}
