"""
Text normalisation: turn written text into the words a speaker says.

    >>> normalize("Dr. Lee paid $12.50 at 3:05 on May 1st, 1999!")
    'doctor lee paid twelve dollars and fifty cents at three oh five on may first, nineteen ninety nine!'

A TTS model learns a mapping from symbols to sounds; "1999" gives no hint of how it is spoken, and the
same digits are said differently as a year, a count or a price. Normalising first means the model only
ever sees spelled-out words. The demo corpus is spoken by Festival from this normalised text too, so
text and audio always agree on how a number was read.

Rules, in the order they apply: Unicode clean-up (NFKC, typographic quotes and dashes to ASCII, control
characters and emoji dropped, invisible ones such as a soft hyphen removed from inside words);
abbreviations (Mr., Dr., etc.; a full stop that also ends the sentence stays); money ($, £, €);
percentages; times (3:05); ordinals (21st); digits in dotted groups (12.5.2024, 1.2.3: "dot"); years
(four-digit numbers from 1100 to 1999 and 2010 to 2099, read in pairs); decimals; other numbers (commas
allowed); a few symbols (&, +, @); lower case; single spaces. Punctuation that shapes prosody
(. , ? ! ; : ') is kept. Normalised text normalises to itself, so code that normalises twice is safe.
"""
import re
import unicodedata

ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen").split()
TENS = "zero ten twenty thirty forty fifty sixty seventy eighty ninety".split()
SCALES = [(10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand")]
ORDINAL_ENDINGS = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
                   "nine": "ninth", "twelve": "twelfth"}

ABBREVIATIONS = {"mr": "mister", "mrs": "missus", "ms": "miz", "dr": "doctor", "prof": "professor",
                 "st": "saint", "jr": "junior", "sr": "senior", "mt": "mount", "ave": "avenue",
                 "etc": "et cetera", "vs": "versus", "approx": "approximately"}
TITLES = {"mr", "mrs", "ms", "dr", "prof", "st", "mt"}  # come before a name: "Dr. Lee" is no sentence end
SYMBOLS = {"&": " and ", "+": " plus ", "@": " at ", "=": " equals ", "#": " number ", "%": " percent ",
           "/": " slash ", "*": " ", "_": " ", "~": " ", "|": " ", "<": " ", ">": " ", "^": " ",
           "\\": " ", "`": "'", "(": ", ", ")": ", ", "[": ", ", "]": ", ", "{": ", ", "}": ", ", '"': " "}
# (NFKC, applied first, has already made "\u2026" three dots and a no-break space a space.)
TYPOGRAPHY = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": ", ", "\u2014": ", "}


def number_to_words(n):
    """Cardinal reading of a non-negative integer: 2025 -> 'two thousand twenty five'."""
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + number_to_words(rest))
    for scale, name in SCALES:
        if n >= scale:
            rest = n % scale
            return number_to_words(n // scale) + " " + name + ("" if rest == 0 else " " + number_to_words(rest))
    raise ValueError(n)  # unreachable for n >= 0


def ordinal_to_words(n):
    """21 -> 'twenty first', 12 -> 'twelfth', 100 -> 'one hundredth'."""
    words = number_to_words(n).split()
    last = words[-1]
    if last in ORDINAL_ENDINGS:
        words[-1] = ORDINAL_ENDINGS[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def year_to_words(n):
    """1999 -> 'nineteen ninety nine', 1905 -> 'nineteen oh five', 1900 -> 'nineteen hundred',
    2024 -> 'twenty twenty four'."""
    high, low = divmod(n, 100)
    if low == 0:
        return number_to_words(high) + " hundred"
    return number_to_words(high) + " " + ("oh " + ONES[low] if low < 10 else number_to_words(low))


def digits_to_words(digits):
    return " ".join(ONES[int(d)] for d in digits)


def _integer(text):
    """Cardinal reading of a digit string that may hold thousands commas; very long ones digit by digit."""
    digits = text.replace(",", "")
    if len(digits) > 15 or (len(digits) > 1 and digits.startswith("0")):
        return digits_to_words(digits)  # phone numbers, codes, 007
    return number_to_words(int(digits))


CURRENCIES = {"$": ("dollar", "cent"), "£": ("pound", "penny"), "€": ("euro", "cent")}


def _money_scaled(match):
    """'$1.5 billion' -> 'one point five billion dollars': the decimals belong to the scale, not cents."""
    symbol, whole, decimals, scale = match.groups()
    point = f" point {digits_to_words(decimals)}" if decimals else ""
    return f" {_integer(whole)}{point} {scale.lower()} {CURRENCIES[symbol][0]}s "


def _money(match):
    symbol, whole, cents = match.group(1), match.group(2), match.group(3)
    unit, small = CURRENCIES[symbol]
    amount = int(whole.replace(",", ""))
    words = f"{_integer(whole)} {unit}{'' if amount == 1 else 's'}"
    if cents and int(cents):
        cents = int(cents.ljust(2, "0")[:2])
        small_plural = "pence" if small == "penny" else "cents"
        words += f" and {number_to_words(cents)} {small if cents == 1 else small_plural}"
    return f" {words} "


def _time(match):
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes == 0:
        spoken = f"{number_to_words(hours)} o'clock"
    elif minutes < 10:
        spoken = f"{number_to_words(hours)} oh {ONES[minutes]}"
    else:
        spoken = f"{number_to_words(hours)} {number_to_words(minutes)}"
    suffix = match.group(3)
    if suffix:
        spoken += " " + " ".join(suffix.lower().replace(".", ""))  # 'pm' -> 'p m'
    return f" {spoken} "


def _am_pm(match):
    """'a.m.' -> 'a m', keeping the full stop when it also ends the sentence ('at 9 p.m. Then ...')."""
    following = match.group(2)  # None, or what comes next: the end, or spaces and a letter (quotes between)
    following = None if following is None else following.strip(" \t\n\"')]")
    ends_sentence = following is not None and (following == "" or following.isupper())
    return f"{match.group(1)} m" + ("." if ends_sentence else "")


def _abbreviation(match):
    """'etc.' -> 'et cetera', keeping the full stop when it also ends the sentence: at the end of the text,
    or (for words that are not titles before a name) before a capital letter."""
    word, following = match.group(1).lower(), match.group(2)  # following: None, or what comes next
    if word not in ABBREVIATIONS:
        return match.group(0)
    spoken = ABBREVIATIONS[word]
    if word == "st" and re.search(r"[\w,;:]\s+[A-Z][a-z]*\s*$", match.string[:match.start()]):
        # After a name inside a sentence ("on Main St.") a street, and no title; "St. Paul" is a saint.
        word, spoken = "street", "street"
    ends_sentence = following is not None and (
        following.strip() == "" or (following.strip().isupper() and word not in TITLES))
    return spoken + ("." if ends_sentence else "")


def _decimal(match):
    return f" {_integer(match.group(1))} point {digits_to_words(match.group(2))} "


def _number(text):
    """A digit string (thousands commas allowed) as a year if it looks like one, else as a cardinal."""
    n = int(text.replace(",", "")) if len(text.replace(",", "")) <= 15 else None
    if n is not None and "," not in text and not text.startswith("0") and (1100 <= n <= 1999 or 2010 <= n <= 2099):
        return year_to_words(n)
    return _integer(text)


def _plain_number(match):
    return f" {_number(match.group(0))} "


def _unicode_character(c):
    """What one character becomes in the clean-up: itself, a space, or nothing."""
    category = unicodedata.category(c)
    if category == "Cf" or "\ufe00" <= c <= "\ufe0f" or c == "\u20e3":
        # Invisible format characters (soft hyphen, zero-width space and joiner) sit inside words:
        # removed, not made spaces. So are emoji variation selectors and the keycap mark of 1️⃣.
        return ""
    if category[0] in "CZ" or category == "So" or (category == "Sk" and not c.isascii()):
        # Control characters and odd spaces separate words; emoji, other pictographs and emoji skin
        # tones are not spoken.
        return " "
    return c


def normalize(text):
    """Written text (any Unicode) -> lower-case spoken words with light punctuation.
    Idempotent: normalising the result again changes nothing (a test checks it on random text)."""
    text = unicodedata.normalize("NFKC", str(text))
    text = "".join(TYPOGRAPHY.get(c, c) for c in text)
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", " ", text)  # terminal colour codes
    text = "".join(_unicode_character(c) for c in text)
    text = re.sub(r"\bNo\.\s?(?=\d)", "number ", text)  # "No. 5", but not the word "no." ending a sentence
    # Abbreviations: only with their period and not before a letter, so the word "no" or "st" inside a
    # sentence, and "e.g." or "U.S.", are left alone.
    text = re.sub(r"(?<![A-Za-z])([A-Za-z]+)\.(?![A-Za-z])(?=(\s+[A-Za-z]|\s*$)?)", _abbreviation, text)
    text = re.sub(r"([$£€])\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?\s(thousand|million|billion|trillion)\b(?!-)"
                  r"(?:\s+(?:dollars?|pounds?|euros?)\b)?", _money_scaled, text, flags=re.IGNORECASE)
    text = re.sub(r"([$£€])\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?", _money, text)
    text = re.sub(r"((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)\s?%", lambda m: f" {m.group(1)} percent ", text)
    # "7:30 pm" here; "3:05 p.m." leaves its "p.m." to the next rule, which knows when its dot ends a sentence.
    text = re.sub(r"(?<!\d)(\d{1,2}):(\d{2})(?!\d)(?:\s?([ap]m\b|[ap]\.m\b(?!\.)))?", _time, text,
                  flags=re.IGNORECASE)
    text = re.sub(r"(?<![A-Za-z])([ap])\.m\.(?=([\"')\]]*\s+[A-Z]|[\"')\]]*\s*$)?)", _am_pm, text,
                  flags=re.IGNORECASE)  # "9 a.m.", "at 9 a.m." Then
    text = re.sub(r"(?<!\d)(?<!\d,)(\d{1,3}(?:,\d{3})+|\d+)(st|nd|rd|th)\b",  # "1,000th" too
                  lambda m: f" {ordinal_to_words(int(m.group(1).replace(',', '')))} ", text, flags=re.IGNORECASE)
    # Digits in three or more groups joined by dots (12.5.2024, 1.2.3, 192.168.0.1) are no decimal
    # number, and their dots no sentence end: each group is read, joined by "dot".
    text = re.sub(r"(?<![\d.])\d+(?:\.\d+){2,}(?![\d])",
                  lambda m: " " + " dot ".join(_number(g) for g in m.group(0).split(".")) + " ", text)
    text = re.sub(r"(?<![\d.])(\d[\d,]*)\.(\d+)", _decimal, text)
    text = re.sub(r"(?<=\s)-(?=\d)|^-(?=\d)", " minus ", text)
    text = re.sub(r"\d{1,3}(?:,\d{3})+(?!\d)|\d+", _plain_number, text)
    text = "".join(SYMBOLS.get(c, c) for c in text)
    text = text.lower()
    text = re.sub(r"\s+([,.?!;:])", r"\1", text)  # no space before punctuation
    text = re.sub(r"([,.?!;:])(?:\s*[,;:])+", r"\1", text)  # ", ," left by removed brackets
    return " ".join(text.split()).strip(" ,;:")
