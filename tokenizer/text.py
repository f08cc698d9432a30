"""
Text normalisation: turn written text into the words a speaker says.

    >>> normalize("Dr. Lee paid $12.50 at 3:05 on May 1st, 1999!")
    'doctor lee paid twelve dollars and fifty cents at three oh five on may first, nineteen ninety nine!'
    >>> normalize("the bus was late")
    'the bus was late.'

A TTS model learns a mapping from symbols to sounds; "1999" gives no hint of how it is spoken, and the
same digits are said differently as a year, a count or a price. Normalising first means the model only
ever sees spelled-out words. The demo corpus is spoken by Festival from this normalised text too, so
text and audio always agree on how a number was read.

Rules, in the order they apply (an earlier rule must never eat a later one's input, so the order matters):
1. Unicode clean-up: vulgar fractions spelled out (½ "one half"); NFKC; typographic quotes to ASCII, the
   minus sign to "-"; control characters and emoji dropped, invisible ones (soft hyphen) removed from
   inside words.
2. Digits with a shape of their own: phone numbers (555-1234) digit by digit; ISO dates (2024-05-01);
   ranges (5-10, 5–10: "five to ten"); "No. 5"; month and day (Jan. 5: "january fifth").
3. Abbreviations (Mr., Dr., etc.; a full stop that also ends the sentence stays); money ($, £, €, ¥, ¢,
   also after the number: 100€); percentages; a.m. and p.m. (10 PM, 7:30pm, 9 a.m.: all "p m"); times
   (3:05); ordinals (21st); decades (1990s); units after a number (20ms, 5 km, 98.6°F); fractions (3/4).
4. Numbers: digits in dotted groups (12.5.2024: "dot"); a leading minus; decimals (.5, 3.14); other
   numbers (commas allowed), where a four-digit number from 1100 to 1999 or 2010 to 2099 is read as a
   year (in pairs) unless a word after it makes it a count ("1250 sheep").
5. A few symbols (&, +, @, ...), lower case, and nothing outside the alphabet of normalised text
   (`ALPHABET_PUNCTUATION`, letters and marks of any script, and the space); single spaces.
6. The text ends as a sentence ends: with . ? or !, a full stop added where the writer left none
   ("the bus was late" -> "the bus was late."). Every sentence the model trained on ended that way, and
   it learned that speech ends after that mark: without it, it runs on.

Punctuation that shapes prosody (. , ? ! ; : ' and a hyphen inside a word) is kept. Normalised text
normalises to itself, so code that normalises twice is safe: the rules run again on their own output
until it stops changing (a test checks it on random text).
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
MONTHS = ("january february march april may june july august september october november december").split()
MONTH_ABBREVIATIONS = {m[:3]: m for m in MONTHS} | {"sept": "september"}
CURRENCIES = {"$": ("dollar", "dollars", "cent", "cents"), "£": ("pound", "pounds", "penny", "pence"),
              "€": ("euro", "euros", "cent", "cents"), "¥": ("yen", "yen", None, None),
              "₹": ("rupee", "rupees", "paisa", "paise")}
# Units after a number: (singular, plural). Matched with or without a space ("20ms", "5 km"), in any case
# but the one-letter ones, which read as units only when glued to the number ("5g", not "5 g").
UNITS = {"ms": ("millisecond", "milliseconds"), "sec": ("second", "seconds"), "secs": ("second", "seconds"),
         "min": ("minute", "minutes"), "mins": ("minute", "minutes"), "hr": ("hour", "hours"),
         "hrs": ("hour", "hours"), "km": ("kilometer", "kilometers"), "cm": ("centimeter", "centimeters"),
         "mm": ("millimeter", "millimeters"), "mi": ("mile", "miles"), "ft": ("foot", "feet"),
         "kg": ("kilogram", "kilograms"), "mg": ("milligram", "milligrams"), "lb": ("pound", "pounds"),
         "lbs": ("pound", "pounds"), "oz": ("ounce", "ounces"), "ml": ("milliliter", "milliliters"),
         "mph": ("mile per hour", "miles per hour"), "kph": ("kilometer per hour", "kilometers per hour"),
         "km/h": ("kilometer per hour", "kilometers per hour"), "kb": ("kilobyte", "kilobytes"),
         "mb": ("megabyte", "megabytes"), "gb": ("gigabyte", "gigabytes"), "tb": ("terabyte", "terabytes"),
         "hz": ("hertz", "hertz"), "khz": ("kilohertz", "kilohertz"), "mhz": ("megahertz", "megahertz"),
         "ghz": ("gigahertz", "gigahertz"), "kw": ("kilowatt", "kilowatts"),
         "°c": ("degree celsius", "degrees celsius"), "°f": ("degree fahrenheit", "degrees fahrenheit"),
         "°": ("degree", "degrees")}
GLUED_UNITS = {"m": ("meter", "meters"), "g": ("gram", "grams"), "h": ("hour", "hours"),
               "l": ("liter", "liters")}
# A four-digit number from 1100 to 1999 or 2010 to 2099 is a year after these words, and before
# these (or before punctuation or the end); before any other word it is a count: "in 1999", "1999 was",
# "the 1999 season", but "1250 sheep".
YEAR_BEFORE = {"in", "since", "by", "until", "till", "from", "to", "of", "during", "before", "after",
               "around", "circa", "year", "early", "late", "mid", "through", "between", "and", "or",
               "summer", "winter", "spring", "autumn", "fall", "class"} | set(MONTHS)
YEAR_AFTER = {"was", "is", "were", "will", "had", "has", "saw", "brought", "began", "ended", "and", "or",
              "but", "when", "we", "i", "he", "she", "they", "it", "you", "the", "season", "election",
              "census", "olympics", "model", "edition", "vintage", "budget", "tour", "world", "war",
              "summer", "winter", "spring", "autumn", "fall", "to", "ad", "bc", "bce", "ce"}
SYMBOLS = str.maketrans({
    "&": " and ", "+": " plus ", "@": " at ", "=": " equals ", "#": " number ", "%": " percent ",
    "/": " slash ", "±": " plus or minus ", "×": " times ", "÷": " divided by ", "°": " degrees ",
    "$": " dollars ", "£": " pounds ", "€": " euros ", "¥": " yen ", "¢": " cents ", "₹": " rupees ",
    "`": "'", "(": ", ", ")": ", ", "[": ", ", "]": ", ", "{": ", ", "}": ", "})
# (NFKC, applied first, has already made "\u2026" three dots and a no-break space a space.)
TYPOGRAPHY = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2212": "-",
                            "\u2010": "-", "\u2011": "-"})
NUMBER = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"  # 5, 12,500, 3.14
UNIT_PATTERN = re.compile(rf"({NUMBER})\s?("
                          + "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
                          + r")(?![\w/])(?:\.(?=\s+[a-z]))?", re.IGNORECASE)  # "ft. tall": no sentence end
GLUED_UNIT_PATTERN = re.compile(rf"({NUMBER})(" + "|".join(GLUED_UNITS) + r")\b")
MONTH_DAY_PATTERN = re.compile(r"\b(" + "|".join(MONTHS)
                               + r"|(?:jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\.?)"
                               r"\s+(\d{1,2})(?:st|nd|rd|th)?\b(?![:.,]\d)", re.IGNORECASE)
AFTER_A_DATE_PATTERN = re.compile(r"\b(?:" + "|".join(MONTHS) + r") [a-z ]+,\s*$")  # "june fourteenth, "
# What normalised text is made of: letters and combining marks of any script, the space, and these.
ALPHABET_PUNCTUATION = set(".,?!;:'-")
SENTENCE_END = ".?!"


def in_alphabet(c):
    """Whether character c can appear in normalised text."""
    return c == " " or c in ALPHABET_PUNCTUATION or unicodedata.category(c)[0] in "LM"


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


def _last_word(words, ending):
    """Put `ending` ('th', 's') on the last of `words`: twenty -> twentieth / twenties, six -> sixth."""
    words = words.split()
    last = words[-1]
    if ending == "th" and last in ORDINAL_ENDINGS:
        words[-1] = ORDINAL_ENDINGS[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ie" + ending
    else:
        words[-1] = last + ("es" if ending == "s" and last.endswith("x") else ending)
    return " ".join(words)


def ordinal_to_words(n):
    """21 -> 'twenty first', 12 -> 'twelfth', 100 -> 'one hundredth'."""
    return _last_word(number_to_words(n), "th")


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
        return digits_to_words(digits)  # codes, 007
    return number_to_words(int(digits))


def _is_one(number):
    """Whether a number as written ('1', '1.0', '1,000') takes a singular unit."""
    return re.fullmatch(r"0*1(\.0*)?", number) is not None


def _vulgar_fraction(match):
    """'½' -> 'one half', '1½' -> '1 and one half': the character's Unicode name says how to read it."""
    name = unicodedata.name(match.group(2)).lower().removeprefix("vulgar fraction ")
    return f"{match.group(1)} and {name} " if match.group(1) else f" {name} "


