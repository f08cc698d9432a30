"""Text normalisation: numbers, money, times, abbreviations, and text that is not English at all."""
import pytest

from tokenizer.text import normalize, number_to_words, ordinal_to_words, year_to_words


@pytest.mark.parametrize("n, words", [
    (0, "zero"), (7, "seven"), (13, "thirteen"), (40, "forty"), (42, "forty two"), (100, "one hundred"),
    (105, "one hundred five"), (999, "nine hundred ninety nine"), (1000, "one thousand"),
    (12500, "twelve thousand five hundred"), (1_000_001, "one million one"),
    (2_300_000_000, "two billion three hundred million")])
def test_cardinals(n, words):
    assert number_to_words(n) == words


def test_ordinals_and_years():
    assert [ordinal_to_words(n) for n in (1, 2, 3, 5, 12, 20, 21, 100)] == [
        "first", "second", "third", "fifth", "twelfth", "twentieth", "twenty first", "one hundredth"]
    assert [year_to_words(n) for n in (1999, 1905, 1900, 2024)] == [
        "nineteen ninety nine", "nineteen oh five", "nineteen hundred", "twenty twenty four"]


@pytest.mark.parametrize("text, spoken", [
    ("Dr. Lee paid $12.50 at 3:05 on May 1st, 1999!",
     "doctor lee paid twelve dollars and fifty cents at three oh five on may first, nineteen ninety nine!"),
    ("I have 1999 apples.", "i have nineteen ninety nine apples."),
    ("It costs $2,500, or 50% less.", "it costs two thousand five hundred dollars, or fifty percent less."),
    ("In 2005 we met 12,500 people at 7:30 pm.",
     "in two thousand five we met twelve thousand five hundred people at seven thirty p m."),
    ("Pi is 3.14; call 007.", "pi is three point one four; call zero zero seven."),
    ("Is it $1 or £1.01?", "is it one dollar or one pound and one penny?"),
    ("He said no. No. 5 won.", "he said no. number five won."),
    ("At 12:00 it was -5 degrees.", "at twelve o'clock it was minus five degrees."),
    ("Rock & roll \u2014 \u201cyes\u201d\u2026", "rock and roll, yes..."),
    ("Mr. and Mrs. Smith (the best)", "mister and missus smith, the best"),
    ("Sales rose 1,250% in a year.", "sales rose one thousand two hundred fifty percent in a year."),
    ("Open at 9 a.m. on Sundays, closed at 5 p.m. Then we rest.",
     "open at nine a m on sundays, closed at five p m. then we rest."),
    ("We left at 6 p.m.", "we left at six p m."),
    ("Meet at 3:05 p.m. on Monday, or 4:10 p.m. Then rest.",
     "meet at three oh five p m on monday, or four ten p m. then rest."),
    ("The 1,000th visitor won $1.5 billion, not $5 million dollars.",
     "the one thousandth visitor won one point five billion dollars, not five million dollars."),
    ("Places 1st,2nd and 3rd.", "places first, second and third."),
    ('He said "meet at 3:05 p.m." Then he left.', 'he said meet at three oh five p m. then he left.'),
    # An abbreviation keeps the full stop that also ends its sentence; a title before a name does not end one.
    ("He lives on Main St. We sell pears, etc. Then we rest.",
     "he lives on main street. we sell pears, et cetera. then we rest."),
    ("Dr. Lee met Mr. Smith at St. Paul. I saw the Dr.", "doctor lee met mister smith at saint paul. i saw the doctor."),
    ("The U.S. team, e.g. mine.", "the u.s. team, e.g. mine."),
    ("Meet on 12.5.2024 with version 1.2.3.", "meet on twelve dot five dot twenty twenty four with version one dot two dot three."),
    ("co\u00adoperate zero\u200bwidth \U0001F44D\U0001F3FD great 1\ufe0f\u20e3 apple",
     "cooperate zerowidth great one apple"),  # soft hyphen, zero-width space, skin tone, keycap
])
def test_sentences(text, spoken):
    assert normalize(text) == spoken


@pytest.mark.parametrize("text", ["", "   ", "\x00\x07\x1b[31m", "😀🎉", "\t\n"])
def test_nothing_speakable_gives_empty_text(text):
    assert normalize(text) == ""


def test_normalised_text_normalises_to_itself():
    """infer.py and the training data normalise text that may already be normalised: a second pass must
    change nothing. Random strings of pieces the rules treat specially, glued or spaced."""
    import random
    pieces = ["Dr.", "St.", "etc.", "Mr.", "No.", "no.", "5", "1,000", "12.5", "$3.50", "3:05", "p.m.", "a.m.",
              "(", ")", "1999", "21st", "%", "-", "&", "Hello", "Main", ",", ".", "!", "?", ";", ":", "'", '"',
              "\u2014", "\u2026", "I", "the", "12.5.2024", "@", "#", "\u00ad", "\u200b", "\U0001F44D\U0001F3FD",
              "1\ufe0f\u20e3", "vs.", "Jr.", "e.g.", "U.S.", " ", "\n", "x"]
    rng = random.Random(0)
    for _ in range(3000):
        text = "".join(rng.choice(pieces) + rng.choice(["", " "]) for _ in range(rng.randint(1, 8)))
        once = normalize(text)
        assert normalize(once) == once, (text, once)


def test_any_unicode_passes_without_error():
    assert normalize("naïve café 中文 Ελληνικά") == "naïve café 中文 ελληνικά"
    long_text = "The 3rd of 12 sentences costs $4.50. " * 300  # ~11,000 characters
    assert normalize(long_text).count("four dollars and fifty cents") == 300
