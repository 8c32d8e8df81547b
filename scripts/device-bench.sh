#!/usr/bin/env bash
# Runs the benchmarks on the GPU machine of the `device` tool, writing JSON and logs under $OUT.
# Here first: `npm install && node scripts/bundle.mjs --gpu && ../shared/gpu/prepare.sh`; then a
# device run with carry [".gpu"] and the command `bash scripts/device-bench.sh [part …]`.
# Parts (default: kernels rollout step encode), each under its own time limit so one slow part
# cannot use up a 10-minute call:
#   kernels  `bench`: 4-bit matmuls vs tfjs, copy roofline, every decode GEMV layout (gemvShape choice)
#   rollout  `bench-rollout`: G = 1, 8, 16 at prompt 128, completion 256, with the per-part breakdown
#   step     `bench-step --profile`: one GRPO step by phase, per-kernel profile, peak GPU bytes
#   step3    `bench-step --steps 3`: the GRPO step by phase, without the profile
#   encode   `bench-encode`: CPU time to encode a decode step on that machine's CPU
#   scaling  `bench-rollout --no-breakdown` over G = 1…32 × completion 128…1024 (the scaling table)
#   nosubgroups  `bench --disable subgroups --no-peer`: the kernels on their no-subgroup paths (issue #9.5)
#   check    `bench-check` (and with subgroups off): the matmul kernels vs the CPU reference on this GPU
#   cold     `bench --cold-only`: the decode GEMVs with weights out of L2, GPU-timed, every layout and steps per trip
#   rowlane  `bench --cold-only --rowlane`: gate|up at 4 and 8 rows of x (cold, GPU-timed), the default against the lane-group GEMV and every row-lane layout
#   staged   the staged GEMV (x in workgroup memory; default for gate|up and q|k|v at one row of x), what decides first: `bench-rollout --g 1 --choices staged` (the step pass by choice), `bench-check --only staged`, `bench --stream --m 1` (every body at one row of x)
#   fma      `bench --fma-peak`: the f32 multiply-add rate through WGSL with no memory traffic (raw fma chains, the GEMV inner loops)
#   f16      the GEMVs summing their products in f16 (shader-f16: on NVIDIA Vulkan through BENCH_GPU_FLAGS): `bench --fma-peak` (f32 and f16 inner loops), `bench --stream --stream-set f16 --m 8,16`, `bench-rollout --g 8,16 --choices f16`
#   checkf16 `bench-check --only f16`: the f16 GEMVs against the CPU reference (relative error ≤ 5e-3)
#   mma      the q4 matmuls on subgroup matrices (tensor cores; f16 inputs): `bench --stream --stream-set mma --m 16,8`, `bench-rollout --g 16,8 --choices mma`
#   checkmma `bench-check --only mma`: the subgroup-matrix matmul against the CPU reference (relative error ≤ 5e-3)
#   red      the GEMVs' reduction array sized to its use or 8 KiB always: `bench --stream --stream-set red --m 1`, `bench-rollout --g 1 --choices red`
#   red8     `bench-rollout --g 8 --choices red`
#   mmasgs   the subgroup-matrix matmul in 128-thread workgroups: `bench-check --only mma`, `bench --mma-waves`, `bench --stream --stream-set mma --m 16`, `bench-rollout --g 16 --choices mmasgs`
#   attone   the decode attention in one dispatch: `bench-check --only attone` (every lane layout), `bench --stream --stream-set l2 --m 1` (the one-row GEMVs with their weights in L2 or not), `bench-rollout --g 1,8,16 --choices attone` (the step pass split and merged or in one dispatch, by layout)
#   attone=N[,LK,KU,WG] `bench-rollout --no-breakdown` at G = 1, 8, 16, 32 and `bench-encode --g 1,16` with the attention in one dispatch up to N rows (lanes a key, keys a trip, threads)
#   rollouts `bench-rollout --no-breakdown` at G = 1, 8, 16, 32 (prompt 128, completion 256)
#   rowlane=N `bench-rollout --no-breakdown` and `bench-step --steps 3` with the row-lane GEMV from N rows of x (N,M: N to M rows; Infinity: never)
#   norm     `bench-rollout` with only the fused-norm choices in the breakdown (rows of x fused; Σx² in the walk or a workgroup prologue)
#   norm=N,P[,M] `bench-rollout --no-breakdown` and `bench-step --steps 3` with the norm fused up to N rows of x (gate|up: M, default N), Σx² from the prologue from P rows
#   swiglu=S `bench-rollout --no-breakdown` and `bench-step --steps 3` with the gate|up GEMV storing silu(gate)·up (on) or the SwiGLU kernel (off)
#   fusion=F `bench-rollout --no-breakdown` and `bench-step` with decode fusion F (none norm swiglu both rope all)
#   step4=N  `bench-rollout --no-breakdown` and `bench-step` with 4-weight GEMV steps from N rows of x (Infinity: never)
#   fold=S   `bench-rollout --no-breakdown` and `bench-step` with the LoRA term summed by the GEMV lanes (on) or in the epilogue (off)
#   rowgrid=S `bench-rollout` (with the breakdown) and `bench-step` with the LoRA u GEMVs a workgroup row per row of x (on) or not (off)
#   reuse=S  `bench-step --steps 3` with the rollout saving the layers' inputs for the policy pass (on) or the layers run again (off)
#   splitk=S `bench-step --steps 3` with training's small-grid tiled matmuls split over K (on), not (off), or into about S workgroups
#   dkvkeys=N `bench-step --steps 3` with N keys (1, 2, 4) a dk/dv workgroup of the attention backward
#   dkvsplit=S `bench-step --steps 3` with the dk/dv of keys with more than S (query, head) pairs split over workgroups (off: never)
#   savefused=S `bench-step --steps 3` with the rollout's saved rows stored by the down GEMVs (on) or scattered (off)
set -uo pipefail
cd "$(dirname "$0")/.."
source .gpu/enter.sh
OUT="${OUT:-./out}"
mkdir -p "$OUT"
run() { # name, seconds, args…
  local name=$1 secs=$2; shift 2
  echo "== $name ($*)"
  timeout "$secs" node .gpu/tabzero.mjs "$@" 2>&1 | tee "$OUT/$name.log" | tail -25
  echo "== $name: exit ${PIPESTATUS[0]}"
}
# the GPU's clocks, power and use every 0.5 s (a GPU clocks down within a second of low use: read
# timings next to this)
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu,utilization.gpu --format=csv -lms 500 > "$OUT/clocks.csv" 2>&1 &
  trap 'kill $! 2>/dev/null' EXIT
