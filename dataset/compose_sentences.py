"""
Compose the demo corpus's English sentences, dataset/demo/sentences.txt, from the word lists,
sentence templates and hand-written sentences in dataset/sentence_parts.txt.

    python dataset/compose_sentences.py                   # writes dataset/demo/sentences.txt
    python dataset/compose_sentences.py --out /tmp/s.txt --n 2500
    python dataset/compose_sentences.py --check dataset/demo/sentences.txt   # only validate a file

The sentences are spoken by the Festival speech synthesizer (dataset/make_demo.py) to make a small
text-to-speech corpus, so they are everyday, grammatical English with a wide vocabulary: numbers as
words and as digits, names of people and places, questions, exclamations and ordinary punctuation,
but only the characters Festival reads reliably (ASCII letters, digits, space and . , ? ! ' : ; $).

Every template slot draws from a deck (a word list of one kind: fruits, tools, verb phrases ...) that is
shuffled and dealt without replacement, so every list entry is used before any repeats. The output is
deterministic (a fixed seed, and no iteration over sets) and shuffled, so that any contiguous slice of
lines (the test and val splits are the first lines) is varied. Before writing, the script checks the
corpus against its brief and exits with a one-line error if a requirement fails.
"""
import argparse
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from any folder

from dataset.files import write_atomic  # noqa: E402

SEED = 1234
BATCH = 2300  # sentences per shuffled batch: the first demo corpus was exactly one batch
DEFAULT_OUT = Path(__file__).resolve().parent / "demo" / "sentences.txt"

# What the corpus must satisfy (checked by --check and after every generation).
MIN_SENTENCES = 2200
MIN_DISTINCT_WORDS = 3000
MIN_WORDS, MAX_WORDS = 1, 25  # 3 to 25 in every batch but the short one (SHORT_BATCH)
MIN_SHARE = {"questions": 0.10, "exclamations": 0.05, "with_digits": 0.10}


def _items(text):
    """Comma- or newline-separated entries (an entry may hold spaces), in order, without repeats."""
    entries = (" ".join(e.split()) for e in re.split(r"[,\n]", text))
    return list(dict.fromkeys(e for e in entries if e))


def _lines(text):
    return [line.strip() for line in text.splitlines() if line.strip()]


# ----------------------------------------------------------------------------------------------------
# Word lists, templates and hand-written sentences, read from dataset/sentence_parts.txt. Each deck holds
# words of one kind so that a template slot gets words that make sense there (foods in eating sentences,
# tools in fixing sentences). Mass nouns and countable nouns are kept apart because they take different
# articles and plurals.
#
# Templates: {deck} takes the next word of a deck, {deck2} a second one in the same sentence, and a
# suffix inflects it: .a (with a or an), .pl (plural), .cap (title case), .most (superlative), and for
# verb phrases .s (third person), .past, .pp (past participle), .ing. Number slots are in GENERATORS.
# ----------------------------------------------------------------------------------------------------

PARTS_FILE = Path(__file__).resolve().parent / "sentence_parts.txt"


def read_parts(path=PARTS_FILE):
    """{section: its text} of a parts file: a line "[name]" starts a section, a line starting with "#"
    is a comment."""
    sections, name = {}, None
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        header = re.fullmatch(r"\[([a-z_ ]+)\]", line.strip())
        if header:
            name = header.group(1)
            sections[name] = []
        elif name is not None and not line.startswith("#"):
            sections[name].append(line)
    return {name: "\n".join(lines) for name, lines in sections.items()}


def _sentences(text):
    """Sentences written several to a line: one per line, cut after each . ? or ! that a space follows."""
    return _lines(text.replace(". ", ".\n").replace("? ", "?\n").replace("! ", "!\n"))


PARTS = read_parts()
DECKS = {name.split()[1]: _items(text) for name, text in PARTS.items() if name.startswith("deck ")}
IRREGULAR_VERBS = {base: (past, participle)  # "base past participle", for the verbs that head a verb phrase
                   for base, past, participle in (e.split() for e in _items(PARTS["irregular_verbs"]))}