def _fraction(numerator, denominator):
    n, d = int(numerator), int(denominator)
    if d == 2:
        name = "half" if n == 1 else "halves"
    elif d == 4:
        name = "quarter" if n == 1 else "quarters"
    else:
        name = ordinal_to_words(d) + ("" if n == 1 else "s")
    return f" {number_to_words(n)} {name} "


def _ascii_fraction(match):
    """'3/4' -> 'three quarters', '1 1/2' -> '1 and one half'; '9/4' or '24/7' are left to the slash."""
    whole, numerator, denominator = match.groups()
    if int(numerator) >= int(denominator):
        return match.group(0)
    return (f"{whole} and" if whole else "") + _fraction(numerator, denominator)


def _phone(match):
    """'555-1234' -> 'five five five, one two three four': a phone number is read digit by digit, its
    groups apart."""
    return " " + ", ".join(digits_to_words(g) for g in re.findall(r"\d+", match.group(0))) + " "


def _iso_date(match):
    year, month, day = (int(g) for g in match.groups())
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return _phone(match)  # not a date: read its groups
    return f" {MONTHS[month - 1]} {ordinal_to_words(day)}, {year} "


def _month_day(match):
    """'Jan. 5' / 'January 5th' -> 'january fifth'."""
    if match.group(1) in ("march", "may") and re.match(r"\s+[a-z]", match.string[match.end():]):
        return match.group(0)  # "we march 5 miles", not a date
    month = match.group(1).lower().rstrip(".")
    month = MONTH_ABBREVIATIONS.get(month, month)
    return f"{month} {ordinal_to_words(int(match.group(2)))}"


