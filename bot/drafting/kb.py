"""The knowledge base: Markdown articles with a small front matter, searched with BM25.

An article is one ``.md`` file::

    ---
    title: Shipping Policy
    version: v2.1
    url: https://help.example.com/shipping     (optional)
    ---
    # Shipping Policy

    ## Processing time
    Orders placed before 2 PM Eastern ...

Every paragraph is a passage. ``search`` ranks whole articles with llama-index's BM25
retriever, then ranks each found article's passages with a second BM25 index over passages
(indexed text: article title, section heading, paragraph), so a drafter can answer from the
best article's most relevant passage. llama-index is imported on first search (or
``warm()``), never at import time; both indexes are built once per version of the articles.
Stopwords (bm25s' larger English list) are dropped and words are stemmed.

Relevance (0..1) is the BM25 score passed through a saturation, ``score / (score + h)``:
BM25 scores are unbounded and grow with the number of question words an article matches,
so the raw score orders articles but does not read as a percentage. ``h`` is the score an
average-length article gets for one mention of a word that a third of the articles use (that
word's IDF): an article that matches the question only that well is 50 % relevant; one that
shares several distinctive words with it (a score of 4 h) is 80 % relevant. An article
sharing no word with the question is not returned.
"""

from __future__ import annotations

import importlib.resources
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bot.domain import KbSource

if TYPE_CHECKING:
    from llama_index.core.schema import NodeWithScore
    from llama_index.retrievers.bm25 import BM25Retriever

# The retriever's default token pattern, so the query is split the way the index was.
_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
RECHECK_SECONDS = 5.0  # how often a search looks whether the folder changed
log = logging.getLogger("occ.kb")


class KnowledgeBaseError(ValueError):
    """The knowledge base folder or one of its articles cannot be used."""


@dataclass(frozen=True)
class Passage:
    heading: str | None
    text: str


@dataclass(frozen=True)
class Article:
    title: str
    version: str | None
    url: str | None
    body: str
    passages: tuple[Passage, ...]
    source: str

    def as_source(self, relevance: float | None = None) -> KbSource:
        return KbSource(
            title=self.title,
            version=self.version,
            relevance=None if relevance is None else round(relevance, 2),
            url=self.url,
        )


@dataclass(frozen=True)
class ScoredPassage:
    passage: Passage
    score: float


@dataclass(frozen=True)
class Hit:
    """One article found by a search.

    Args:
        article: the article.
        score: its BM25 score for the query.
        relevance: 0..1, derived from ``score`` (module docstring).
        passages: its passages that match the query, best first (never empty).
        matched: how many of the query's words (stemmed, stop words left out) the article
            contains; ``coverage`` is their share of the query's words, and ``in_title``
            whether one is in the article's title. One rare word in common scores well in
            BM25 but is no answer, unless the article is about that word.
    """

    article: Article
    score: float
    relevance: float
    passages: tuple[ScoredPassage, ...]
    matched: int = 1
    coverage: float = 1.0
    in_title: bool = True

    @property
    def passage(self) -> Passage:
        """The article's most relevant passage."""
        return self.passages[0].passage

    def as_source(self) -> KbSource:
        return self.article.as_source(self.relevance)


class _ArticleFile(Protocol):
    """A ``Path`` or an ``importlib.resources`` Traversable."""

    @property
    def name(self) -> str: ...

    def read_text(self, encoding: str | None = None) -> str: ...


def parse_article(text: str, source: str) -> Article:
    """Parses one Markdown article; ``source`` names it in errors."""
    meta: dict[str, str] = {}
    body = text
    match = _FRONT_MATTER.match(text)
    if match:
        meta = _parse_front_matter(match.group(1), source)
        body = text[match.end() :]
    lines = body.splitlines()
    title = meta.get("title") or _first_h1(lines)
    if not title:
        raise KnowledgeBaseError(f"{source}: no title (add 'title: ...' to the front matter)")
    passages = _passages(lines, title)
    if not passages:
        raise KnowledgeBaseError(f"{source}: article '{title}' has no text")
    return Article(
        title=title,
        version=meta.get("version") or None,
        url=meta.get("url") or None,
        body=body.strip(),
        passages=passages,
        source=source,
    )


def _parse_front_matter(block: str, source: str) -> dict[str, str]:
    meta: dict[str, str] = {}
    for number, raw in enumerate(block.splitlines(), start=2):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep or not key.strip():
            raise KnowledgeBaseError(
                f"{source}, line {number}: front matter lines must read 'key: value', got {raw!r}"
            )
        meta[key.strip().lower()] = value.strip().strip("\"'")
    return meta


def _first_h1(lines: Sequence[str]) -> str | None:
    for line in lines:
        heading = _HEADING.match(line)
        if heading and len(heading.group(1)) == 1:
            return heading.group(2)
    return None


