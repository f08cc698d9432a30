#!/usr/bin/env bash
# The phone-loss A/B (lab/EXPERIMENTS.md, "Speech tokens that carry the phone"). Codec A (today's recipe)
# and codec B (the same plus the phone loss, --phone_weight WEIGHT) are fine-tuned from the shipped codec
# for the same steps, on the same data (the first LIMIT sentences of the demo corpus, three voices) and
# seed; the corpus is encoded with each; how much phone each one's codes carry and how intelligible its
# resynthesis is are measured; a cpu-preset GPT is trained for the same minutes on each; both speak the
# val split and lab/eval.py compare says whether B's TTS WER ratio is lower.
#
# The two arms run side by side, one process and one thread each, stage by stage: both see the same
# machine at the same time, so "the same minutes" means the same compute even where the machine's
# speed drifts during the run (it does, on shared cores).
#
#     bash lab/phone_ab.sh                              # all of it: about 2 hours on 2 CPU cores
#     STEPS=300 WEIGHT=10 ARMS=b OUT=out/ab_w10 bash lab/phone_ab.sh codec   # one arm's codec, for a sweep
#
# Every step skips what is done and a training step resumes where it stopped: after an interruption run
# the same command again. STAGE (the first argument): codec (train and measure the codecs), all (default).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out/ab}
STEPS=${STEPS:-1000}      # codec fine-tuning steps, each arm
WEIGHT=${WEIGHT:-10}      # arm B's --phone_weight (the sweep in the lab notes chose it)
MINUTES=${MINUTES:-60}    # GPT training minutes, each arm
LIMIT=${LIMIT:-4600}      # sentences of the corpus, each spoken by three voices
ARMS=${ARMS:-"a b"}
STAGE=${1:-all}
export OMP_NUM_THREADS=1  # one core per arm

each_arm() {  # run "$@" once per arm (ARM set), side by side; fail if any of them fails
  local pids=() arm
  for arm in $ARMS; do ARM=$arm "$@" & pids+=($!); done
  for pid in "${pids[@]}"; do wait "$pid"; done
}

train_codec() {
  local flags=(--init_from checkpoints/codec.pt --max_steps "$STEPS" --out_dir "$OUT/codec_$ARM" --val_every 500
               --seed 1337)
  if [ "$ARM" = b ]; then flags+=(--phones dataset/demo/phones --phone_weight "$WEIGHT"); fi
  if [ -f "$OUT/codec_$ARM/last.pt" ]; then flags+=(--resume); fi
  python train_tokenizer.py "${flags[@]}" > "$OUT/codec_$ARM.log" 2>&1
}

measure_codec() {
  [ -f "$OUT/phones_$ARM.json" ] || python lab/eval.py phones --codec "$OUT/codec_$ARM/codec.pt" --fit_limit 100 \
    --out "$OUT/phones_$ARM.json" > "$OUT/phones_$ARM.log" 2>&1
  [ -f "$OUT/resynth_$ARM/report.json" ] || python lab/eval.py codec --codec "$OUT/codec_$ARM/codec.pt" \
    --split val --asr --asr_workers 1 --out_dir "$OUT/resynth_$ARM" > "$OUT/resynth_$ARM.log" 2>&1
}

encode() {
  python dataset/encode_corpus.py --codec "$OUT/codec_$ARM/codec.pt" --out_dir "$OUT/codes_$ARM" \
    > "$OUT/encode_$ARM.log" 2>&1
}

train_gpt() {
  local resume=()
  if [ -f "$OUT/gpt_$ARM/last.pt" ]; then resume=(--resume); fi
  python train_pretrain.py --data "$OUT/codes_$ARM" --preset cpu --device cpu --max_minutes "$MINUTES" \
    --out_dir "$OUT/gpt_$ARM" --seed 1337 "${resume[@]}" > "$OUT/gpt_$ARM.log" 2>&1
}

speak() {
  [ -f "$OUT/tts_$ARM/report.json" ] || python lab/eval.py tts --split val --asr --asr_workers 1 \
    --checkpoint "$OUT/gpt_$ARM/model.pt" --out_dir "$OUT/tts_$ARM" > "$OUT/tts_$ARM.log" 2>&1
}

mkdir -p "$OUT"
python dataset/phone_labels.py --limit "$LIMIT" --fill_audio
each_arm train_codec
if [ "$STAGE" = codec ]; then each_arm measure_codec; exit 0; fi
each_arm encode
each_arm measure_codec
each_arm train_gpt
each_arm speak
if [ -f "$OUT/tts_a/report.json" ] && [ -f "$OUT/tts_b/report.json" ]; then
  python lab/eval.py compare "$OUT/resynth_a" "$OUT/resynth_b"
  python lab/eval.py compare "$OUT/tts_a" "$OUT/tts_b"
fi