def _money_scaled(match, scale=None):
    """'$1.5 billion' -> 'one point five billion dollars': the decimals belong to the scale, not cents."""
    symbol, whole, decimals, written_scale = match.groups()
    scale = scale or written_scale
    point = f" point {digits_to_words(decimals)}" if decimals else ""
    return f" {_integer(whole)}{point} {scale.lower()} {CURRENCIES[symbol][1]} "


def _money(symbol, whole, cents):
    one, many, small, small_plural = CURRENCIES[symbol]
    amount = int(whole.replace(",", "")) if whole else 0
    cents_value = int(cents.ljust(2, "0")[:2]) if cents and small else 0
    if small is None and cents and int(cents):  # no smaller unit (yen): read the decimals
        return f" {_integer(whole or '0')} point {digits_to_words(cents)} {many} "
    if amount == 0 and cents_value:  # $.50, $0.50: fifty cents
        return f" {number_to_words(cents_value)} {small if cents_value == 1 else small_plural} "
    words = f"{_integer(whole or '0')} {one if amount == 1 else many}"
    if cents_value:
        words += f" and {number_to_words(cents_value)} {small if cents_value == 1 else small_plural}"
    return f" {words} "


def _time(match):
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes == 0:
        return f" {number_to_words(hours)} o'clock "
    if minutes < 10:
        return f" {number_to_words(hours)} oh {ONES[minutes]} "
    return f" {number_to_words(hours)} {number_to_words(minutes)} "


def _ends_sentence(following):
    """Whether a full stop before `following` (the text after it) also ends the sentence: at the end
    of the text, or before a capital letter (quotes and brackets between)."""
    following = following.lstrip("\"')] \t\n")
    return following == "" or (following[:1].isupper() and following[:1].isalpha())