def _passages(lines: Sequence[str], title: str) -> tuple[Passage, ...]:
    passages: list[Passage] = []
    heading: str | None = None
    block: list[str] = []

    def flush() -> None:
        if block:
            is_list = any(_LIST_ITEM.match(line) for line in block)
            text = "\n".join(block) if is_list else " ".join(line.strip() for line in block)
            passages.append(Passage(heading=heading, text=text))
            block.clear()

    for line in lines:
        match = _HEADING.match(line)
        if match:
            flush()
            text = match.group(2)
            # The H1 repeats the title; it names no section.
            heading = None if len(match.group(1)) == 1 and text == title else text
        elif line.strip():
            block.append(line.rstrip())
        else:
            flush()
    flush()
    return tuple(passages)


class KnowledgeBase:
    """Articles plus a BM25 index over their passages, built on first use.

    Loaded from a folder, it is re-read when the folder changes (a file added, removed or
    edited), checked at most every ``recheck_seconds`` when searched: operators keep their
    policies as they always do, without a restart. An edit that does not parse changes
    nothing: the articles before it stay in use and a warning names the file.
    """

    def __init__(
        self,
        articles: Sequence[Article],
        *,
        location: str,
        directory: Path | None = None,
        recheck_seconds: float = RECHECK_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        allow_empty: bool = False,
    ) -> None:
        if not articles and not allow_empty:
            raise KnowledgeBaseError(f"{location}: no articles")
        self._allow_empty = allow_empty
        self.articles = tuple(articles)
        self.location = location
        self._lock = threading.Lock()
        self._index: _Index | None = None
        self._directory = directory
        self._recheck_seconds = recheck_seconds
        self._monotonic = monotonic
        self._checked_at = monotonic()
        self._signature = _signature(directory) if directory is not None else ()
        self.reloads = 0

    @classmethod
    def load(
        cls, directory: Path | None, *, allow_empty: bool = False, **options: Any
    ) -> KnowledgeBase:
        """Reads every ``*.md`` in ``directory``; None: the sample KB shipped with the bot.
        ``allow_empty``: a folder with no article yet is no error (a sync fills it); until
        then every search finds nothing."""
        if directory is None:
            root = importlib.resources.files("bot") / "kb"
            files: list[_ArticleFile] = [f for f in root.iterdir() if f.name.endswith(".md")]
            return cls(
                _articles(files, "bot/kb (packaged sample)"), location="bot/kb (packaged sample)"
            )
        path = _folder(directory)
        return cls(
            _articles(_markdown(path), str(path), allow_empty),
            location=str(path),
            directory=path,
            allow_empty=allow_empty,
            **options,
        )

    def search(self, query: str, k: int = 3) -> list[Hit]:
        """The ``k`` best-matching articles, best first; only articles that match at all."""
        if not 1 <= k <= MAX_HITS:
            raise ValueError(f"k must be 1..{MAX_HITS}")
        with self._lock:  # also serialises the stemmer, which is not thread-safe
            self._reload_if_changed()
            return self._built().search(query, k) if self.articles else []

    def recheck(self) -> None:
        """Look at the folder again on the next search (its files were just rewritten)."""
        self._checked_at = -math.inf

    def warm(self) -> None:
        """Builds the index now (imports llama-index), so the first search is quick."""
        with self._lock:
            if self.articles:
                self._built()

    def _built(self) -> _Index:
        if self._index is None:
            self._index = _Index(self.articles)
        return self._index

    def _reload_if_changed(self) -> None:
        if self._directory is None:
            return
        now = self._monotonic()
        if now - self._checked_at < self._recheck_seconds:
            return
        self._checked_at = now
        signature = _signature(self._directory)
        if signature == self._signature:
            return
        try:
            folder = _markdown(_folder(self._directory))
            articles = _articles(folder, self.location, self._allow_empty)
        except KnowledgeBaseError as error:
            log.warning("knowledge base not reloaded, the articles before stay in use: %s", error)
            self._signature = signature  # warn once per change, not on every search
            return
        self.articles, self._index, self._signature = articles, None, signature
        self.reloads += 1
        log.info("knowledge base reloaded from %s: %s articles", self.location, len(articles))


def _folder(directory: Path) -> Path:
    path = Path(directory).expanduser()
    if not path.exists():
        raise KnowledgeBaseError(f"knowledge base folder {path} does not exist")
    if not path.is_dir():
        raise KnowledgeBaseError(f"knowledge base path {path} is not a folder")
    return path


def _markdown(path: Path) -> list[_ArticleFile]:
    return [f for f in path.iterdir() if f.suffix == ".md" and f.is_file()]


def _articles(
    files: Sequence[_ArticleFile], location: str, allow_empty: bool = False
) -> tuple[Article, ...]:
    if not files and not allow_empty:
        raise KnowledgeBaseError(f"no Markdown articles (*.md) in {location}")
    return tuple(_read(f, location) for f in sorted(files, key=lambda f: f.name))


