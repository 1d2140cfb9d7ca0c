#!/usr/bin/env bash
# Benchmarks (never part of the tests).
# Usage: scripts/bench.sh core [batches reps batch] | fashion [FashionBench options] | cluster
#        | small-tables [--tables wine,iris] [--seeds 42,1,2] [--set key=value] | serve [--model DIR] [--rows N]
#        | fed-scale [--pairs 3] [--rounds 30] [--set key=value]
#        | distill [--seeds 1,2] [--temperature 1] [--alpha 0.5] [--student 32] [--teachers 256,128:1024,1024]
#        | pretrain [--seeds 1,2,3] [--subsets 60,600] [--epochs 50,20] [--pretrain-epochs 40] [--noise "masking(0.5)"]
#        | text [--out DIR] [--top N] [--epochs N] [--batch N] [--lr X] [--scaling-epochs N]
#               [--scaling-models linear,h64] [--mllib-iter N] [sparktrain train options...]
#        | categorical [--out DIR] [--top N] [--epochs N] [--variants onehot,embed] [--sklearn true|false]
#               [sparktrain train options...]
# Prints JSON lines; record the figures in docs/BENCHMARKS.md with the command that made them.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
what="${1:-core}"; shift || true
# Issue 9, executors in separate JVMs on scripts/cluster.sh (1 and 2 Workers): no mvn install, it
# submits the already built app jar (docs/CLUSTER-SCALING.md).
if [ "$what" = cluster ]; then exec "$ROOT/scripts/bench_cluster.sh" "$@"; fi
# Issue 11, small real tables with only the data section against scikit-learn's MLPClassifier
# (docs/BENCHMARKS.md): runs the CLI through scripts/sparktrain (which builds when stale).
if [ "$what" = small-tables ]; then
  ensure_deb python3-sklearn || true
  exec /usr/bin/python3 "$ROOT/scripts/small_tables.py" "$@"