def _am_pm(match):
    """'10 PM', '7:30pm', '9 a.m.' -> '10 p m': one reading for every way of writing it. A full stop
    after it stays when it also ends the sentence ('at 9 p.m. Then ...')."""
    dot = match.group(2) and _ends_sentence(match.string[match.end():])
    return f" {match.group(1).lower()} m" + ("." if dot else "")


def _abbreviation(match):
    """'etc.' -> 'et cetera', keeping the full stop when it also ends the sentence: at the end of the text,
    or (for words that are not titles before a name) before a capital letter."""
    word = match.group(1).lower()
    if word not in ABBREVIATIONS:
        return match.group(0)
    spoken = ABBREVIATIONS[word]
    if word == "st" and re.search(r"[\w,;:]\s+[A-Z][a-z]*\s*$", match.string[:match.start()]):
        # After a name inside a sentence ("on Main St.") a street, and no title; "St. Paul" is a saint.
        word, spoken = "street", "street"
    following = match.string[match.end():]
    at_end = following.strip() == ""
    ends_sentence = at_end or (word not in TITLES and _ends_sentence(following) and following[:1].isspace())
    return spoken + ("." if ends_sentence else "")


def _unit(match):
    number, unit = match.group(1), match.group(2).lower()
    one, many = UNITS.get(unit) or GLUED_UNITS[unit]
    return f"{number} {one if _is_one(number) else many} "


def _plural_number(match):
    """'1990s' -> 'nineteen nineties', '2000s' -> 'two thousands', '80s' -> 'eighties',
    '100s' -> 'hundreds'."""
    digits = match.group(1)
    if len(digits) > 15:
        return match.group(0)
    n = int(digits)
    words = year_to_words(n) if _looks_like_year(digits) else _integer(digits)
    return f" {_last_word(words, 's').removeprefix('one ') if n in (100, 1000) else _last_word(words, 's')} "


def _looks_like_year(digits):
    return len(digits) == 4 and (1100 <= int(digits) <= 1999 or 2010 <= int(digits) <= 2099)


def _plain_number(match):
    """A digit string (thousands commas allowed) as a year if it looks like one (YEAR_BEFORE, YEAR_AFTER),
    else as a cardinal."""
    text = match.group(0)
    if _looks_like_year(text):
        before_text = match.string[:match.start()].lower()
        before = re.findall(r"[^\W\d_]+", before_text[-40:])
        after_word = re.match(r"\s*([^\W\d_]*)", match.string[match.end():]).group(1).lower()
        after_a_date = AFTER_A_DATE_PATTERN.search(before_text)
        cued = (before and before[-1] in YEAR_BEFORE) or after_a_date
        if cued or not after_word or after_word in YEAR_AFTER:
            return f" {year_to_words(int(text))} "
    return f" {_integer(text)} "


def _unicode_character(c):
    """What one character becomes in the clean-up: itself, a space, or nothing."""
    category = unicodedata.category(c)
    if category == "Cf" or "\ufe00" <= c <= "\ufe0f" or c == "\u20e3":
        # Invisible format characters (soft hyphen, zero-width space and joiner) sit inside words:
        # removed, not made spaces. So are emoji variation selectors and the keycap mark of 1️⃣.
        return ""
    if category[0] in "CZ" or (category == "So" and c != "°") or (category == "Sk" and not c.isascii()):
        # Control characters and odd spaces separate words; emoji, other pictographs and emoji skin
        # tones are not spoken.
        return " "
    return c


def end_sentence(text):
    """Normalised text -> the same ending as a sentence does: trailing commas, colons and dashes dropped,
    and a full stop added when it ends without . ? or !. Empty text stays empty."""
    text = text.rstrip(" ,;:-")
    return text + "." if text and text[-1] not in SENTENCE_END else text


def normalize(text):
    """Written text (any Unicode) -> lower-case spoken words with light punctuation, ending as a sentence
    ends. Idempotent: normalising the result again changes nothing (a test checks it on random text).

    The rules can make input for one another: the full stop added at the end turns a last word "dr" into
    the abbreviation "dr.", and tidying spaces joins "ms ..." into "ms...". So the rules run again on
    their own output until it no longer changes (nearly always once; a test checks that it settles)."""
    spoken = _normalize_once(text)
    for _ in range(3):
        again = _normalize_once(spoken)
        if again == spoken:
            break
        spoken = again
    return spoken


