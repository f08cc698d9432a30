#!/usr/bin/env bash
# The phone-loss A/B (lab/EXPERIMENTS.md, "Speech tokens that carry the phone"). Codec A (today's recipe)
# and codec B (the same plus the phone loss, --phone_weight WEIGHT) are fine-tuned from the shipped codec
# for the same steps, on the same data (the first LIMIT sentences of the demo corpus, three voices) and
# seed; the corpus is encoded with each; how much phone each one's codes carry and how intelligible its
# resynthesis is are measured; a cpu-preset GPT is trained for the same minutes on each; both speak the
# val split and lab/eval.py compare says whether B's TTS WER ratio is lower.
#
#     bash lab/phone_ab.sh                              # all of it: hours on 2 CPU cores
#     STEPS=300 WEIGHT=10 ARMS=b OUT=out/ab_w10 bash lab/phone_ab.sh codec   # one arm's codec, for a sweep
#
# Every step skips what is done and a training step resumes where it stopped: after an interruption run
# the same command again. STAGE (the first argument): codec (train and measure the codecs), all (default).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out/ab}
STEPS=${STEPS:-2000}      # codec fine-tuning steps, each arm
WEIGHT=${WEIGHT:-1}       # arm B's --phone_weight
MINUTES=${MINUTES:-60}    # GPT training minutes, each arm
LIMIT=${LIMIT:-4600}      # sentences of the corpus, each spoken by three voices
ARMS=${ARMS:-"a b"}
STAGE=${1:-all}

python dataset/phone_labels.py --limit "$LIMIT" --fill_audio
for arm in $ARMS; do
  phone_flags=()
  if [ "$arm" = b ]; then phone_flags=(--phones dataset/demo/phones --phone_weight "$WEIGHT"); fi
  resume=()
  if [ -f "$OUT/codec_$arm/last.pt" ]; then resume=(--resume); fi
  python train_tokenizer.py --init_from checkpoints/codec.pt --max_steps "$STEPS" --out_dir "$OUT/codec_$arm" \
    --val_every 500 --seed 1337 "${phone_flags[@]}" "${resume[@]}"
  [ -f "$OUT/phones_$arm.json" ] || python lab/eval.py phones --codec "$OUT/codec_$arm/codec.pt" --fit_limit 100 \
    --out "$OUT/phones_$arm.json"
  [ -f "$OUT/resynth_$arm/report.json" ] || python lab/eval.py codec --codec "$OUT/codec_$arm/codec.pt" \
    --split val --asr --out_dir "$OUT/resynth_$arm"
  if [ "$STAGE" = codec ]; then continue; fi
  python dataset/encode_corpus.py --codec "$OUT/codec_$arm/codec.pt" --out_dir "$OUT/codes_$arm"
  resume=()
  if [ -f "$OUT/gpt_$arm/last.pt" ]; then resume=(--resume); fi
  python train_pretrain.py --data "$OUT/codes_$arm" --preset cpu --device cpu --max_minutes "$MINUTES" \
    --out_dir "$OUT/gpt_$arm" --seed 1337 "${resume[@]}"
  [ -f "$OUT/tts_$arm/report.json" ] || python lab/eval.py tts --split val --asr \
    --checkpoint "$OUT/gpt_$arm/model.pt" --out_dir "$OUT/tts_$arm"
done
if [ "$STAGE" = all ] && [ -f "$OUT/tts_a/report.json" ] && [ -f "$OUT/tts_b/report.json" ]; then
  python lab/eval.py compare "$OUT/tts_a" "$OUT/tts_b"
fi
