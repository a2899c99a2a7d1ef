"""Text preparation shared by every rule: one normal form, so that word lists are written
once ("i'm", lower case, straight quotes) and still match "I am", "Im", "I\u2019M"."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

# Typographic quotes and dashes to their ASCII forms; invisible characters removed
# (they are refused in stored text, but `tryst safety check` reads raw files, and a
# zero-width space is the cheapest way to split a word past a word list).
_TRANSLATE = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u02bc": "'", "\u00b4": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
    "\u200b": None, "\u200c": None, "\u200d": None, "\u2060": None, "\ufeff": None,
    "\u00ad": None,
})
# Runs of horizontal white space, and any that is not a plain space: single spaces are
# left alone (matching each of them would cost more than the rest of preparing).
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]{2,}|[\t\r\f\v\u00a0]")
# Common spellings folded to one canonical form. "lets" -> "let's" is harmless where it
# is the verb ("she let's him" matches nothing).
_CANONICAL = {
    "im": "i'm", "i am": "i'm", "iam": "i'm", "u": "you", "ur": "your", "dont": "don't",
    "whats": "what's", "lets": "let's", "i will": "i'll", "youre": "you're", "ive": "i've",
    "cant": "can't", "wont": "won't", "thats": "that's", "didnt": "didn't",
    "doesnt": "doesn't", "isnt": "isn't", "we are": "we're", "i have": "i've",
}


def _wordish(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _trie(phrases: list[str]) -> str:
    root: dict[str, Any] = {}
    for phrase in phrases:
        node = root
        for ch in phrase:
            node = node.setdefault(ch, {})
        node[""] = {}  # a phrase ends here
    return _trie_source(root)


def _trie_source(node: dict[str, Any]) -> str:
    ends = "" in node
    branches = [(r"\s+" if ch == " " else re.escape(ch)) + _trie_source(child)
                for ch, child in sorted(node.items()) if ch != ""]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    # Greedy optional: the longer phrase is tried first ("sending" before "send").
    return f"(?:{body})?" if ends else body


_CANONICAL_RE = re.compile(r"(?<![\w'])" + _trie(list(_CANONICAL)) + r"(?![\w'])")


def _canonical(match: re.Match[str]) -> str:
    return _CANONICAL[" ".join(match.group().split())]


def prepare(text: str, max_chars: int) -> str:
    """The normal form every rule reads: NFKC (full-width digits and letters folded),
    case-folded, straight quotes, single spaces (newlines kept), canonical contractions.

    Text longer than ``max_chars`` is cut to its first and last ``max_chars // 2``
    characters, which bounds the time spent on one message; what sits in the middle of
    a very long message is not examined (a documented blind spot).
    """
    if len(text) > max_chars:
        half = max_chars // 2
        text = text[:half] + "\n" + text[-half:]
    text = unicodedata.normalize("NFKC", text).translate(_TRANSLATE).casefold()
    text = _SPACES.sub(" ", text)
    return _CANONICAL_RE.sub(_canonical, text)


def canonical_phrase(phrase: str) -> str:
    """A configured phrase in the same normal form as prepared text."""
    return prepare(phrase.strip(), 10_000)


def alternation(phrases: Iterable[str]) -> str:
    """A regular expression (source) matching any of the literal phrases as whole words;
    spaces in a phrase match any run of white space. Literal phrases only, so operator
    lists can never cause catastrophic backtracking.

    The phrases are laid out as a character trie ("send|sending|share" becomes
    "s(?:end(?:ing)?|hare)") with the word-boundary checks outside it: that lets the
    regular expression engine reject most positions on their first character, about 30
    times faster than a flat list of alternatives that each start with a look-behind.
    """
    groups: dict[tuple[bool, bool], list[str]] = {}
    for phrase in {canonical_phrase(p) for p in phrases if p.strip()}:
        key = (_wordish(phrase[0]), _wordish(phrase[-1]))
        groups.setdefault(key, []).append(phrase)
    parts = []
    for (head, tail), members in sorted(groups.items()):
        parts.append((r"(?<!\w)" if head else "") + _trie(members) + (r"(?!\w)" if tail else ""))
    # (?!x)x never matches: an empty list must not match everything.
    return "(?:" + "|".join(parts) + ")" if parts else "(?!x)x"


def compile_phrases(phrases: Iterable[str]) -> re.Pattern[str]:
    """``alternation`` compiled."""
    return re.compile(alternation(phrases))


def quoted_spans(text: str) -> list[tuple[int, int]]:
    """Start and end of each double-quoted stretch (up to 400 characters, one line)."""
    return [m.span() for m in _QUOTED.finditer(text)]


_QUOTED = re.compile(r'"[^"\n]{1,400}"')


def inside(position: int, spans: list[tuple[int, int]]) -> bool:
    """Whether ``position`` falls inside one of ``spans``."""
    return any(start < position < end for start, end in spans)


# Words, numbers, and the signs some rules need ("$", "@") as words of their own.
_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*|\d+|[$£€@]")
# A pseudo-word present when the message has a number (a tokeniser never yields "<").
DIGIT = "<digit>"
# A sentence ends after . ! ? followed by white space, or at a newline.
_SENTENCE_END = re.compile(r"[.!?]+(?=\s)|\n")
# Messages up to this length are one window: splitting would cost more than it saves.
_SPLIT_ABOVE = 300
_MIN_WINDOW = 60


@dataclass(frozen=True, slots=True)
class Prepared:
    """A message in normal form, with what the rules' gates look at: its words, numbers
    (``DIGIT``) and signs as a set; for long messages, also which sentences hold each
    word, so that a pattern runs only over the sentences that hold its gate words."""

    text: str
    tokens: frozenset[str]
    sentences: tuple[tuple[int, int], ...] = ()
    masks: Mapping[str, int] = field(default_factory=dict)  # word -> bit per sentence

    @property
    def has_digit(self) -> bool:
        return DIGIT in self.tokens

    def any_of(self, gate: frozenset[str] | None) -> bool:
        """Whether any gate word occurs (always true for a None gate)."""
        return gate is None or not self.tokens.isdisjoint(gate)

    def ranges(self, *gates: frozenset[str] | None) -> list[tuple[int, int]]:
        """Where a pattern that needs a word of each gate can match: nowhere if a gate
        has no word here; the whole of a short message; else the sentences holding a word
        of every gate, adjacent ones merged. Patterns must not need to see across a
        sentence end they do not hold (none of the rules' patterns does)."""
        tokens = self.tokens
        for gate in gates:
            if gate is not None and tokens.isdisjoint(gate):
                return []
        if not self.sentences:
            return [(0, len(self.text))]
        mask = -1
        for gate in gates:
            if gate is not None:
                bits = 0
                for word in self.tokens & gate:
                    bits |= self.masks[word]
                mask &= bits
        out: list[tuple[int, int]] = []
        for index, (start, end) in enumerate(self.sentences):
            if mask >> index & 1:
                if out and out[-1][1] == start:
                    out[-1] = (out[-1][0], end)
                else:
                    out.append((start, end))
        return out


def _words(text: str, start: int = 0, end: int | None = None) -> set[str]:
    words = set(_TOKEN.findall(text, start, len(text) if end is None else end))
    # "character's", "boss's": patterns allow a possessive, so the bare word counts too
    words.update([w.split("'", 1)[0] for w in words if "'" in w])
    if any(w[0].isdigit() for w in words):
        words.add(DIGIT)
    return words


def prepared(text: str, max_chars: int) -> Prepared:
    """``prepare`` plus the words, computed once per message for every module."""
    normal = prepare(text, max_chars)
    if len(normal) <= _SPLIT_ABOVE:
        return Prepared(normal, frozenset(_words(normal)))
    sentences: list[tuple[int, int]] = []
    start = 0
    for end in [m.end() for m in _SENTENCE_END.finditer(normal)] + [len(normal)]:
        # Short sentences are joined into windows of at least _MIN_WINDOW characters,
        # which bounds the bookkeeping for text made of thousands of tiny lines.
        if end - start >= _MIN_WINDOW or (end == len(normal) and end > start):
            sentences.append((start, end))
            start = end
    masks: dict[str, int] = {}
    everything: set[str] = set()
    for index, (start, end) in enumerate(sentences):
        words = _words(normal, start, end)
        bit = 1 << index
        for word in words:
            masks[word] = masks.get(word, 0) | bit
        everything |= words
    return Prepared(normal, frozenset(everything), tuple(sentences), masks)


def finditer(pattern: re.Pattern[str], prepared: Prepared,
             *gates: frozenset[str] | None) -> Iterator[re.Match[str]]:
    """``pattern.finditer`` over the parts of the message where ``gates`` allow a match."""
    spans = prepared.ranges(*gates)
    if len(spans) == 1:  # the common case, without a generator's overhead
        return pattern.finditer(prepared.text, *spans[0])
    return chain.from_iterable(pattern.finditer(prepared.text, start, end)
                               for start, end in spans)


def search(pattern: re.Pattern[str], prepared: Prepared,
           *gates: frozenset[str] | None) -> re.Match[str] | None:
    """``pattern.search`` over the parts of the message where ``gates`` allow a match."""
    for start, end in prepared.ranges(*gates):
        found = pattern.search(prepared.text, start, end)
        if found is not None:
            return found
    return None


def union(*gates: frozenset[str] | None) -> frozenset[str] | None:
    """The union of gates; None (always open) when any of them is."""
    out: set[str] = set()
    for gate in gates:
        if gate is None:
            return None
        out |= gate
    return frozenset(out)


# Words too common to be a good gate: a phrase is gated on its longest other word.
_COMMON = frozenset({
    "a", "an", "the", "i", "i'm", "i've", "i'll", "i'd", "me", "my", "you", "your", "you're",
    "we", "we're", "us", "our", "it", "it's", "this", "that", "these", "those", "is", "are",
    "was", "were", "be", "been", "am", "do", "don't", "does", "did", "not", "no", "yes", "to",
    "of", "in", "on", "at", "by", "for", "from", "with", "and", "or", "but", "so", "if", "as",
    "up", "out", "about", "all", "any", "some", "just", "only", "still", "now", "then", "than",
    "too", "very", "can", "can't", "will", "won't", "would", "get", "got", "have", "has",
    "had", "let's", "go", "going"})


def gate_words(phrases: Iterable[str]) -> frozenset[str] | None:
    """One word from each phrase (its longest uncommon word), such that a message that
    contains any of the phrases contains at least one of these words. A module whose
    phrases are all absent from a message need not run its regular expressions on it:
    most ordinary chat passes every gate in a few microseconds. None when a phrase has
    no word at all (it cannot be gated)."""
    words: set[str] = set()
    for phrase in phrases:
        found = _TOKEN.findall(canonical_phrase(phrase))
        if not found:
            return None
        rare = [w for w in found if w not in _COMMON] or found
        words.add(max(rare, key=len))
    return frozenset(words)