fi
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(kernels rollout step encode)
for p in "${parts[@]}"; do
  case "$p" in
    kernels) run kernels 150 bench --json "$OUT/kernels.json" ;;
    rollout) run rollout 240 bench-rollout --json "$OUT/rollout.json" ;;
    step) run step 150 bench-step --steps 3 --profile --json "$OUT/step.json" ;;
    step3) run step3 120 bench-step --steps 3 --json "$OUT/step3.json" ;;
    encode) run encode 60 bench-encode --json "$OUT/encode.json" ;;
    scaling) run scaling 420 bench-rollout --no-breakdown --g 1,4,8,16,32 --completion 128,512,1024 --json "$OUT/scaling.json" ;;
    check) run check 120 bench-check; run check-nosubgroups 120 bench-check --disable subgroups ;;
    cold) run cold 120 bench --cold-only --no-peer --json "$OUT/cold.json" ;;
    fma) run fma 60 bench --fma-peak --json "$OUT/fma.json" ;;
    rowlane) run rowlane 150 bench --cold-only --rowlane --no-peer --json "$OUT/rowlane.json" ;;
    staged) run rollout-staged 200 bench-rollout --g 1 --choices staged --json "$OUT/rollout-staged.json"
      run check-staged 90 bench-check --only staged
      run stream-staged 150 bench --stream --m 1 --json "$OUT/stream-staged.json" ;;
    f16) run fma 60 bench --fma-peak --json "$OUT/fma.json"
      run stream-f16 200 bench --stream --stream-set f16 --m 8,16 --json "$OUT/stream-f16.json"
      run rollout-f16 240 bench-rollout --g 8,16 --choices f16 --json "$OUT/rollout-f16.json" ;;
    checkf16) run check-f16 150 bench-check --only f16 ;;
    mma) run stream-mma 200 bench --stream --stream-set mma --m 16,8 --json "$OUT/stream-mma.json"
      run rollout-mma 240 bench-rollout --g 16,8 --choices mma --json "$OUT/rollout-mma.json" ;;
    checkmma) run check-mma 120 bench-check --only mma ;;
    red) run stream-red 150 bench --stream --stream-set red --m 1 --json "$OUT/stream-red.json"
      run rollout-red 200 bench-rollout --g 1 --choices red --json "$OUT/rollout-red.json" ;;
    red8) run rollout-red8 150 bench-rollout --g 8 --choices red --json "$OUT/rollout-red8.json" ;;
    mmasgs) run check-mma 150 bench-check --only mma
      run waves 150 bench --mma-waves --json "$OUT/waves.json"
      run stream-mma 150 bench --stream --stream-set mma --m 16 --json "$OUT/stream-mma.json"
      run rollout-mmasgs 200 bench-rollout --g 16 --choices mmasgs --json "$OUT/rollout-mmasgs.json" ;;
    attone) run check-attone 120 bench-check --only attone
      run stream-l2 120 bench --stream --stream-set l2 --m 1 --json "$OUT/stream-l2.json"
      run rollout-attone 240 bench-rollout --g 1,8,16 --choices attone --json "$OUT/rollout-attone.json" ;;
    attone=*) f=${p#attone=}
      run "rollouts-attone-$f" 200 bench-rollout --no-breakdown --g 1,8,16,32 --attention-one "$f" --json "$OUT/rollouts-attone-$f.json"
      run "encode-attone-$f" 120 bench-encode --g 1,16 --iters 50 --attention-one "${f%%,*}" --json "$OUT/encode-attone-$f.json" ;;
    rollouts) run rollouts 200 bench-rollout --no-breakdown --g 1,8,16,32 --json "$OUT/rollouts.json" ;;
    rowlane=*) n=${p#rowlane=}
      run "rollout-rl-$n" 120 bench-rollout --no-breakdown --gemv-rowlane-rows "$n" --json "$OUT/rollout-rl-$n.json"
      run "step-rl-$n" 120 bench-step --steps 3 --gemv-rowlane-rows "$n" --json "$OUT/step-rl-$n.json" ;;
    norm) run rollout-norm 240 bench-rollout --choices norm --json "$OUT/rollout-norm.json" ;;
    norm=*) f=${p#norm=}
      run "rollout-norm-$f" 120 bench-rollout --no-breakdown --norm "$f" --json "$OUT/rollout-norm-$f.json"
      run "step-norm-$f" 120 bench-step --steps 3 --norm "$f" --json "$OUT/step-norm-$f.json" ;;
    swiglu=*) f=${p#swiglu=}
      run "rollout-swiglu-$f" 120 bench-rollout --no-breakdown --swiglu-store "$f" --json "$OUT/rollout-swiglu-$f.json"
      run "step-swiglu-$f" 120 bench-step --steps 3 --swiglu-store "$f" --json "$OUT/step-swiglu-$f.json" ;;
    fusion=*) f=${p#fusion=}
      run "rollout-$f" 120 bench-rollout --no-breakdown --fusion "$f" --json "$OUT/rollout-$f.json"
      run "step-$f" 120 bench-step --steps 3 --fusion "$f" --json "$OUT/step-$f.json" ;;
    step4=*) n=${p#step4=}
      run "rollout-s4-$n" 120 bench-rollout --no-breakdown --gemv-step4-rows "$n" --json "$OUT/rollout-s4-$n.json"
      run "step-s4-$n" 120 bench-step --steps 3 --gemv-step4-rows "$n" --json "$OUT/step-s4-$n.json" ;;
    fold=*) f=${p#fold=}
      run "rollout-fold-$f" 120 bench-rollout --no-breakdown --lora-fold "$f" --json "$OUT/rollout-fold-$f.json"
      run "step-fold-$f" 120 bench-step --steps 3 --lora-fold "$f" --json "$OUT/step-fold-$f.json" ;;
    rowgrid=*) f=${p#rowgrid=}
      run "rollout-rowgrid-$f" 150 bench-rollout --dense-row-grid "$f" --json "$OUT/rollout-rowgrid-$f.json"
      run "step-rowgrid-$f" 120 bench-step --steps 3 --dense-row-grid "$f" --json "$OUT/step-rowgrid-$f.json" ;;
    reuse=*) f=${p#reuse=}
      run "step-reuse-$f" 120 bench-step --steps 3 --rollout-reuse "$f" --json "$OUT/step-reuse-$f.json" ;;
    splitk=*) f=${p#splitk=}
      run "step-splitk-$f" 120 bench-step --steps 3 --split-k "$f" --json "$OUT/step-splitk-$f.json" ;;
    dkvkeys=*) f=${p#dkvkeys=}
      run "step-dkvkeys-$f" 120 bench-step --steps 3 --dkv-keys "$f" --json "$OUT/step-dkvkeys-$f.json" ;;
    dkvsplit=*) f=${p#dkvsplit=}
      run "step-dkvsplit-$f" 120 bench-step --steps 3 --dkv-split "$f" --json "$OUT/step-dkvsplit-$f.json" ;;
    savefused=*) f=${p#savefused=}
      run "step-savefused-$f" 120 bench-step --steps 3 --save-fused "$f" --json "$OUT/step-savefused-$f.json" ;;
    nosubgroups) run nosubgroups 150 bench --disable subgroups --no-peer --json "$OUT/kernels-nosubgroups.json" ;;
    *) echo "unknown part '$p' (kernels rollout step step3 encode scaling nosubgroups check cold rowlane staged f16 checkf16 mma checkmma red red8 mmasgs attone attone=N rollouts fma rowlane=N norm norm=N,P swiglu=S fusion=F step4=N fold=S rowgrid=S reuse=S splitk=S dkvkeys=N dkvsplit=S savefused=S)"; exit 2 ;;
  esac
done