fi
# Issue 14, cross-device scale: round time with 10,000 silos at C = 0.01 against 100 silos at C = 1.0
# on Synthetic(1, 1) (scripts/fed_scale.py, through scripts/sparktrain).
if [ "$what" = fed-scale ]; then exec /usr/bin/python3 "$ROOT/scripts/fed_scale.py" "$@"; fi
# Issue 12, distillation on Fashion-MNIST: teachers 784-256-128-10 and 784-1024-1024-10, a 784-32-10
# student alone and distilled from each, the same epochs (scripts/distill.py, through scripts/sparktrain).
if [ "$what" = distill ]; then exec /usr/bin/python3 "$ROOT/scripts/distill.py" "$@"; fi
# Issue 13, self-supervised pretraining on Fashion-MNIST: 784-256-128-10 on 600 and 6,000 labeled images
# (stratified), from scratch and after denoising-autoencoder pretraining on the 60,000 training images
# without labels, the same epochs (scripts/pretrain.py, through scripts/sparktrain).
if [ "$what" = pretrain ]; then exec /usr/bin/python3 "$ROOT/scripts/pretrain.py" "$@"; fi
# Issue 12, serving: a Fashion-MNIST 784-256-128-10 model (the run of scripts/run-local.sh, trained
# first when runs/fashion-mnist/model is missing, or --model DIR) exported as float32 and int8 ONNX,
# then ONNX Runtime (Java) on both files and the Spark-free Predictor on the model directory, in one
# JVM: test accuracy, size, single-row p50/p99 and batch-256 rows/s (bench/OnnxBench).
if [ "$what" = serve ]; then
  model=runs/fashion-mnist/model
  if [ "${1:-}" = --model ]; then
    if [ $# -lt 2 ] || [ ! -d "$2" ]; then echo "bench.sh serve: --model needs a saved model directory" >&2; exit 2; fi
    model="$2"; shift 2
  elif [ ! -d "$model" ]; then
    scripts/run-local.sh >&2
  fi
  out=target/serve
  mkdir -p "$out"
  scripts/sparktrain export --model "$model" --output "$out/model-float32.onnx" >&2
  scripts/sparktrain export --model "$model" --quantize int8 --output "$out/model-int8.onnx" >&2
  mvn -q -B -ntp -Dstyle.color=never compile -pl trainer,examples >&2   # the classes; the jars stay as they are
  # shellcheck disable=SC2086
  exec java $SPARK_JVM_OPTS -cp "$(module_classpath examples)" io.sparktrain.examples.bench.OnnxBench \
    --data data/fashion-mnist/test.parquet --model "onnxruntime-float32=$out/model-float32.onnx" \
    --predictor "predictor-float32=$model" --model "onnxruntime-int8=$out/model-int8.onnx" "$@"
fi
# What this machine's apt lists hold, into file $1 (apt-get update first when they are empty): the
# package metadata the text and categorical benchmarks are built from.
dumpavail() {
  if [ "$(apt-cache dumpavail 2>/dev/null | grep -c '^Package:')" = 0 ]; then
    if [ "$(id -u)" = 0 ]; then apt-get update -qq >&2 || true; fi
  fi
  apt-cache dumpavail > "$1"
}
# The value of option $1 (--name V or --name=V, the last one wins) among the remaining arguments;
# status 1 when it is absent.
opt_value() {
  local name="$1" v="" found=1
  shift
  while [ $# -gt 0 ]; do
    case "$1" in
      "$name") if [ $# -ge 2 ]; then v="$2"; found=0; shift; fi ;;
      "$name"=*) v="${1#*=}"; found=0 ;;
    esac
    shift
  done
  [ "$found" = 0 ] && printf '%s\n' "$v"
  return "$found"
}
ensure_deb libopenblas0-pthread || true
if [ "$what" = text ] || [ "$what" = categorical ]; then
  # Only this checkout's target/classes are used (module_classpath): no install into ~/.m2.
  mvn -q -B -ntp -Dstyle.color=never package -DskipTests -pl trainer,driver,examples -am >&2
else
  mvn -q -B -ntp -Dstyle.color=never install -DskipTests >&2
fi
case "$what" in
  core)
    CP="$(module_classpath examples)"
    # shellcheck disable=SC2086
    java $SPARK_JVM_OPTS -cp "$CP" io.sparktrain.examples.bench.CoreBench "$@" 2> >(grep -v "incubator" >&2)
    # Debian's python3-torch lives under /usr/bin/python3 (a pyenv python3 may shadow it).
    ensure_deb python3-torch || true
    if /usr/bin/python3 -c "import torch" 2>/dev/null; then
      OMP_NUM_THREADS=1 /usr/bin/python3 scripts/bench_torch.py --data "$(bash scripts/get-fashion-mnist.sh)" "$@"
    else
      echo "sparktrain: python3-torch not installed; skipping the PyTorch reference line" >&2
    fi
    ;;
  fashion)
    DATA="$(bash scripts/get-fashion-mnist.sh)"
    CP="$(module_classpath examples)"
    lines="$(mktemp)"
    trap 'rm -f "$lines"' EXIT
    # shellcheck disable=SC2086 # SPARK_JVM_OPTS is a list of JVM options: split on purpose
    java $SPARK_JVM_OPTS -Xmx6g -cp "$CP" io.sparktrain.examples.bench.FashionBench --data "$DATA" "$@" | tee "$lines"
    # Sync mode: the PyTorch DistributedDataParallel reference (gloo, 2 processes x 1 thread, loopback),
    # with FashionBench's --epochs, --batch (global) and --hidden when given.
    mode="$(opt_value --mode "$@" || true)"
    if [ "${mode,,}" = sync ]; then
      ensure_deb python3-torch || true
      if /usr/bin/python3 -c "import torch" 2>/dev/null; then
        ddp_args=(--data "$DATA")
        for o in epochs batch hidden; do
          if v="$(opt_value "--$o" "$@")"; then ddp_args+=("--$o" "$v"); fi
        done
        OMP_NUM_THREADS=1 /usr/bin/python3 scripts/bench_ddp.py "${ddp_args[@]}" | tee -a "$lines"
        # The comparison line: the collective engine's steady state against DDP, from this invocation.
        python3 - "$lines" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
ours = next((r for r in recs if r.get("system") == "sparktrain" and r.get("sync_engine") == "collective"), None)
ddp = next((r for r in recs if r.get("bench") == "ddp"), None)
if ours and ddp:
    print(json.dumps({"bench": "fashion", "comparison": "collective_vs_ddp", "model": ours.get("model"),
                      "collective_samples_per_s_steady": ours["samples_per_s_steady"],
                      "ddp_samples_per_s": ddp["samples_per_s"],
                      "collective_vs_ddp": ours["samples_per_s_steady"] / ddp["samples_per_s"],
                      "collective_test_accuracy": ours.get("test_accuracy"),
                      "ddp_test_accuracy": ddp.get("test_accuracy")}))
