# Training-throughput benchmark configurations, shared by the plain-PyTorch reference
# (bench/train/pytorch_reference.py) and the C++ trainer. Source this file:
#
#   . bench/train/configs.sh
#   /usr/bin/python3 bench/train/pytorch_reference.py $(bench_python_args tiny) --steps 12
#
# Each config is a set of BENCH_<NAME>_<KEY> variables. Unset keys take the dense plugin's
# defaults: n_kv_heads = n_heads, ffn_hidden = 64 * ceil(8/3 * d_model / 64) (704 for
# d_model 256, 1408 for 512), tied embeddings, rope_base 10000, norm_eps 1e-5, init_std 0.02.
# shellcheck shell=bash

BENCH_CONFIGS="tiny small"

BENCH_TINY_D_MODEL=256
BENCH_TINY_LAYERS=4
BENCH_TINY_HEADS=4
BENCH_TINY_SEQ=256
BENCH_TINY_BATCH=16
BENCH_TINY_VOCAB=4096

BENCH_SMALL_D_MODEL=512
BENCH_SMALL_LAYERS=8
BENCH_SMALL_HEADS=8
BENCH_SMALL_SEQ=512
BENCH_SMALL_BATCH=8
BENCH_SMALL_VOCAB=4096

# bench_get <config> <KEY>: the value of BENCH_<CONFIG>_<KEY>, e.g. bench_get tiny D_MODEL.
bench_get() {
  local var="BENCH_${1^^}_${2^^}"
  if [[ -z "${!var+x}" ]]; then
    echo "configs.sh: no $var (configs: $BENCH_CONFIGS)" >&2
    return 1
  fi
  printf '%s\n' "${!var}"
}

# bench_python_args <config>: the model/batch flags of pytorch_reference.py for a config.
bench_python_args() {
  local c=$1
  printf -- '--d-model %s --layers %s --heads %s --seq %s --batch %s --vocab %s\n' \
    "$(bench_get "$c" D_MODEL)" "$(bench_get "$c" LAYERS)" "$(bench_get "$c" HEADS)" \
    "$(bench_get "$c" SEQ)" "$(bench_get "$c" BATCH)" "$(bench_get "$c" VOCAB)"
}
