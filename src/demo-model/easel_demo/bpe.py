"""A byte-level BPE vocabulary learned from the captions, written in OpenAI CLIP's format
(vocab.json + merges.txt, "</w>" word ends, <|startoftext|>/<|endoftext|>), and a tokenizer that
reproduces CLIP's simple_tokenizer (and so Easel's ClipTokenizer) on it."""
import collections
import html
import json
import re

BOS = "<|startoftext|>"
EOS = "<|endoftext|>"
MAX_LENGTH = 77
# CLIP's pattern; captions are ASCII, so \p{L} / \p{N} reduce to these classes.
_PAT = re.compile(r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|[^\s\w]+|_+""",
                  re.IGNORECASE)


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


BYTE_ENCODER = bytes_to_unicode()


def clean(text):
    text = html.unescape(html.unescape(text)).strip()
    return re.sub(r"\s+", " ", text).strip().lower()


def pieces(text):
    return _PAT.findall(clean(text))


def word_symbols(piece):
    chars = [BYTE_ENCODER[b] for b in piece.encode("utf-8")]
    return tuple(chars[:-1]) + (chars[-1] + "</w>",)


def learn(captions, max_merges=2000):
    """Greedy BPE over the captions' word counts: merge the most frequent pair (ties: the pair
    first in sorted order, for determinism) until no pair occurs twice or max_merges is reached."""
    words = collections.Counter(p for c in captions for p in pieces(c))
    corpus = {word_symbols(w): n for w, n in words.items()}
    merges = []
    while len(merges) < max_merges:
        pairs = collections.Counter()
        for symbols, n in corpus.items():
            for a, b in zip(symbols, symbols[1:]):
                pairs[(a, b)] += n
        if not pairs:
            break
        best_count = max(pairs.values())
        if best_count < 2:
            break
        best = min(p for p, n in pairs.items() if n == best_count)
        merges.append(best)
        corpus = {_merge(symbols, best): n for symbols, n in corpus.items()}
    return merges


def _merge(symbols, pair):
    out, i = [], 0
    while i < len(symbols):
        if i < len(symbols) - 1 and (symbols[i], symbols[i + 1]) == pair:
            out.append(symbols[i] + symbols[i + 1])
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return tuple(out)


def vocab_of(merges):
    """CLIP's order: the 256 byte symbols, the same with </w>, one token per merge, then BOS, EOS."""
    base = list(BYTE_ENCODER.values())
    tokens = base + [t + "</w>" for t in base]
    seen = set(tokens)
    for a, b in merges:
        if a + b not in seen:
            tokens.append(a + b)
            seen.add(a + b)
    tokens += [BOS, EOS]
    return {t: i for i, t in enumerate(tokens)}


class Tokenizer:
    def __init__(self, vocab, merges):
        self.vocab = vocab
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.bos, self.eos = vocab[BOS], vocab[EOS]
        self.pad = self.eos
        self.cache = {}

    def bpe(self, piece):
        if piece in (BOS, EOS):
            return [self.vocab[piece]]
        if piece in self.cache:
            return self.cache[piece]
        word = word_symbols(piece)
        while len(word) > 1:
            pair = min(zip(word, word[1:]), key=lambda p: self.ranks.get(p, float("inf")))
            if pair not in self.ranks:
                break
            word = _merge(word, pair)
        ids = [self.vocab[s] for s in word]
        self.cache[piece] = ids
        return ids

    def encode(self, text):
        ids = [i for p in pieces(text) for i in self.bpe(p)][:MAX_LENGTH - 2]
        return [self.bos] + ids + [self.eos]

    def encode_padded(self, text):
        ids = self.encode(text)
        return ids + [self.pad] * (MAX_LENGTH - len(ids))


def read(directory):
    """The Tokenizer of a directory written by write()."""
    import os
    vocab = json.load(open(os.path.join(directory, "vocab.json"), encoding="utf-8"))
    lines = open(os.path.join(directory, "merges.txt"), encoding="utf-8").read().splitlines()[1:]
    return Tokenizer(vocab, [tuple(l.split(" ")) for l in lines if l])


def write(directory, vocab, merges):
    import os
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(directory, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for a, b in merges:
            f.write(f"{a} {b}\n")
    special = lambda content, normalized: {"content": content, "lstrip": False, "normalized": normalized,
                                           "rstrip": False, "single_word": False}
    with open(os.path.join(directory, "special_tokens_map.json"), "w") as f:
        json.dump({"bos_token": special(BOS, True), "eos_token": special(EOS, False),
                   "pad_token": special(EOS, False), "unk_token": special(EOS, False)}, f, indent=2)
    with open(os.path.join(directory, "tokenizer_config.json"), "w") as f:
        json.dump({"add_prefix_space": False, "bos_token": BOS, "clean_up_tokenization_spaces": True,
                   "do_lower_case": True, "eos_token": EOS, "errors": "replace", "model_max_length": MAX_LENGTH,
                   "pad_token": EOS, "tokenizer_class": "CLIPTokenizer", "unk_token": EOS}, f, indent=2)