def _signature(directory: Path) -> tuple[tuple[str, int, int], ...]:
    """What changes when an article is added, removed or edited."""
    try:
        found = [(f, f.stat()) for f in Path(directory).expanduser().glob("*.md")]
    except OSError:
        return ()
    return tuple(sorted((f.name, st.st_mtime_ns, st.st_size) for f, st in found))


def _read(file: _ArticleFile, location: str) -> Article:
    source = f"{location}/{file.name}"
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeBaseError(f"{source}: cannot read article: {exc}") from exc
    return parse_article(text, source)


TITLE_WEIGHT = 3
# A search ranks this many articles at most, and this many passages across all articles (the
# best hits' best passages are among them; ranking every passage of a large base is slow).
MAX_HITS = 20
PASSAGES_RANKED = 100
# Words every kind of support message uses: they say nothing about which article answers it
# ("THIRD TIME asking!" must not match "ask your neighbors").
SUPPORT_STOPWORDS = frozenset(
    ("ask", "asking", "asked", "time", "times", "need", "want", "help", "now", "today", "again")
)


class _Index:
    def __init__(self, articles: Sequence[Article]) -> None:
        import Stemmer
        from bm25s.stopwords import STOPWORDS_EN_PLUS

        self._articles = tuple(articles)
        self._entries = [
            (position, passage)
            for position, article in enumerate(articles)
            for passage in article.passages
        ]
        self._stopwords = frozenset(STOPWORDS_EN_PLUS) | SUPPORT_STOPWORDS
        self._stemmer: Any = Stemmer.Stemmer("english")
        # An article's title says what it is for: it counts as much as a few passages' words.
        self._by_article = self._retriever(
            MAX_HITS,
            [
                " ".join(
                    [
                        *[a.title] * TITLE_WEIGHT,
                        *(x for p in a.passages for x in (p.heading, p.text) if x),
                    ]
                )
                for a in articles
            ],
        )
        self._by_passage = self._retriever(
            PASSAGES_RANKED,
            [
                " ".join(filter(None, (articles[position].title, passage.heading, passage.text)))
                for position, passage in self._entries
            ],
        )
        self._vocabulary = [
            frozenset(self._stems(" ".join([a.title, *(p.text for p in a.passages)])))
            for a in articles
        ]
        self._title_words = [frozenset(self._stems(a.title)) for a in articles]
        n = len(articles)
        self._half_relevance = math.log(1 + (n - n / 3 + 0.5) / (n / 3 + 0.5))

    def _retriever(self, top: int, texts: list[str]) -> BM25Retriever:
        from llama_index.core.schema import TextNode
        from llama_index.retrievers.bm25 import BM25Retriever

        # bm25s sets its own logger to DEBUG when imported; its index-building notes are noise.
        logging.getLogger("bm25s").setLevel(logging.WARNING)

        return BM25Retriever.from_defaults(
            nodes=[TextNode(id_=str(i), text=text) for i, text in enumerate(texts)],
            stemmer=self._stemmer,
            language=sorted(self._stopwords),
            similarity_top_k=min(top, len(texts)),
        )

    def search(self, query: str, k: int) -> list[Hit]:
        words = [w for w in _TOKEN.findall(query.lower()) if w not in self._stopwords]
        if not words:
            return []
        text = " ".join(words)
        asked = frozenset(self._stems(text))
        articles = _positive(self._by_article.retrieve(text))[:k]
        passages: dict[int, list[ScoredPassage]] = {}
        for entry, score in _positive(self._by_passage.retrieve(text)):
            position, passage = self._entries[entry]
            passages.setdefault(position, []).append(ScoredPassage(passage, score))
        return [
            Hit(
                article=self._articles[position],
                score=score,
                relevance=score / (score + self._half_relevance),
                passages=tuple(
                    passages.get(position)
                    or [ScoredPassage(self._articles[position].passages[0], 0.0)]
                ),
                matched=len(asked & self._vocabulary[position]),
                coverage=len(asked & self._vocabulary[position]) / len(asked) if asked else 0.0,
                in_title=bool(asked & self._title_words[position]),
            )
            for position, score in articles
        ]

    def _stems(self, text: str) -> list[str]:
        words = [w for w in _TOKEN.findall(text.lower()) if w not in self._stopwords]
        return list(self._stemmer.stemWords(words))


def _positive(results: Sequence[NodeWithScore]) -> list[tuple[int, float]]:
    """(node number, score) for the results that match at all, best first, ties in KB order."""
    scored = [(int(r.node.node_id), float(r.score or 0.0)) for r in results]
    return sorted(((i, s) for i, s in scored if s > 0), key=lambda item: (-item[1], item[0]))