def _normalize_once(text):
    # 1. Unicode clean-up
    text = re.sub(r"(\d)?\s?([\u00bc-\u00be\u2150-\u215e\u2189])",
                  lambda m: _vulgar_fraction(m) if unicodedata.name(m.group(2), "").startswith("VULGAR")
                  else m.group(0), str(text))
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(TYPOGRAPHY)
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", " ", text)  # terminal colour codes
    text = re.sub(r"[\x00-\x1f\x7f]", " ", text) if text.isascii() else \
        "".join(_unicode_character(c) for c in text)  # (the same, for ASCII: controls are spaces)
    # 2. Digits with a shape of their own, before any rule reads their parts as numbers
    text = re.sub(r"(?<![\w.,-])(?:\(\d{3}\)\s?|\d{3}-)?\d{3}-\d{4}(?![\w-])", _phone, text)
    text = re.sub(r"(?<![\w.,-])(\d{4})-(\d{2})-(\d{2})(?![\w-])", _iso_date, text)
    text = re.sub(r"(?<![\w.,-])(\d+(?:\.\d+)?)\s?(?:-|\u2013|\u2014)\s?(?=\d+(?:\.\d+)?(?!\d|[-.]\d))",
                  r"\1 to ", text)  # 5-10, 5–10, 1990–1995
    text = text.replace("\u2013", ", ").replace("\u2014", ", ")  # other dashes: a pause
    text = re.sub(r"\bNo\.\s?(?=\d)", "number ", text)  # "No. 5", but not the word "no." ending a sentence
    text = MONTH_DAY_PATTERN.sub(_month_day, text)
    # 3. Ordinals first, so that "1st." is no abbreviation. Abbreviations: only with their period and
    # not after or before a letter, so the word "no" or "st" inside a sentence, and "e.g." or "U.S." are
    # left alone.
    text = re.sub(r"(?<!\d)(?<!\d,)(\d{1,3}(?:,\d{3})+|\d+)(st|nd|rd|th)\b",  # "1,000th" too
                  lambda m: f" {ordinal_to_words(int(m.group(1).replace(',', '')))} ", text,
                  flags=re.IGNORECASE)
    # Units before abbreviations: "20ms." is no "Ms."; "5 ft. tall" has no sentence end.
    text = UNIT_PATTERN.sub(_unit, text)
    text = re.sub(r"(?<=\d)\s?([ap])\.?m(?:(\.)(?![A-Za-z])|(?![.\w]))", _am_pm, text, flags=re.IGNORECASE)
    text = re.sub(r"(?<![A-Za-z])(?<![A-Za-z]\.)([ap])\.m(?:(\.)(?![A-Za-z])|(?![.\w]))", _am_pm, text,
                  flags=re.IGNORECASE)  # "a.m." without a number, but not inside "p.m.p.m." or "a.m.r."
    text = re.sub(r"(?<![A-Za-z])([A-Za-z]+)\.(?![A-Za-z])", _abbreviation, text)
    text = re.sub(r"([$£€¥₹])\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?\s"
                  r"(thousand|million|billion|trillion)\b(?!-)(?:\s+(?:dollars?|pounds?|euros?|yen|rupees?)\b)?",
                  _money_scaled, text,
                  flags=re.IGNORECASE)
    text = re.sub(r"([$£€¥₹])(\d+)(?:\.(\d+))?(k|m|bn)\b", lambda m: _money_scaled(
        m, {"k": "thousand", "m": "million", "bn": "billion"}[m.group(4).lower()]), text, flags=re.IGNORECASE)
    text = re.sub(r"([$£€¥₹])\s?(\d{1,3}(?:,\d{3})+|\d+)?(?:\.(\d+))?(?<=\d)",
                  lambda m: _money(*m.groups()), text)
    text = re.sub(r"(?<![\d.,])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?\s?([$£€¥₹])",
                  lambda m: _money(m.group(3), m.group(1), m.group(2)), text)  # 100€
    text = re.sub(r"(?<![\d.,])(\d+)\s?¢", lambda m: _money("$", "0", m.group(1).zfill(2))
                  if len(m.group(1)) <= 2 else f" {_integer(m.group(1))} cents ", text)  # 50¢
    text = re.sub(r"((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)\s?%", lambda m: f" {m.group(1)} percent ", text)
    text = re.sub(r"(?<!\d)(\d{1,2}):(\d{2})(?!\d)", _time, text)
    text = re.sub(r"(?<![\d.,])'?(\d+)'?s\b", _plural_number, text)
    text = GLUED_UNIT_PATTERN.sub(_unit, text)
    text = re.sub(r"(\d+)\u2044(\d+)", lambda m: _fraction(m.group(1), m.group(2)), text)  # NFKC's ½
    text = re.sub(r"(?<![\d/.,])(?:(\d+) )?([1-7])/([2-48])(?![\d/])", _ascii_fraction, text)  # 1 1/2
    # 4. Numbers. Digits in three or more groups joined by dots (12.5.2024, 1.2.3, 192.168.0.1) are no
    # decimal number, and their dots no sentence end: each group is read, joined by "dot".
    text = re.sub(r"(?<![\d.])\d+(?:\.\d+){2,}(?![\d])", lambda m: " " + " dot ".join(
        year_to_words(int(g)) if _looks_like_year(g) else _integer(g) for g in m.group(0).split("."))
        + " ", text)
    text = re.sub(r"(?<![\w.,-])-(?=\.?\d)", " minus ", text)  # -5, -3.5, -.5; "5-3" was a range above
    text = re.sub(r"(?<=[^\W\d_])-(?=\d)|(?<=\d)-(?=[^\W\d_])", " ", text)  # COVID-19, 3-year-old
    text = re.sub(r"(?<![\d.])(\d[\d,]*)\.(\d+)",
                  lambda m: f" {_integer(m.group(1))} point {digits_to_words(m.group(2))} ", text)
    text = re.sub(r"(?<![\w.])\.(\d+)", lambda m: f" point {digits_to_words(m.group(1))} ", text)  # .5
    text = re.sub(r"\d{1,3}(?:,\d{3})+(?!\d)|\d+", _plain_number, text)
    # 5. Symbols, case, the alphabet
    text = text.translate(SYMBOLS)
    text = unicodedata.normalize("NFKC", text.lower())
    text = re.sub(r"[^a-z .,?!;:'-]", " ", text) if text.isascii() else \
        "".join(c if in_alphabet(c) else " " for c in text)  # (the same, for ASCII)
    text = re.sub(r"(?<![^\W_])-+|-+(?![^\W_])", ", ", text)  # a dash that joins no words is a pause
    text = re.sub(r"\s+([,.?!;:])", r"\1", text)  # no space before punctuation
    text = re.sub(r"([,.?!;:])(?:\s*[,;:])+", r"\1", text)  # ", ," left by removed brackets
    text = re.sub(r"([,;:])\s*(?=[,.?!;:])", "", text)  # ", ." -> "."
    text = re.sub(r"(?<=[,;:])(?=[^\s,.?!;:])", " ", text)  # a pause mark is followed by a space
    # 6. The end of a sentence
    return end_sentence(" ".join(text.split()).lstrip(" ,;:.?!"))


def split_text(text, max_bytes):
    """Normalised text -> parts of at most max_bytes UTF-8 bytes. Whole sentences are packed into a part
    while they fit; a sentence too long for one part is cut at commas, and a clause still too long
    between words (a single word longer than max_bytes is cut as it is)."""
    pieces = []
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        cuts = [sentence]
        for separator in (r"(?<=,)\s+", r"\s+"):  # too long: cut finer, first at commas, then at spaces
            cuts = [c for cut in cuts for c in
                    ([cut] if len(cut.encode()) <= max_bytes else re.split(separator, cut))]
        for cut in cuts:
            while len(cut.encode()) > max_bytes:  # one enormous "word"
                keep = len(cut.encode()[:max_bytes].decode(errors="ignore"))
                pieces.append(cut[:keep])
                cut = cut[keep:]
            if cut:
                pieces.append(cut)
    parts = []
    for piece in pieces:  # greedy packing; the joining space counts too
        if parts and len(parts[-1].encode()) + 1 + len(piece.encode()) <= max_bytes:
            parts[-1] += " " + piece
        else:
            parts.append(piece)
    return parts