THIRD_PERSON_IRREGULAR = {"have": "has"}
# Verbs of more than one syllable stressed on the last, which double their final consonant (submitted).
STRESS_FINAL = {"babysit", "submit", "reset", "repot", "unclog", "unplug", "unwrap"}
IRREGULAR_PLURALS = dict(e.split() for e in _items(PARTS["irregular_plurals"]))
# Words that begin with a vowel letter but a consonant sound, and the reverse: they decide a or an.
A_BEFORE_VOWEL = set(_items(PARTS["a_before_vowel"]))
AN_BEFORE_CONSONANT = set(_items(PARTS["an_before_consonant"]))
TEMPLATES = _lines(PARTS["templates"])
# Whole sentences written for this corpus: short replies, small talk and everyday remarks that templates
# do not produce naturally.
HANDWRITTEN = _lines(PARTS["handwritten"])

# Short utterances, one to three words. The first twelve batches have 3 to 25 words a sentence, and a
# model trained on them alone never learned to end a one-word text ("Hi." ran to the length bound in every
# try), so the thirteenth batch is made of these: common replies and greetings as they are, and single
# list entries, names, numbers and times, as statements, questions and exclamations.
SHORT_BATCH = 12  # 0-based: lines 27,600 to 29,899 of a corpus of 29,900 or more
SHORT_MAX_WORDS = 3
SHORT_HANDWRITTEN = _sentences(PARTS["short_handwritten"])
SHORT_TEMPLATES = _sentences(PARTS["short_templates"])

# ----------------------------------------------------------------------------------------------------
# Numbers: as words (no hyphens, which Festival trips over) and as simple digit strings.
# ----------------------------------------------------------------------------------------------------

ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen").split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
ORDINAL_ONES = ("_ first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
                "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth").split()