PY
      else
        echo "sparktrain: python3-torch not installed; skipping the PyTorch DDP reference line" >&2
      fi
    fi
    ;;
  text)
    # Issue 11, benchmark (a): Debian package descriptions labelled by Section (apt-cache dumpavail),
    # hashed words as LibSVM (TextCorpus: 2^16, 2^18, 2^20), then in this one invocation: sparktrain
    # (`sparktrain train`, conf/debian-text.yaml) linear softmax and one hidden layer of 64 relu at 2^18
    # for --epochs, both again at 2^16 and 2^20 for --scaling-epochs (the epoch-time ratio; the median
    # epoch after the first, or the only one), MLlib's
    # multinomial LogisticRegression (TextMllib) and scikit-learn's LogisticRegression and
    # MLPClassifier(64) on the same files. Other arguments go to every sparktrain run after the bench's
    # own, e.g. --set training.optimizer.name=lazy_adam. JSON lines, then a table and the goals.
    out=/tmp/sparktrain-text top=20 epochs=10 batch=1024 lr=0.01 scaling_epochs=2 mllib_iter=100
    scaling_models=linear,h64
    st_args=()
    while [ $# -gt 0 ]; do
      case "$1" in
        --out|--top|--epochs|--batch|--lr|--scaling-epochs|--scaling-models|--mllib-iter)
          [ $# -ge 2 ] || { echo "bench.sh text: $1 needs a value" >&2; exit 2; }
          case "$1" in
            --out) out="$2" ;; --top) top="$2" ;; --epochs) epochs="$2" ;; --batch) batch="$2" ;;
            --lr) lr="$2" ;; --scaling-epochs) scaling_epochs="$2" ;; --scaling-models) scaling_models="$2" ;;
            --mllib-iter) mllib_iter="$2" ;;
          esac
          shift 2 ;;
        *) st_args+=("$1"); shift ;;
      esac
    done
    mkdir -p "$out"
    lines="$out/lines.jsonl"
    : > "$lines"
    dumpavail "$out/dumpavail.txt"
    CP="$(module_classpath examples)"
    DCP="$(module_classpath driver)"
    # shellcheck disable=SC2086 # SPARK_JVM_OPTS is a list of JVM options: split on purpose
    java $SPARK_JVM_OPTS -Xmx4g -cp "$CP" io.sparktrain.examples.bench.TextCorpus --input "$out/dumpavail.txt" \
      --out "$out/corpus" --top "$top" 2> "$out/corpus.log" | tee -a "$lines"
    d18="$out/corpus/d18"
    # shellcheck disable=SC2086
    java $SPARK_JVM_OPTS -Xmx6g -cp "$CP" io.sparktrain.examples.bench.TextMllib --train "$d18/train.libsvm" \
      --test "$d18/test.libsvm" --features $((1 << 18)) --max-iter "$mllib_iter" 2> "$out/mllib.log" | tee -a "$lines"
    # One sparktrain run: model (linear|h64), bits, epochs; its JSON line from summary.json and metrics.jsonl.
    sparktrain_run() {
      local model="$1" bits="$2" ep="$3" hidden="[]" dir="$out/corpus/d$2" run="$out/runs/$1-d$2" t0 t1
      [ "$model" = h64 ] && hidden="[64]"
      t0="$(date +%s.%N)"
      # shellcheck disable=SC2086
      # 12 GB: the memory plan of the 2^20 x 64 model (67M parameters, Adam) is about 10 GB.
      java $SPARK_JVM_OPTS -Xmx12g -cp "$DCP" io.sparktrain.driver.Main train --config conf/debian-text.yaml \
        --set data.train="$dir/train.libsvm" --set data.test="$dir/test.libsvm" \
        --set data.validation="$dir/test.libsvm" --set "data.options={numFeatures: \"$((1 << bits))\"}" \
        --set "model.hidden=$hidden" --set training.epochs="$ep" --set training.batch_size="$batch" \
        --set training.optimizer.learning_rate="$lr" --set output.dir="$run" \
        ${st_args[@]+"${st_args[@]}"} > "$run.log" 2>&1 || { echo "sparktrain $model 2^$bits failed: $run.log" >&2; return 1; }
      t1="$(date +%s.%N)"
      python3 scripts/bench_text.py sparktrain "$run" "$model" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" | tee -a "$lines"
    }
    mkdir -p "$out/runs"
    sparktrain_run linear 18 "$epochs" || true
    sparktrain_run h64 18 "$epochs" || true
    if ensure_deb python3-sklearn && /usr/bin/python3 -c "import sklearn" 2>/dev/null; then
      OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 /usr/bin/python3 scripts/bench_text.py sklearn "$out/corpus" 18 \
        "$epochs" "$batch" "$lr" | tee -a "$lines"
    else
      echo "sparktrain: python3-sklearn not installed; skipping the scikit-learn lines" >&2
    fi
    for model in ${scaling_models//,/ }; do
      for bits in 16 20; do sparktrain_run "$model" "$bits" "$scaling_epochs" || true; done
    done
    python3 scripts/bench_text.py summary "$lines" "$out/corpus/corpus.json" | tee "$out/summary.txt"
    ;;
  categorical)
    # Issue 11, benchmark (b): the packages, labels and split of `text`, with categorical fields of the
    # metadata instead of the description (PackageTable: maintainer, priority, source, depends; parquet),
    # then in this one invocation `sparktrain train` on each of --variants: onehot (the fields as hashed
    # one-hot tokens in one SparseVector, the sparse path; conf/debian-categorical-onehot.yaml) and embed
    # (an embedding table per field; conf/debian-categorical-embed.yaml), and scikit-learn's
    # LogisticRegression on the one-hot matrix (--sklearn false skips it). Other arguments go to every
    # sparktrain run after the bench's own. JSON lines, then a table; a variant that fails gets a
    # {"system": "sparktrain_failed"} line with the log's first error, and the others still run.
    out=/tmp/sparktrain-categorical top=20 epochs="" variants=onehot,embed sklearn=true
    st_args=()
    while [ $# -gt 0 ]; do
      case "$1" in
        --out|--top|--epochs|--variants|--sklearn)
          [ $# -ge 2 ] || { echo "bench.sh categorical: $1 needs a value" >&2; exit 2; }
          case "$1" in
            --out) out="$2" ;; --top) top="$2" ;; --epochs) epochs="$2" ;; --variants) variants="$2" ;;
            --sklearn) sklearn="$2" ;;
          esac
          shift 2 ;;
        *) st_args+=("$1"); shift ;;
      esac
    done
    [ -n "$epochs" ] && st_args=(--set training.epochs="$epochs" ${st_args[@]+"${st_args[@]}"})
    mkdir -p "$out/runs"
    lines="$out/lines.jsonl"
    : > "$lines"
    dumpavail "$out/dumpavail.txt"
    CP="$(module_classpath examples)"
    DCP="$(module_classpath driver)"
    # shellcheck disable=SC2086 # SPARK_JVM_OPTS is a list of JVM options: split on purpose
    java $SPARK_JVM_OPTS -Xmx4g -cp "$CP" io.sparktrain.examples.bench.PackageTable --input "$out/dumpavail.txt" \
      --out "$out/table" --top "$top" --bits 18 2> "$out/table.log" | tee -a "$lines"
    for variant in ${variants//,/ }; do
      run="$out/runs/$variant"
      rm -rf "$run"
      t0="$(date +%s.%N)"
      # shellcheck disable=SC2086
      if java $SPARK_JVM_OPTS -Xmx6g -cp "$DCP" io.sparktrain.driver.Main train \
          --config "conf/debian-categorical-$variant.yaml" --set data.train="$out/table/train.parquet" \
          --set data.test="$out/table/test.parquet" --set data.validation="$out/table/test.parquet" \
          --set output.dir="$run" ${st_args[@]+"${st_args[@]}"} > "$run.log" 2>&1; then
        t1="$(date +%s.%N)"
        python3 scripts/bench_categorical.py sparktrain "$run" "$variant" \
          "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" | tee -a "$lines"
      else
        echo "sparktrain $variant failed: $run.log" >&2
        python3 -c 'import json, sys; print(json.dumps({"bench": "categorical", "system": "sparktrain_failed",
          "variant": sys.argv[1], "reason": sys.argv[2], "log": sys.argv[3]}))' "$variant" \
          "$(grep -m1 -iE 'error|exception|invalid|expected' "$run.log" | cut -c1-300)" "$run.log" | tee -a "$lines"
      fi
    done
    if [ "$sklearn" = true ]; then
      if ensure_deb python3-sklearn && /usr/bin/python3 -c "import sklearn" 2>/dev/null; then
        OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 /usr/bin/python3 scripts/bench_categorical.py sklearn \
          "$out/table" 18 | tee -a "$lines"
      else
        echo "sparktrain: python3-sklearn not installed; skipping the scikit-learn line" >&2
      fi
    fi
    python3 scripts/bench_categorical.py summary "$lines" "$out/table/table.json" | tee "$out/summary.txt"
    ;;
  *)
    echo "usage: scripts/bench.sh core [batches reps batch] | fashion [--mode average|sync --epochs N ...] | cluster" \
      "| small-tables [--tables wine,iris] | serve [--model DIR] | text [--epochs N ...] [sparktrain options]" \
      "| categorical [--variants onehot,embed ...] [sparktrain options]" >&2
    exit 2 ;;
esac
