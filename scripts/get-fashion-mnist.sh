#!/usr/bin/env bash
# Gets Fashion-MNIST and converts it to Parquet under data/fashion-mnist/{train,test}.parquet.
# Source: Debian's dataset-fashion-mnist (installed when missing and possible), else the official
# download (https://github.com/zalandoresearch/fashion-mnist). Prints the Parquet directory.
set -euo pipefail
source "$(dirname "$0")/env.sh"
OUT="${SPARKTRAIN_DATA:-$ROOT/data}/fashion-mnist"
if [ -d "$OUT/train.parquet" ] && [ -d "$OUT/test.parquet" ]; then echo "$OUT"; exit 0; fi
SRC=/usr/share/datasets/fashion-mnist
if [ ! -f "$SRC/train-images-idx3-ubyte.gz" ]; then
  ensure_deb dataset-fashion-mnist >&2 || true
fi
if [ ! -f "$SRC/train-images-idx3-ubyte.gz" ]; then
  SRC="$OUT/idx"; mkdir -p "$SRC"
  base=http://fashion-mnist.s3-website.eu-central-1.amazonaws.com
  for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    [ -f "$SRC/$f.gz" ] && continue
    if ! curl -fsSL --max-time 120 -o "$SRC/$f.gz.part" "$base/$f.gz"; then
      rm -f "$SRC/$f.gz.part"
      echo "sparktrain: cannot get Fashion-MNIST: Debian's dataset-fashion-mnist is not installed (apt-get install" \
           "dataset-fashion-mnist, as root) and $base/$f.gz could not be downloaded" >&2
      exit 1
    fi
    mv "$SRC/$f.gz.part" "$SRC/$f.gz"
  done
fi
mkdir -p "$OUT"
[ -f "$ROOT/examples/target/classes/io/sparktrain/examples/FashionMnist.class" ] || (cd "$ROOT" && mvn -q -B -ntp install -DskipTests >&2)
CP="$(module_classpath examples)"
# shellcheck disable=SC2086
java $SPARK_JVM_OPTS -Xmx4g -cp "$CP" io.sparktrain.examples.FashionMnist "$SRC" "$OUT" >&2
echo "$OUT"