def number_words(n):
    """0 <= n < 10000 in words: 342 -> 'three hundred and forty two'."""
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + (" " + ONES[n % 10] if n % 10 else "")
    if n < 1000:
        rest = n % 100
        return ONES[n // 100] + " hundred" + (" and " + number_words(rest) if rest else "")
    rest = n % 1000
    joiner = " and " if rest < 100 else " "
    return number_words(n // 1000) + " thousand" + (joiner + number_words(rest) if rest else "")


def ordinal_words(n):
    """1 <= n < 100 as an ordinal: 23 -> 'twenty third'."""
    if n < 20:
        return ORDINAL_ONES[n]
    if n % 10 == 0:
        return TENS[n // 10][:-1] + "ieth"
    return TENS[n // 10] + " " + ORDINAL_ONES[n % 10]


def _clock(rng):
    hour = number_words(rng.randint(1, 12))
    return rng.choice([f"{hour} o'clock", f"half past {hour}", f"quarter past {hour}",
                       f"quarter to {hour}", "noon", "midnight"])


GENERATORS = {
    "num": lambda rng: number_words(rng.randint(2, 12)),
    "tens": lambda rng: number_words(rng.randint(13, 99)),
    "digits": lambda rng: str(rng.randint(2, 99)),
    "bigdigits": lambda rng: str(rng.randint(100, 999)),
    "year": lambda rng: str(rng.randint(1975, 2023)),
    "oldyear": lambda rng: str(rng.randint(1925, 1965)),
    "day": lambda rng: str(rng.randint(1, 28)),
    "ordinal": lambda rng: ordinal_words(rng.randint(1, 31)),
    "early": lambda rng: f"{rng.randint(5, 9)}:{rng.randrange(5, 60, 5):02d}",
    "time": lambda rng: f"{rng.randint(1, 12)}:{rng.randrange(5, 60, 5):02d}",  # never :00, read oddly
    "clock": _clock,
    "price": lambda rng: f"${rng.randint(3, 250)}",
    "smallprice": lambda rng: f"${rng.randint(2, 19)}",
    "bigprice": lambda rng: f"${rng.randint(60, 900)}",
    "decimal": lambda rng: f"{rng.randint(1, 9)}.{rng.choice([25, 5, 75])}",
}

# ----------------------------------------------------------------------------------------------------
# Grammar
# ----------------------------------------------------------------------------------------------------

VOWELS = "aeiou"


def with_article(phrase):
    """'an apple', 'a university', 'an hour': by the sound of the first word, not its letter."""
    word = phrase.split()[0].lower()
    vowel_sound = (word[0] in VOWELS and word not in A_BEFORE_VOWEL) or word in AN_BEFORE_CONSONANT
    return ("an " if vowel_sound else "a ") + phrase


def plural(phrase):
    """Plural of a noun phrase, inflecting its last word: 'post office' -> 'post offices'."""
    head, _, word = phrase.rpartition(" ")
    if word in IRREGULAR_PLURALS:
        word = IRREGULAR_PLURALS[word]
    elif re.search(r"[^aeiou]y$", word):
        word = word[:-1] + "ies"
    elif re.search(r"(s|x|z|ch|sh)$", word):
        word += "es"
    else:
        word += "s"
    return f"{head} {word}".strip()


def _syllables(word):
    """Vowel groups, not counting a final silent e; y counts only after a vowel (play) or at the end (shy)."""
    return len(re.findall(r"[aeiou]+y?|y$", word[:-1] if word.endswith("e") else word))


def _doubles_final(word):
    """Whether a suffix doubles the final consonant: stop -> stopped, sad -> saddest, submit -> submitted."""
    short_cvc = _syllables(word) == 1 and re.search(r"[^aeiou][aeiou][^aeiouwxy]$", word)
    return bool(short_cvc) or word in STRESS_FINAL


def conjugate(phrase, form):
    """Inflect the verb heading a verb phrase: form is 's', 'past', 'pp' or 'ing'."""
    verb, _, rest = phrase.partition(" ")
    if form == "s":
        if verb in THIRD_PERSON_IRREGULAR:
            verb = THIRD_PERSON_IRREGULAR[verb]
        elif re.search(r"[^aeiou]y$", verb):
            verb = verb[:-1] + "ies"
        elif re.search(r"(s|x|z|ch|sh|[^o]o)$", verb):
            verb += "es"
        else:
            verb += "s"
    elif form == "ing":
        if verb.endswith("ie"):
            verb = verb[:-2] + "ying"
        elif verb.endswith("e") and not re.search(r"(ee|oe|ye)$", verb):
            verb = verb[:-1] + "ing"
        else:
            verb = (verb + verb[-1] if _doubles_final(verb) else verb) + "ing"
    elif verb in IRREGULAR_VERBS:
        verb = IRREGULAR_VERBS[verb][form == "pp"]
    elif verb.endswith("e"):
        verb += "d"
    elif re.search(r"[^aeiou]y$", verb):
        verb = verb[:-1] + "ied"
    else:
        verb = (verb + verb[-1] if _doubles_final(verb) else verb) + "ed"
    return f"{verb} {rest}".strip()


def superlative(adjective):
    """kind -> kindest, sad -> saddest, funny -> funniest, generous -> most generous."""
    syllables = _syllables(adjective)
    if " " in adjective or syllables > 2 or (syllables == 2 and not adjective.endswith("y")):
        return "most " + adjective
    if syllables == 2:
        return adjective[:-1] + "iest"
    if adjective.endswith("e"):
        return adjective + "st"
    return (adjective + adjective[-1] if _doubles_final(adjective) else adjective) + "est"


def inflect(value, form):
    if form is None:
        return value
    if form == "a":
        return with_article(value)
    if form == "pl":
        return plural(value)
    if form == "cap":
        return value.title()
    if form == "most":
        return superlative(value)
    return conjugate(value, form)


# ----------------------------------------------------------------------------------------------------
# Composition
# ----------------------------------------------------------------------------------------------------

SLOT = re.compile(r"\{([a-z_]*[a-z])(\d?)(?:\.([a-z]+))?\}")


class Deck:
    """A word list dealt in shuffled rounds, so every entry comes up once before any comes up twice."""

    def __init__(self, items, rng):
        self.items, self.rng, self.pile = items, rng, []
        self.unused = set(items)  # entries not yet in an accepted sentence

    def draw(self):
        if not self.pile:
            self.pile = self.items[:]
            self.rng.shuffle(self.pile)
        return self.pile.pop()


def compose(template, decks, rng):
    """Fill a template's slots; returns the sentence and the (deck, entry) pairs it used."""
    chosen = {}

    def fill(match):
        name, index, form = match.groups()
        if name + index not in chosen:
            if name in GENERATORS:
                chosen[name + index] = GENERATORS[name](rng)
            else:
                value = decks[name].draw()
                if value in chosen.values():  # {fruit} and {fruit2} should differ
                    value = decks[name].draw()
                chosen[name + index] = value
        return inflect(chosen[name + index], form)

    sentence = SLOT.sub(fill, template)
    used = [(key.rstrip("0123456789"), value) for key, value in chosen.items()]
    return sentence[0].upper() + sentence[1:], [(n, v) for n, v in used if n in decks]


def build_corpus(n, rng, batch=BATCH):
    """
    Hand-written sentences, then templated ones until every list entry is used and there are n.

    The sentences come in batches of `batch`, each shuffled on its own and appended: the first batch is
    the hand-written and covering sentences topped up to `batch`, every later one is `batch` new
    templated sentences. A larger n therefore keeps every earlier batch line for line and only appends,
    so the test and val splits (the first lines) never change when the corpus grows.
    """
    slots = {t: {m.group(1) for m in SLOT.finditer(t)} for t in TEMPLATES}
    deck_slots = {t: [m.group(1) for m in SLOT.finditer(t) if m.group(1) in DECKS] for t in TEMPLATES}
    unknown = set().union(*slots.values()) - set(DECKS) - set(GENERATORS)
    unused = set(DECKS) - set().union(*slots.values())
    if unknown or unused:
        raise ValueError(f"slots without a deck: {sorted(unknown)}, decks no template uses: {sorted(unused)}")

    decks = {name: Deck(items, rng) for name, items in DECKS.items()}
    corpus, seen = [], set()
    uses = dict.fromkeys(TEMPLATES, 0)

    def add(sentence):
        if sentence.lower() in seen:
            return False
        seen.add(sentence.lower())
        corpus.append(sentence)
        return True

    def add_composed(template):
        uses[template] += 1
        sentence, used = compose(template, decks, rng)
        if add(sentence):
            for name, value in used:
                decks[name].unused.discard(value)

    for sentence in HANDWRITTEN:
        add(sentence)
    # Coverage first, so that every entry of every list appears somewhere. Templates whose slots still
    # need words cover the lists in fewer sentences; dividing by past uses keeps any one from dominating.
    for name, deck in decks.items():
        templates = [t for t in TEMPLATES if name in slots[t]]
        while deck.unused:
            weights = [sum(bool(decks[d].unused) for d in deck_slots[t]) ** 2 / (1 + uses[t]) ** 2
                       for t in templates]
            add_composed(rng.choices(templates, weights)[0])
    done, goal = 0, max(len(corpus), min(n, batch))
    short_uses = dict.fromkeys(SHORT_TEMPLATES, 0)
    while True:
        if done == SHORT_BATCH * batch:
            for sentence in SHORT_HANDWRITTEN[:goal - len(corpus)]:  # an --n that cuts into the batch
                add(sentence)
            while len(corpus) < goal:  # an entry too long for a short sentence is drawn and skipped
                template = rng.choices(SHORT_TEMPLATES, [1 / (1 + short_uses[t]) ** 2 for t in SHORT_TEMPLATES])[0]
                short_uses[template] += 1
                sentence = compose(template, decks, rng)[0]
                if len(sentence.split()) <= SHORT_MAX_WORDS:
                    add(sentence)
        while len(corpus) < goal:  # then the least used templates, for variety
            add_composed(rng.choices(TEMPLATES, [1 / (1 + uses[t]) ** 2 for t in TEMPLATES])[0])
        part = corpus[done:]
        rng.shuffle(part)  # this batch only
        corpus[done:] = part
        if len(corpus) >= n:
            return corpus
        done, goal = len(corpus), min(n, len(corpus) + batch)


# ----------------------------------------------------------------------------------------------------
# Checks
# ----------------------------------------------------------------------------------------------------

ALLOWED = re.compile(r"[A-Z][A-Za-z0-9 .,?!':;$]*[.?!]")


def _words(sentence):
    """Lower-cased words with punctuation stripped from their edges (as dataset/stats.py counts them)."""
    return [w for w in (re.sub(r"^\W+|\W+$", "", w.lower()) for w in sentence.split()) if w]


def corpus_stats(sentences):
    """Totals of a list of sentences: size, vocabulary, sentence lengths and kinds of sentence."""
    lengths = [len(s.split()) for s in sentences]
    vocabulary = {w for s in sentences for w in _words(s)}
    n = max(len(sentences), 1)
    return {
        "n_sentences": len(sentences),
        "n_distinct_words": len(vocabulary),
        "n_distinct_alpha_words": sum(bool(re.fullmatch(r"[a-z']+", w)) for w in vocabulary),
        "min_words": min(lengths, default=0),
        "mean_words": sum(lengths) / n,
        "max_words": max(lengths, default=0),
        "share_5_to_15_words": sum(5 <= k <= 15 for k in lengths) / n,
        "share_questions": sum(s.endswith("?") for s in sentences) / n,
        "share_exclamations": sum(s.endswith("!") for s in sentences) / n,
        "share_with_digits": sum(any(c.isdigit() for c in s) for s in sentences) / n,
    }


def sentence_problem(sentence):
    """Why a sentence breaks the corpus rules, or None."""
    if not MIN_WORDS <= len(sentence.split()) <= MAX_WORDS:
        return f"not {MIN_WORDS} to {MAX_WORDS} words"
    if not ALLOWED.fullmatch(sentence):
        return "a character Festival may trip over, or no capital or final . ? !"
    if "  " in sentence or re.search(r" [.,?!:;]", sentence):
        return "stray spacing"
    if re.search(r"[A-Z]{2}", sentence):
        return "an all-caps word"
    if re.search(r"\.(?!\d)|(?<!\d)\.", sentence[:-1]):  # inside a sentence only decimals have a period
        return "a period that is not a decimal point"
    return None


def check_corpus(sentences):
    """One-line descriptions of every requirement the corpus fails (an empty list when it passes)."""
    stats = corpus_stats(sentences)
    problems = []
    if stats["n_sentences"] < MIN_SENTENCES:
        problems.append(f"{stats['n_sentences']} sentences, fewer than {MIN_SENTENCES}")
    if len({s.lower() for s in sentences}) != len(sentences):
        problems.append("duplicate sentences")
    if stats["n_distinct_words"] < MIN_DISTINCT_WORDS:
        problems.append(f"{stats['n_distinct_words']} distinct words, fewer than {MIN_DISTINCT_WORDS}")
    for kind, share in MIN_SHARE.items():
        if stats[f"share_{kind}"] < share:
            problems.append(f"{stats[f'share_{kind}']:.1%} {kind.replace('_', ' ')}, less than {share:.0%}")
    start = SHORT_BATCH * BATCH  # the short batch has 1 to SHORT_MAX_WORDS words a sentence, the others 3 or more
    outside = [s for s in sentences[:start] + sentences[start + BATCH:] if len(s.split()) < 3]
    inside = [s for s in sentences[start:start + BATCH] if len(s.split()) > SHORT_MAX_WORDS]
    for wrong, where in ((outside, "under 3 words outside"), (inside, f"over {SHORT_MAX_WORDS} words in")):
        if wrong:
            problems.append(f"{len(wrong)} sentences of {where} the short batch, e.g. {wrong[0]!r}")
    bad = [(s, why) for s in sentences if (why := sentence_problem(s))]
    if bad:
        problems.append(f"{len(bad)} bad sentences, e.g. {bad[0][0]!r}: {bad[0][1]}")
    return problems


def describe(stats):
    return (f"{stats['n_sentences']} sentences, {stats['n_distinct_words']} distinct words "
            f"({stats['n_distinct_alpha_words']} without digits), words per sentence "
            f"min {stats['min_words']} mean {stats['mean_words']:.1f} max {stats['max_words']} "
            f"({stats['share_5_to_15_words']:.0%} have 5 to 15), questions {stats['share_questions']:.1%}, "
            f"exclamations {stats['share_exclamations']:.1%}, with digits {stats['share_with_digits']:.1%}")


def write_lines(path, lines):
    """Write lines to path through a temporary file in the same folder, so readers never see half a file
    (flushed to disk before the rename; readable by all, as a file open() makes, not only by its owner)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda tmp: tmp.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the sentences")
    parser.add_argument("--n", type=int, default=29900,
                        help="number of sentences (more if needed to use every list entry once); a multiple of "
                             f"{BATCH} grows a corpus without changing its lines")
    parser.add_argument("--check", type=Path, metavar="FILE", help="only validate FILE and print its totals")
    args = parser.parse_args()

    if args.check:
        try:
            sentences = args.check.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            sys.exit(f"error: cannot read {args.check}: {e}")
    else:
        sentences = build_corpus(args.n, random.Random(SEED))
    print(describe(corpus_stats(sentences)))
    problems = check_corpus(sentences)
    if problems:
        sys.exit("error: " + "; ".join(problems))
    if not args.check and args.out.is_file():
        # Audio and codes of the lines already there stay as they are (make_demo.py skips existing files),
        # so those lines must not change: growing appends, shrinking cuts at the end.
        old = args.out.read_text(encoding="utf-8").splitlines()
        if sentences[:len(old)] != old and old[:len(sentences)] != sentences:
            sys.exit(f"error: --n {args.n} would change lines already in {args.out}, whose audio and codes "
                     f"would then no longer match their text: use a multiple of {BATCH}, or another --out")
    if not args.check:
        try:
            write_lines(args.out, sentences)
        except OSError as e:  # --out under a file, a read-only folder
            sys.exit(f"error: cannot write {args.out}: {e.strerror or e}")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
