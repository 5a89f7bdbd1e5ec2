#!/usr/bin/env bash
# Visual defect inspection end to end, on generated surfaces (a few minutes on 2 cores):
# pretrain on brushed metal, fine-tune on woven fabric with few labelled images and rare
# defects, audit, train with the doctor, explain with Grad-CAM against the true defect
# masks, attack, compress.   Usage: examples/defects.sh [OUT_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-runs/defects}
# trainwell on PATH, else the one `make` installed in the repository's virtual environment
tw=${TRAINWELL:-$(command -v trainwell || echo "$here/../.venv/bin/trainwell")}

echo "== 1. pretrain a resnet on brushed metal (3000 images)"
$tw fit "$here/defects/pretrain.yaml" --out "$out" --json > /dev/null
pre=$(ls -d "$out"/defects-pretrain-2* | tail -1)
echo "$pre"

echo "== 2. audit the target family: woven fabric, 400 images, rare defects"
$tw audit "$here/defects/finetune.yaml" --out "$out"

echo "== 3. fine-tune from the pretrained run, with the doctor on"
$tw fit "$here/defects/finetune.yaml" --set model.init_from="$pre" --out "$out"
run=$(ls -d "$out"/defects-finetune-2* | tail -1)

echo "== 4. explain with Grad-CAM, judged against the true defect masks"
$tw explain "$run" --method gradcam

echo "== 5. attack"
$tw attack "$run" --eps 0.01,0.03

echo "== 6. compress"
$tw compress "$run" --quantize int8

$tw report "$run" > /dev/null
echo "report: $run/report.html"
