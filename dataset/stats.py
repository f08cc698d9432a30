"""
Print a corpus's real totals: sentences, distinct words, utterances and hours per voice and split.

    python dataset/stats.py                    # the embedded demo corpus
    python dataset/stats.py --data /path/LJSpeech-1.1
"""
import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from any folder

from dataset.readers import CorpusError, read_corpus


def distinct_words(texts):
    """Lower-cased words with punctuation stripped from their edges (apostrophes inside are kept)."""
    return {w for t in texts for w in (re.sub(r"^\W+|\W+$", "", w.lower()) for w in t.split()) if w}


def corpus_totals(corpus):
    """A dict of totals, and a table of (speaker, split) -> [utterances, seconds]."""
    table = defaultdict(lambda: [0, 0.0])
    for u in corpus:
        table[u.speaker, u.split][0] += 1
        table[u.speaker, u.split][1] += u.duration
    texts = {u.text for u in corpus}
    totals = dict(utterances=len(corpus), sentences=len(texts), distinct_words=len(distinct_words(texts)),
                  hours=sum(u.duration for u in corpus) / 3600, skipped=len(corpus.skipped))
    return totals, dict(table)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="demo", help="'demo' or a corpus folder any reader knows")
    args = parser.parse_args()
    try:
        corpus = read_corpus(args.data)
    except CorpusError as e:
        sys.exit(f"error: {e}")
    totals, table = corpus_totals(corpus)
    print(corpus.name)
    print(f"{totals['sentences']} distinct sentences, {totals['distinct_words']} distinct words, "
          f"{totals['utterances']} utterances, {totals['hours']:.2f} hours")
    print(f"{'speaker':<12}{'split':<8}{'utterances':>11}{'hours':>8}{'mean s':>8}")
    for (speaker, split), (n, seconds) in sorted(table.items()):
        print(f"{speaker:<12}{split:<8}{n:>11}{seconds / 3600:>8.2f}{seconds / n:>8.2f}")
    if corpus.skipped:
        print(f"skipped {len(corpus.skipped)} (audio missing or unreadable), e.g. {corpus.skipped[0]}")


if __name__ == "__main__":
    main()
