"""The default generator: a question-aware extractive composer. Sentences are quoted verbatim, one citation each.

Candidate sentences come from the retrieved passages (and, for a retrieved source card, from the article passages
that cite that work). Each is scored by cosine similarity to the question (sentence vectors computed at index time),
lexical overlap with the question, the passage's fused rank, and what the question asks for (a date, a number, a
source, a list). The best few non-redundant sentences are kept, ordered as they stand in the article.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import Stemmer

from index.acronyms import acronyms, aliases
from index.store import IndexHandle
from index.store import passage_sentences as passage_spans
from index.types import Passage
from rag.types import Citation, ScoredPassage, SourceRef

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "by",
        "with",
        "and",
        "or",
        "but",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "do",
        "does",
        "did",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "many",
        "much",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "as",
        "from",
        "into",
        "about",
        "than",
        "then",
        "there",
        "their",
        "they",
        "them",
        "he",
        "she",
        "his",
        "her",
        "we",
        "our",
        "you",
        "your",
        "i",
        "me",
        "my",
        "not",
        "no",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "has",
        "have",
        "had",
        "also",
        "ones",  # "which ones": a pronoun
        "any",
        "some",
        "such",
        "so",
        "if",
        "according",
        "article",
        "author",
        "does",
        "did",
        "say",
        "says",
        "said",
        "tell",
        "give",
        "name",
        "list",
        "csto",
        "organization",
        "collective",
        "security",
        "treaty",
    ]
)
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_NUMBER = re.compile(r"\d")


_STEMMER = Stemmer.Stemmer("english")


# British spellings a user types, as the article (American) prints them: "defence policy", "organisation"
_BRITISH = [
    (re.compile(r"\b(defen|offen|licen|preten)ce(s?)\b", re.I), r"\1se\2"),
    (re.compile(r"\b(\w{3,})isation(s?)\b", re.I), r"\1ization\2"),
    (
        re.compile(
            r"\b(recogn|organ|priorit|militar|securit|character|critic|emphas|modern|real|mobil|stabil|legitim|"
            r"summar|util|minim|maxim|normal|central|institutional|capital|special|standard|jeopard|author|"
            r"subsid|apolog|final|formal|internation|regional|harmon|synchron|optim|scrutin)is(e|ed|es|ing)\b",
            re.I,
        ),
        r"\1iz\2",
    ),
    (re.compile(r"\b(anal|paral)ys(e|ed|es|ing)\b", re.I), r"\1yz\2"),
    (
        re.compile(r"\b(behavi|favo|neighbo|labo|colo|hono|harbo|endeavo|rumo|vigo|armo)ur(\w*)\b", re.I),
        r"\1r\2",
    ),
    (re.compile(r"\b(cent|met|theat|fib)re(s?)\b", re.I), r"\1er\2"),
    (re.compile(r"\bprogramme(s?)\b", re.I), r"program\1"),
]


def american(text: str) -> str:
    """The text with British spellings made American, as the article writes them ("defence" -> "defense")."""
    for pattern, repl in _BRITISH:
        text = pattern.sub(repl, text)
    return text


def content_words(text: str) -> list[str]:
    """Stemmed, lower-cased words of a text without stop words (Snowball, as BM25 uses), spelled as in American."""
    return list(_content_words(text))


@functools.lru_cache(maxsize=16384)  # the corpus's sentences are read for every question
def _content_words(text: str) -> tuple[str, ...]:
    words = []
    for w in _WORD.findall(text.lower().replace("*", "")):
        w = _american_word(w.replace("’", "'").split("'")[0])
        if w not in STOPWORDS and len(w) >= 2:
            words.append(w)
    return tuple(_STEMMER.stemWords(words))


@functools.lru_cache(maxsize=16384)
def _american_word(word: str) -> str:
    return american(word)


# a person's particulars, asked of the paper's own author (said as "the author"): a paper's argument never gives
# them, only a note about her could ("How old is the author?", "the writer's nationality", "Is she married?")
_HER = r"(?:the|this|its) (?:paper's |article's |paper’s |article’s )?(?:author|writer)"
_PERSONAL = re.compile(
    rf"\b{_HER}(?:'s|’s) (?:\w+ )?(?:age|nationality|citizenship|birth\w*|religion|gender|salary|hometown|husband|"
    rf"wife|children|kids|family|phone)\b(?! name)|"
    rf"\bhow old is {_HER}\b|\b(?:when|where) was {_HER} born\b|\bwhere (?:is|was|does|did) {_HER} (?:come )?from\b|"
    rf"\b{_HER} (?:teach|teaches|taught|lives?|lived)\b|\b(?:does|did) {_HER} (?:teach|live)\b|"
    rf"\bis {_HER} (?:married|a (?:man|woman|mother|father)|russian|american|canadian|british|english|french|german|"
    rf"kazakh|armenian|belarusian)\b",
    re.I,
)
# what a note about an author gives: her affiliation, work, studies and contact
_WHAT_THE_NOTE_GIVES = re.compile(
    rf"\bwhat does {_HER} do\b|\bwhere (?:does|did) {_HER} (?:work|study|studied|train|trained)\b|"
    rf"\b{_HER}(?:'s|’s)? (?:affiliation|institution|university|background|job|position|role|credentials|"
    rf"qualifications?|degree|education|career|bio|biography|employer|work|contact|e-?mail)\b",
    re.I,
)

# a question that names a part of the article ("the conclusion", "the introduction sets out", "overall verdict")
STRUCTURE_CUES = {
    "end": re.compile(
        r"\bconclu(?:sion|des?|ding)\b|\boverall (?:verdict|assessment|conclusion|judg(?:e)?ment|view|take|position|"
        r"argument|point|message|evaluation|stance|thesis|opinion)\b|\bverdict\b|\ball things considered\b|"
        r"\bbottom line\b|"
        r"\bin the end\b|\bfinal (?:word|thought|remark|assessment)s?\b|\bway forward\b|"
        r"\b(?:closing|final|last|concluding) (?:section|part|paragraph|page|remark|word)s?\b|\bwraps? up\b|"
        r"\bthe end of the (?:article|paper|text)\b",
        re.I,
    ),
    "start": re.compile(
        r"\bintroduction\b|\bsets? out\b|\bresearch questions?\b|\bat the (?:start|outset|beginning)\b|"
        # "the paper's summary", not "quick summary please" (a form asked for the answer)
        r"\babstract\b|\b(?:the|its|this|article's|paper's|author's|article’s|paper’s|author’s) summary\b|"
        r"\baims? (?:of|to)\b|\b(?:opening|first) (?:section|part|paragraph|page)s?\b|"
        # what the paper itself is about: "what is the article about", "the topic of this paper"
        # (not "what was the article about", a follow-up on a cited article)
        r"\bwhat(?:'s|’s| is) (?:this|the) (?:paper|article|piece|study|essay) (?:all )?about\b|"
        r"\bwhat does (?:this|the) (?:paper|article|piece|study|essay) (?:examine|cover|discuss|study|"
        r"investigate|look at|deal with|focus on|do)\b|"
        r"\b(?:topic|subject|theme|focus|purpose) of (?:this|the) (?:paper|article|piece|study|essay)\b",
        re.I,
    ),
    # the paper's front matter: "the paper's key words", "which journal published this article", "its ISSN"
    "front": re.compile(
        r"\bkey ?words\b|\bISSN\b|\b(?:which|what) (?:journal|issue|volume)\b|"
        r"\b(?:published|appear|appeared|came out) (?:in|by|when)\b|"
        r"\bwhen was (?:this|the) (?:paper|article) published\b",
        re.I,
    ),
    # the paper's own author: "who wrote this paper", "the author's background", "about the author"
    "author": re.compile(
        r"\bwho (?:wrote|authored|is behind|penned) (?:this|the) (?:paper|article|piece|text|study)\b|"
        r"\bwho (?:is|was) (?:the|its|this) (?:paper(?:'s|’s) |article(?:'s|’s) )?author\b(?! of\b)|"
        r"\babout the author\b|"
        r"\b(?:author|writer) of (?:this|the) (?:paper|article|piece)\b(?! (?:on|about|by|in)\b)|"
        r"\b(?:this|the) (?:paper|article)(?:'s|’s) (?:author|writer)\b|" + _WHAT_THE_NOTE_GIVES.pattern,
        re.I,
    ),
}

_PART_NAMED = 0.25  # a sentence of the part of the article the question names ("the conclusion", "at the outset")
# the sentence that states the verdict: what a question asking for the article's verdict wants first
_CONCLUDES = re.compile(
    r"^(?:in conclusion|to conclude|in sum|in summary|to sum up|in short|overall|ultimately|all in all|"
    r"on balance|in the end|taken together)\b",
    re.I,
)
# ... when the verdict itself is asked ("the author's overall verdict"), not a point made in the conclusion
_VERDICT_ASKED = re.compile(
    r"\bverdict\b|\boverall (?:assessment|judge?ment|view|take|conclusion|evaluation)\b|"
    r"\b(?:main|key|central|overall|final) (?:conclusion|assessment|judge?ment)\b|"
    r"\bwhat does (?:the author|she|the (?:article|paper)) conclude\b",
    re.I,
)


def article_parts(handle: IndexHandle) -> dict[str, list[Passage]]:
    """The article's opening (abstract and Introduction), its closing paragraphs (the last two, last first), the
    note about its author and its front matter (title, journal, key words)."""
    body = sorted(
        (
            p
            for p in handle.passages.values()
            if p.kind == "article" and p.paragraph and p.section != "About the author"
        ),
        key=lambda p: p.start,
    )
    return {
        "start": [p for p in body if p.section in ("Summary", "Introduction")],
        "end": [p for p in body if p.section == body[-1].section][-2:][::-1] if body else [],
        "author": [  # the note about her, and the byline ("The article ... is by ...")
            p for p in handle.passages.values() if p.kind == "article" and p.section in ("About the author", "Title")
        ],
        "front": [p for p in handle.passages.values() if p.kind == "article" and p.section == "Title"],
    }


@dataclass(frozen=True)
class QuestionType:
    """What kind of answer a question wants."""

    when: bool
    number: bool
    source: bool
    listing: bool
    reason: bool
    bibliographic: bool
    where: bool = False
    who_is: bool = False
    broad: bool = False  # a picture asked for, not one fact: "summarise", "the overall verdict", "both sides"


# a question asking for a person ("who argues", "which scholar"), not a document
_PERSON_ASKED = re.compile(
    r"\bwho\b|\b(?:authors?|scholars?|analysts?|researchers?|academics?|experts?|writers?|commentators?|critics?|"
    r"specialists?)\b",
    re.I,
)
# verbs of "who said it" questions (answered by the cited work), as opposed to "who did it" questions
_ATTRIBUTION_VERBS = (
    r"argue|say|said|contend|note|claim|state|conclude|describe|call|write|wrote|suggest|observe|warn|hold|held|"
    r"identif|cite|coin|present|report|link|criticis|critiqu|label|consider|reason|believe|assert|stress|point|"
    r"characteri[sz]|depict|portray|dub|term|brand|credit|dismiss|deem|regard|view|frame|liken|accuse|praise|"
    r"maintain|insist|posit|emphasi[sz]|highlight|argued|judge|assess|evaluat|caution"
)


# the article itself ("per the paper", "in this article", "the paper says"), not a work it cites
_SELF_REFERENCE = re.compile(r"\b(?:the|this) (?:paper|article|text|piece)\b(?! by\b)")


_ROLES = r"official|person|leader|minister|president|commander|general|diplomat|envoy|secretary|head|chief|chair"
_NAME_OF_ROLE = rf"\bname of (?:the |a |an |its )?(?:\w+ )?({_ROLES})\b"


# a question asking for the whole picture: a summary, an assessment, a relationship, a two-sided account
_BROAD = re.compile(
    r"\bsummari[sz]|\bsummary\b|\boverview\b|\bpicture\b|\boverall\b|\bin a nutshell\b|\bbottom line\b|"
    r"\bverdict\b|\bdescribe\b|\bcharacteri[sz]e\b|\bassess|\bevaluat|\bweigh(?:s|ing)? up\b|"
    r"\brelationship\b|\brelations (?:with|between)\b|\bstance\b|\bposition (?:on|in|of|within)\b|"
    r"\bboth\b|\beach side\b|\bon balance\b|\bwhat does the (?:article|paper|author) (?:say|make) (?:about|of)\b|"
    r"\btell me about\b|\bwhat(?:'s| is) the (?:deal|story) with\b|\bthe big picture\b|\bin what ways?\b|"
    # a comparison, a round-up: "compare X with Y", "X vs Y", "how do they differ", "pull together", "main points"
    r"\bcompar(?:e|es|ed|ing|ison)\b|\bcontrast\b|\bvs\.?\b|\bversus\b|\bdiffer(?:s|ences?)?\b|\bdifferent from\b|"
    r"\balike\b|\bin common\b|\bsimilarit(?:y|ies)\b|"
    r"\bround[- ]?up\b|\bpull together\b|\bsum (?:it |this |that )?up\b|\brun-?down\b|\bgist\b|"
    r"\brecap\b|\b(?:main|key) (?:points|claims|arguments|ideas|takeaways)\b|\beverything\b|"
    r"\?\s+\S.*\?|"  # two questions in one turn, or joined: "what must it do, and what's standing in the way?"
    r", and (?:what|why|how)\b",
    re.I,
)


def question_type(q: str) -> QuestionType:
    """Classify a question by its wording (general rules, no per-question cases)."""
    ql = q.lower()
    asks_source = re.search(  # "who are the authors who ...", "give the page too": a cited work is the answer
        r"\bpages?\b|(?<![\w\-])(?:authors?|scholars?|analysts?|experts?|researchers?|writers?|commentators?|"
        r"sources?)\b",  # "co-authors" of a book: its people, a role to name
        ql,
    )
    return QuestionType(
        when=bool(
            re.search(
                r"(?:^|[,;:] |\band )when\b|\b(?:what|which|in what) years?\b|\b(?:what|which|on what) dates?\b|"
                r"\bwhat(?:'s|’s| is| was| were) the (?:\w+ )?(?:date|year)\b",
                ql,
            )
            and not re.search(r"^when\b[^?]*?, (?:what|which|who|whom|how|why|where|does|do|is|are)\b", ql)
        ),
        number=bool(
            re.search(
                # "how much weight/influence does it carry": a degree, not a figure
                r"\bhow many\b|\bhow much\b(?! (?:weight|influence|power|sway|clout|say|importance|leverage|"
                r"control|support|trust|confidence|attention|emphasis|priority|progress|success|sense)\b)|"
                r"\bwhat (percentage|share|amount|number|proportion|fraction|portion)\b|"
                r"\bhow (large|big)\b|"
                # "what's the troop strength", "what was the death toll", "what tonnage of narcotics"
                r"\bwhat(?:'s|’s| is| was| were| are)? (?:the )?(?:[\w\-]+ )?(?:strength|toll|size|tonnage|"
                r"quantity|numbers?|count|headcount|outlay|total)\b(?! of (?:the )?(?:article|paper))",
                ql,
            )
            or re.search(
                r"\bin (dollars|euros|roubles|rubles)\b|\bwhat (was|is|were|are) .*\b(budget|cost|price|"
                r"spending|expenditure|funding)\b",
                ql,
            )
        ),
        source=bool(
            re.search(
                r"\bwho\b|\b(?:which|what) (source|author|work|scholar|analyst|researcher|academic|expert|writer|"
                r"commentator|specialist|critic|study|studies)\b|\bcite[sd]?\b|"
                r"\baccording to\b(?! the (?:article|paper))|"
                # "what does it argue with Moscow about": a quarrel, not a claim
                r"\bwhat (source|work)\b|\bpage\b|\bargues?\b(?! (?:with|over)\b)|\bcontends?\b|\bwhose\b|"
                # "the source for the claim", "what's the citation", "where does the figure about X come from"
                r"\bsources? (?:for|of|behind)\b|\bcitations?\b|\b(?:claim|figure|statistic|estimate|quote|"
                r"quotation|data|number|point|assertion)s?\b[^?]{0,50}\b(?:come|comes|came|taken|drawn) from\b",
                ql,
            )
        ),
        listing=bool(
            re.search(
                # the words between may qualify the plural but not open a clause: "which researcher concluded
                # that members ...", "what good are its exercises", "what is pushing member states" list nothing
                r"\b(?:which|what) (?:(?:are|were|is|was) (?=the |its |their |all |these |those ))?"
                r"(?:(?!(?:that|who|whom|whose|which|did|does|do|is|are|was|were|has|have|had)\b)[\w\-]+ ){0,4}?"
                r"(countries|states|members|exercises|operations|nations|partners|"
                r"participants|signatories|republics|regions|blocs|groupings|sub-groupings|groups|areas|bodies|"
                r"organizations|organisations|agencies|institutions|units|actors|entities|services|strands|elements|"
                r"components|aspects|dimensions|pillars|priorities|tasks|goals|aims|objectives|threats|challenges|"
                r"facets|types|kinds|categories|fields|domains|spheres)\b|"
                r"\blist\b|\bname the\b|\bwho (are|were)\b|"
                # "the author splits the alliance into regional groupings. What are they?": the parts, listed
                r"\b(?:split|splits|divide|divides|divided|group|groups|grouped|break|breaks|broken|sort|sorts|"
                r"categori[sz]es?|classif(?:y|ies))\b[^?]{0,50}\binto\b|"
                r"(?:^|[.?!] )what (?:are|were) (?:they|these|those)\b|\b(?:name|list) (?:them|these|those)\b|"
                r"^who (?:else )?(?:belongs?|belonged|makes? up|made up|takes? part|took part|participates?|"
                r"participated|is in|are in|was in|were in|joined|is involved|are involved|were involved|"
                r"was involved|works? with|worked with|cooperates?|cooperated|helps?|helped)\b|"
                r"^who(?:'s|’s) (?:else )?(?:in|part of|involved|on board)\b",
                ql,
            )
        ),
        reason=bool(
            re.search(
                r"\bwhy\b|\bhow does\b|\bhow do\b|\bhow did\b|\breasons?\b|\bexplain\b|\bcase for\b|"
                r"\bwhat (?:good|use) (?:is|are)\b|\bthe point of\b|\bjustif|"
                # "what does X tell us about Y", "what keeps them in", "what benefits does the author see"
                r"\bwhat (?:does|do|did) (?:[\w'’\-]+ ){1,6}(?:show|tell|reveal|suggest|indicate|illustrate|"
                r"demonstrate)s? (?:us )?about\b|\bwhat (?:keeps|explains|follows|accounts for|prompted|drives|"
                r"motivates|makes|"
                r"pushes|is pushing|are pushing|pushed|leads|led|causes|caused|forces|forced)\b|"
                r"\b(?:what|which) (?:benefits|advantages|good)\b|\bhow come\b|"
                r"\bin what ways?\b|\bhow (?:is|are|was|were) .{3,60}\bboth\b|"
                + _BALANCE.pattern  # a balance asked for: both sides argued
                + "|"
                # "what does Russia still gain from it", "what do members get out of it": the benefits, argued
                r"\bwhat (?:does|do|did|would|could|can) (?:[\w'’\-]+ ){1,6}(?:gain|gains|get out of|benefit|profit)\b",
                ql,
            )
        ),
        where=bool(
            re.search(
                r"(?:^|[,;:] |\band )where (?:is|was|are|were|did|does|do)\b"
                r"(?!.*\b(?:come|comes|came|stem|stems) from\b)"  # "where does it come from": its origin
                r"(?!.*\b(?:stand|stands|stood|going|heading|headed|leave|leaves)\b)"  # "where does X stand on": a view
                # "where do analysts suggest looking", "where should they turn": a direction of thought, not a place
                r"(?!.*\b(?:look|looks|looking|turn|turns|turning|suggest|suggests|recommend|recommends|point|"
                r"points)\b)"
                # "where is that written down / stated / spelled out": a document's wording, not a place
                r"(?!.*\b(?:written|stated|said|set out|spelled out|spelt out|laid down|enshrined|codified|"
                r"mentioned|defined|argued|discussed)\b)"
                # "where is the friction", "where are the weak spots": a point, not a place
                r"(?! (?:the |its |their )?(?:friction|frictions|tension|tensions|problem|problems|trouble|"
                r"difficulty|difficulties|catch|rub|weakness|weaknesses|weak spots?|disagreement|disagreements|"
                r"conflict|conflicts|gap|gaps|limit|limits|risk|risks|danger|dangers|challenge|challenges|"
                r"fault lines?|sticking points?|value|benefit|benefits|logic|sense|point|disconnect|contradiction)\b)"
                # "where do they part ways", "where does it fall short": a point of difference, not a place
                r"(?!.*\b(?:part ways|part company|differ|differs|diverge|diverges|disagree|disagrees|clash|clashes|"
                r"overlap|overlaps|fall short|falls short|fell short|go wrong|goes wrong|went wrong|fit in|fits in|"
                r"come in|comes in|draw the line)\b)"
                r"|\bin which (city|country|town|place)\b"
                r"|^which (city|town|place)\b|\blocated\b|\bheadquartered\b"
                r"|\b(?:in|at) (?:what|which) (?:location|place|venue|site|region|part of)\b|\bwhat location\b"
                r"|\bwhereabouts\b|^where's\b",
                ql,
            )
        ),
        who_is=not asks_source
        and bool(
            re.search(
                # "Who is it?" after a premise naming a scholar: the premise says what is asked, no role
                r"^who (is|was|were|are)\b(?! (it|he|she|they|that|this)\b)"
                r"(?! (cited|quoted|credited|the source|the author|involved|engaged|"
                r"part of|taking part|participating|members?|in)\b)",
                ql,
            )
            or re.search(
                r"^(?:which|what) (?:\w+ )?(official|person|leader|minister|president|commander|general|diplomat|"
                r"envoy|secretary)\b",
                ql,
            )
            or re.search(_NAME_OF_ROLE, ql)
            or (
                re.search(
                    r"^who (?!(?:is|was|are|were|has|have|had|did|does|do|makes? up|takes? part|took part|"
                    r"participates?|participated|belongs?|belonged|joined|joins|else)\b)\w+",
                    ql,
                )
                is not None
                and not re.search(rf"^who (?:{_ATTRIBUTION_VERBS})", ql)
            )
        ),
        broad=_BROAD.search(q) is not None,
        bibliographic=bool(
            re.search(
                r"\bpublish|\bjournal\b|\btitle\b|\bheadline\b|\boutlet\b|\bbibliograph|\bpublisher\b|\bvolume\b|"
                r"\breferences\b|"
                r"\bwhat did \w+ (write|publish)\b|\burl\b|"
                r"\bwhere (was|is|did) .* (published|appear|come out|printed|issued)|"
                r"\b(piece|paper|book|chapter|monograph|report|volume)\b",
                _SELF_REFERENCE.sub(" ", ql),
            )
        ),
    )


@dataclass
class Candidate:
    """A sentence that may be quoted."""

    passage: Passage
    start: int
    end: int
    vector: np.ndarray
    rank: int
    context: np.ndarray  # the sentence's vector blended with its paragraph neighbours' (see in_context)

    @property
    def text(self) -> str:
        """The sentence, verbatim."""
        return self.passage.text[self.start : self.end]


@dataclass
class Scored:
    """A candidate with its score parts."""

    cand: Candidate
    score: float
    semantic: float  # similarity to the question as retrieved (for a follow-up: with its context)
    overlap: float


_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozen|twenty|thirty|forty|fifty|hundred|"
    r"thousand|million|billion|half|twice|single"
)
_QUANTITY = re.compile(rf"\d+(?:[.,]\d+)?\s*(?:%|percent|tons?|million|billion)|\$\s?\d|\b(?:{_NUMBER_WORDS})\b", re.I)
_ENTITY = re.compile(r"(?<![\w*\-])[A-Z][\w’'\-]+(?:\s+[A-Z][\w’'\-]+)*")


def _name_pieces(found: str, at: int) -> list[tuple[str, int]]:
    """A capitalised run split where one name ends and another begins: after a possessive ("Roy Allison's SCO
    comparison": "Roy Allison's", "SCO"), and across a lower-case joint ("SCO-versus-CSTO": "SCO", "CSTO")."""
    runs: list[list[tuple[str, int]]] = [[]]
    for m in re.finditer(r"\S+", found):
        word, start = m.group(0), at + m.start()
        parts = word.split("-")
        if len(parts) >= 3 and parts[0][:1].isupper() and any(p.islower() for p in parts[1:-1]):
            offset = 0
            for p in parts:
                if p[:1].isupper():
                    runs += [[(p, start + offset)], []]
                offset += len(p) + 1
            continue
        runs[-1].append((word, start))
        if re.search(r"['’]s$", word):
            runs.append([])
    return [(" ".join(w for w, _ in run), run[0][1]) for run in runs if run]


_NOT_ENTITY = frozenset(
    [
        "What",
        "Which",
        "Who",
        "Whom",
        "Whose",
        "When",
        "Where",
        "Why",
        "How",
        "Is",
        "Are",
        "Was",
        "Were",
        "Did",
        "Does",
        "Do",
        "Has",
        "Have",
        "Can",
        "Could",
        "Would",
        "Should",
        "In",
        "On",
        "At",
        "For",
        "By",
        "Of",
        "The",
        "A",
        "An",
        "And",
        "Or",
        "According",
        "Article",
        "Name",
        "List",
        "Give",
        "Tell",
        "If",
        "Besides",
        "Into",
        "With",
        "From",
        "Since",
        "After",
        "Before",
        "I",
        "I'm",
        "I’m",
        "I'd",
        "I’d",
        "Please",
        "Can",
        "Could",
        "Also",
    ]
)


_CITATION_PARENS = re.compile(r"\([^()]*\d[^()]*\)")


def quantity_in(text: str) -> bool:
    """True when the text states a quantity (not a year, not a cited page): 360 tons, 51.1%, 30, four members."""
    bare = _YEAR.sub(" ", _CITATION_PARENS.sub(" ", text))
    return bool(re.search(r"\d", bare) or _QUANTITY.search(bare))


# a sentence's clauses about different subjects: "X is based on Y while in 2017, the US contributed 51.1%"
_CLAUSE_BREAK = re.compile(r";|\b(?:while|whereas|whilst)\b|,? but\b")
_PRONOUN = re.compile(r"\b(?:it|its|they|their|them|this|these|he|she|his|her)\b", re.I)


def quantity_clause(text: str) -> str:
    """The clause of a sentence that states its quantity (the whole sentence when it is one clause)."""
    parts = _CLAUSE_BREAK.split(text)
    return next((p for p in parts if quantity_in(p)), text) if len(parts) > 1 else text


# stems of words that name the slot a question asks to fill, not the act it asks about
_CARRY_ON = re.compile(
    r"(?:It|Its|They|Their|This|These|Those|Such|He|She|His|Her|For instance|For example|Firstly|Concurrently|"
    r"On the one hand|In totality|All (?:CSTO )?member states|Instances of|Examples of|In particular|Specifically|"
    r"Namely|On the other hand|However|Nevertheless|Nonetheless|Yet|In contrast)\b"  # and its counterpoint
)
_LEANS_BACK = re.compile(
    r"(?:This|These|That|Those|It|Its|They|Their|Such|On the contrary|However|Therefore|Thus|As a result|"
    r"Consequently|Accordingly|Nevertheless|Nonetheless|Firstly|Secondly|Concurrently|On the other hand)\b"
)
# a balance asked for: "the pros and cons of membership", "benefits and drawbacks", "its trade-offs"
_BALANCE_WORDS = (
    r"\b(?:advantages|benefits|upsides?|strengths|gains|costs|risks) and "
    r"(?:disadvantages|drawbacks|downsides?|weaknesses|costs|risks|benefits|limits|limitations)\b"
)
_BALANCE = re.compile(
    r"\bpros and cons\b|\btrade-?offs?\b|\b(?:on|from) (?:each|both|either) sides?\b|\bfor and against\b|"
    r"\bagainst and for\b|" + _BALANCE_WORDS,
    re.I,
)
# a question that grants a criticism before asking what stands against it
_CONCESSIVE = re.compile(
    r"^(?:critics|sceptics|skeptics|detractors|some (?:\w+ )?(?:say|argue|claim|call|think|dismiss))\b[^?]*[.;,:]\s*"
    r"(?:what|why|how|is|are|does|do)\b|^(?:even )?if\b[^?]*\b(?:never|rarely|seldom|hardly|barely)\b|"
    r"\bgiven (?:all )?(?:the|this|that|such) critici|\b(?:anyway|nonetheless|regardless|all the same)\?*$|"
    r"^(?:even )?if\b[^?]*\bas (?:\w+ )?(?:as )?(?:critics|sceptics|skeptics|detractors|some) (?:say|claim|argue|"
    r"allege|contend|suggest)\b",  # "If the CSTO is as dysfunctional as critics claim, why ..."
    re.I,
)
# a sentence that turns against what came before
_CONTRAST = re.compile(
    r"(?:On the other hand|However|Nevertheless|Nonetheless|On the contrary|Yet|Still|In spite of)\b"
)
_KIND = re.compile(r"^(?:Operations?|Exercises?|Drills?)\s+", re.I)  # "Operation Illegal": the kind, then the name
_PAIR_OPENS = re.compile(r"(?:On the one hand|Firstly|First,)")
_PAIR_CLOSES = re.compile(
    r"(?:On the other hand|Secondly|Concurrently|At the same time|Meanwhile|In addition|Additionally|Moreover|"
    r"Furthermore)\b|Second,"
)
# the article announcing its own plan ("this paper will present", "... will be identified", "In concluding
# remarks"), and its keyword line: they answer questions about the paper, not about the CSTO
_SIGNPOST = re.compile(
    r"\bthis (?:paper|article|investigation|study|essay) (?:will|seeks|aims|sets out)\b|"
    r"\bwill be (?:identified|examined|discussed|determined|presented|analy[sz]ed|explored|addressed)\b|"
    r"^In concluding remarks\b|\bthe subsequent area of discussion\b|^Its key words are\b",
    re.I,
)
_ABOUT_THE_PAPER = re.compile(
    r"\b(?:paper|article|essay|study|investigation|author|sections?|structure|outline|roadmap|plan|"
    r"key ?words|sets? out|organi[sz]ed|structured)\b",
    re.I,
)
# the article named as the source of a claim, not asked about: "according to the article", "as the paper presents them"
_PER_THE_PAPER = re.compile(
    r"\b(?:according to|per|in the view of|as (?:stated|described|argued|presented|set out) (?:in|by)) "
    r"(?:the|this) (?:article|paper|author|text|piece)\b|"
    r"\b(?:does|did) (?:the|this) (?:article|paper|author|text) (?:say|argue|claim|state|suggest|think|see)\b|"
    r"\bas (?:the|this) (?:paper|article|author) (?:presents?|describes?|puts?|sees?|frames?) (?:them|it|this|that)\b|"
    # "the author's reasons", "Lacroix's verdict": what the paper argues, not how it is built (the author's name is
    # put in for "the author" by _about_the_paper)
    r"\b(?:the author|the writer)(?:'s|’s) (?!(?:own )?(?:plan|structure|outline|roadmap|sections?|job|work|"
    r"affiliation|university|background|name|key ?words)\b)",
    re.I,
)


def _as_the_author(question: str, author: str) -> str:
    """The question with the article's author, named by her family name (`author`, lower case), said as "the
    author" ("Lacroix's view" is "the author's view")."""
    return re.sub(rf"\b{re.escape(author)}\b", "the author", question, flags=re.I) if author else question


def _about_the_paper(question: str, author: str = "") -> bool:
    """Whether a question asks about the paper itself (its plan, sections, author, key words), not only cites it
    ("according to the article", "the author's reasons"); `author`: the article's author's family name, read as
    "the author"."""
    return _ABOUT_THE_PAPER.search(_PER_THE_PAPER.sub(" ", _as_the_author(question, author))) is not None


# a sentence that opens by pointing back to the one before it ("This is problematic as ...", "Such ties ..."); not
# "This paper seeks to ..."
_POINTS_TO = re.compile(r"(?:This|These|That|Those|Such)\b(?! (?:paper|article|study|essay)\b)")
_CONSEQUENCE = re.compile(r"(?:Therefore|Thus|As a result|Consequently|Hence)\b")
# ... or says so after its subject: "Member states consequently face the need to reexamine their defense policies"
_CONSEQUENCE_MID = re.compile(r"(?:[\w'’\-]+ ){1,3}(?:consequently|therefore|thus|accordingly|hence)\b")

# where in the paper the asker saw it, and what the paper "gives": about the asking, not the act asked about
# ("... when talking about member states' fears - what year does it give?")
_LOCATING = re.compile(
    r"\b(?:when|while|where|in) (?:it |the (?:paper|article|author|text) |she |he |they )?"
    r"(?:talk(?:s|ing)?|discuss(?:es|ing)?|writ(?:es|ing)|speak(?:s|ing)?|deal(?:s|ing)? with)\b(?: about| of| on)?"
    r"[^,;:?—–]*?(?=\s+[-—–]|[,;:?—–]|$)|"
    r"\b(?:does|did|do) (?:it|the (?:paper|article|author|text)|she|he|they) "
    r"(?:give|say|cite|quote|report|put|offer|provide|mention)\b",
    re.I,
)

_SLOT_WORDS = frozenset(
    [
        "tonnag",  # the measure a number question asks for: "what tonnage", "the troop strength", "death toll"
        "strength",
        "toll",
        "size",
        "quantiti",
        "count",
        "headcount",
        "outlay",
        "year",
        "date",
        "mani",
        "much",
        "number",
        "total",
        "percentag",
        "share",
        "amount",
        "exact",
        "time",
        "long",
        "larg",
        "figur",
        "set",
        "get",
        "go",  # a light verb: "go after recruiters" is about the recruiters
        "went",
        "gone",
        "take",
        "took",
        "put",
        "make",
        "made",
        "come",
        "came",
        "happen",
        "occur",
        "start",
        "begin",
        "began",
        "becom",
        "becam",
        "up",
        "out",
        "down",
        "off",
        "exact",
        "actual",
        "state",  # the kind of thing counted or named, not an act: "which states", "the founding countries"
        "countri",
        "nation",
        "citi",  # the kind of place a where-question asks for: "which city", "what town"
        "town",
        "locat",
        # light words of idioms and paraphrase: "come on board", "turn sour", "in the same way", "a slice of"
        "board",
        "part",
        "place",
        "role",
        "turn",
        "way",
        "same",
        "kind",
        "sort",
        "type",
        "thing",
        "one",  # "the Air Bridge one": a pro-form for the thing named
        "big",
        "slice",
        "bit",
        "lot",
        "overal",
        "realli",
        "ever",
        "far",
        "paper",
        "text",
        # words about the asking, not the act asked about: "the article mentions X — what year", "I need the year"
        "mention",
        "discuss",
        "talk",
        "refer",
        "cover",
        "need",
        "want",
        "know",
        "tell",
        "most",
        "first",
        "just",
        "onli",
        "simpli",
        "actual",
        "also",
        "too",
        "pleas",
        "even",
        "allianc",  # the subject under another name: "come into the alliance", "leave the bloc"
        "bloc",
        "organis",
        "anti",  # prefixes split off a hyphenated word: "anti-narcotics"
        "non",
        "multi",
        "pre",
        "post",
    ]
)


def _stem_prefix(word: str) -> str:
    """A stem cut to five letters (four for short words), so that ratified/ratification, annex/annexation and
    spend/spent meet."""
    return word[:5] if len(word) > 5 else word[:4]


# the verbs and nouns of an organisation's history that say the same event in other words (no thesaurus can be
# installed offline, so the few that institutional questions use are written out): "form the CRRF" is
# "established", "quit" is "withdrew", "took effect" is "came into force"
_SAME_EVENT = [
    "found founded establish established create created form formed launch launched institute instituted",
    "join joined accede accession enter entered admit admitted",
    "leave left withdraw withdrew withdrawal quit exit exited rescind rescinded depart departed suspend suspended",
    "sign signed ratify ratified ratification",
    "effect force",
    "propose proposed forward forwarded initiative initiate initiated suggest suggested",
    "unrest turmoil upheaval uprising riot riots crisis",
    "intercept intercepted seize seized confiscate confiscated",
    "expose exposed reveal revealed uncover uncovered detect detected discover discovered",
    "spend spent expenditure spending fund funding pay paid cost contribute contributed contribution money budget",
    "help helped assist assistance aid intervention support",
    "offence offences offense crime crimes criminal",
    "drug drugs narcotic narcotics",
    "gear equipment weapons arms hardware kit materiel",
    "give gave given hand handed provide provided supply supplied deliver delivered transfer transferred donate",
    "promise promised pledge pledged agree agreed agreement approve approved okay okayed endorse endorsed",
    "exchange exchanged swap swapped swapping trade traded share sharing",
    "center centre hub",
    "crisis crises emergency emergencies",
    "exercise exercises drill drills practise practised practice train training manoeuvre manoeuvres",
    "fly flying flew flight flights air airborne aircraft aerial",
    "soldier soldiers troop troops servicemen personnel",
    "ask asked request requested beg begged plead pleaded appeal appealed",
    "headquarters headquartered based seat host hosts hosted",
    "belong belongs belonged member members membership",
    "start started begin began launch launched initiate initiated initiative commence commenced",
]
# phrasal verbs and set phrases read as the one word the article would use (general English, not the corpus's)
_PHRASAL = [
    (re.compile(rf"\b{a}\b", re.I), b)
    for a, b in [
        (r"(?:sign|signs|signed|signing) up", "join"),
        (r"(?:come|comes|came|coming) (?:on board|aboard)", "join"),
        (r"(?:pull|pulls|pulled|drop|drops|dropped|opt|opts|opted|back|backs|backed) out", "withdraw"),
        (r"(?:at no|without) (?:cost|charge|payment)|free of charge|for nothing", "free"),
        (r"(?:kick|kicks|kicked|kicking) off", "launch"),
        (r"founding (?=states|members|countries|nations|signatories)", "original "),
        (r"(?:set|sets|setting) up", "establish"),
        (r"(?:step|steps|stepped|stepping) in", "intervene"),
        (r"(?:start|starts|started|begin|began|begun) (?:operating|functioning|working|operations)", "launch"),
        (r"second[- ]?hand", "used"),
    ]
]
# a question about a cited work, whose year is the one in its citation brackets
_WORK_ASKED = re.compile(
    r"\b(?:study|studies|report|reports|article|articles|book|books|paper|papers|publication|publications|piece|"
    r"work|works|published|publish|written|wrote|writes|source|sources|cited|cites|cite|citation)\b",
    re.I,
)
_INTO_FORCE = re.compile(
    r"\b(?:came|come|comes|coming|entered|enter|enters|entering) into force\b|\btook effect\b", re.I
)
_EVENT_OF: dict[str, frozenset[str]] = {}
for _group in _SAME_EVENT:
    _stems = frozenset(_stem_prefix(w) for w in content_words(_group))
    for _s in _stems:
        _EVENT_OF[_s] = _EVENT_OF.get(_s, frozenset()) | _stems


# a capital stands for its state and back ("Washington paid", "Minsk's view"): general knowledge, not the corpus's
_CAPITALS = {
    "washington": "United States|US|USA|America|Americans|American",
    "moscow": "Russia|Russian Federation",
    "minsk": "Belarus",
    "tashkent": "Uzbekistan",
    "yerevan": "Armenia",
    "astana": "Kazakhstan",
    "nur-sultan": "Kazakhstan",
    "bishkek": "Kyrgyzstan",
    "dushanbe": "Tajikistan",
    "baku": "Azerbaijan",
    "tbilisi": "Georgia",
    "beijing": "China",
    "kabul": "Afghanistan",
    "tehran": "Iran",
    "islamabad": "Pakistan",
    "brussels": "NATO;European Union|EU",  # the seat of two bodies (";" parts them)
}
_ALIASES: dict[str, str] = {}
for _capital, _held in _CAPITALS.items():
    _ALIASES[_capital] = _held.replace(";", "|")
    for _body in _held.split(";"):
        for _name in _body.split("|"):  # a state's other names ("America" is "US") and its capital
            _others = [*_ALIASES.get(_name.lower(), "").split("|"), *_body.split("|"), _capital.title()]
            _ALIASES[_name.lower()] = "|".join(o for o in dict.fromkeys(_others) if o and o != _name)


# prepositions relate the act to its things; they are not the act ("start operation Mercenary against terrorists")
_PREPOSITIONS = frozenset(
    [
        "against",
        "after",
        "befor",
        "alongsid",
        "among",
        "amongst",
        "dure",
        "within",
        "across",
        "over",
        "under",
        "between",
        "through",
        "throughout",
        "toward",
        "upon",
        "via",
        "per",
        "despit",
        "beyond",
        "behind",
        "around",
        "along",
        "besid",
        "onto",
        "near",
    ]
)


# "on what date", "which day": the answer gives the day ("Oct 7 2016", "20 March 2019"), not only the year
_DAY_ASKED = re.compile(r"\b(?:what|which)(?:'s| is| was)?(?: the)?(?: exact)? (?:date|day)\b|\bwhen exactly\b", re.I)
_MONTHS = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_DAY = re.compile(rf"\b{_MONTHS} \d{{1,2}}\b|\b\d{{1,2}} {_MONTHS}", re.I)


def _says(word: str, said: str, prefixes: set[str]) -> bool:
    """Whether a sentence's stemmed words say the question's word, itself (its stem inside theirs) or another
    word for the same event (whole stems compared: "aid" is not in "said")."""
    stem = _stem_prefix(word)
    return stem in said or any(other in prefixes for other in _EVENT_OF.get(stem, ()))


@functools.lru_cache(maxsize=16384)  # sentences and their windows recur across questions
def fold_name(text: str) -> str:
    """Text without accents or ligatures ("Wæver" -> "Waever"), for matching names; lengths are not kept."""
    text = text.replace("æ", "ae").replace("Æ", "Ae").replace("ø", "o").replace("œ", "oe")
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def _named_in(entity: str, context: str, original: str) -> bool:
    """True when the (lower-cased) context names the entity: in full, by a long word of it, by its acronym, or
    (a capital or its state) by the other name."""
    head, context = fold_name(entity.lower()), fold_name(context)  # "Waever" names "Wæver"
    long_words = [w for w in re.split(r"[\s\-]+", head) if len(w) >= 5]
    if head in context or (long_words and all(w[:5] in context for w in long_words)):
        return True
    if head in _ALIASES and re.search(rf"\b(?:{_ALIASES[head]})\b", original):
        return True
    initials = "".join(w[0] for w in entity.split() if w[0].isupper())
    if len(initials) >= 3 and re.search(rf"\b{initials.lower()}\b", context):
        return True  # "Shanghai Cooperation Organization" is "SCO" in the text
    if len(initials) == 2 and re.search(rf"\b{initials}\b", original):
        return True  # "United States" is "US" (two letters: only as capitals, "us" is a pronoun)
    if entity.isupper() and 2 <= len(entity) <= 6:  # "SCO" spelled out in the text
        runs = re.findall(r"(?:[A-Z][a-z]+(?:\s+(?:of|on|and|the|for)\s+|\s+))+[A-Z][a-z]+", original)
        # "UN" in "United Nations Office on Drugs and Crime": an acronym may open a longer name's initials
        return any("".join(w[0] for w in r.split() if w[0].isupper()).startswith(entity) for r in runs)
    return False


# a question asking for a thing's name in its own language: "what is the CSTO called in Russian", "the russian
# abbreviation for the csto", "what does ODKB stand for" (the foreign acronym itself names the language)
_NAME_ASKED = re.compile(
    r"\b(?:called|acronyms?|abbreviat\w*|short form|initials|stands? for)\b"
    r"|\bnamed?\b(?! (?:the|all|every|each|any|some|its|their|one|two|three|four|five|six|which)\b)"  # not "name the"
)
_OWNS_OTHER = re.compile(  # "the CSTO's drug operation called ...": the CSTO owns the thing asked, it is not asked
    r"['’]s? (?!(?:russian |native |own |full |official )?(?:names?|acronyms?|abbreviations?|title))"
)
# a sentence that gives a thing its name: "labelled *Vzaimodeystviye*", "under the moniker of *Rubezh*", "labelled a
# '*chuzhoy sredi svoikh*'" (a name follows: italics or quotes; "labelled as an alliance that lacks" names nothing)
_NAMING = re.compile(
    r"\b(?:called|labell?ed|named|known as|dubbed|moniker of|titled|termed|referred to as)\s+(?:(?:a|an|the|as)\s+)?"
    r"['‘\"“*]",
    re.I,
)
_IN_LANGUAGE = re.compile(r"\brussians?\b(?!-)|\b(?:native|original|local|own|foreign)[- ]language\b|\bin its own\b")


def alias_asked(question: str, found: list[tuple[str, str, str, str]]) -> list[tuple[str, str, str, str]]:
    """The aliases (index.acronyms.aliases) a question asks for: it asks for a name, and either names the thing
    (its name or acronym) and a language, or names the foreign name or acronym itself."""
    ql = question.lower()
    if not _NAME_ASKED.search(ql):
        return []

    def has(name: str) -> bool:  # named, and not as the owner of another thing ("the CSTO's drug operation")
        words = name.lower().split()
        forms = [words, words[1:]] if len(words) >= 3 else [words]  # "rapid reaction force": its last words
        return any(
            not _OWNS_OTHER.match(ql, m.end())
            for form in forms
            for m in re.finditer(rf"(?<!\w){re.escape(' '.join(form).removesuffix('s'))}s?(?!\w)", ql)
        )

    return [a for a in found if ((has(a[0]) or has(a[1])) and _IN_LANGUAGE.search(ql)) or has(a[2]) or has(a[3])]


# an italic foreign name and its capitalised gloss of one to three words: "*Vozdushnyy most* (Air Bridge)"
_GLOSS = re.compile(r"\*([^*\n]{2,40})\*\s*\(([A-Z][\w\-]*(?: [A-Z][\w\-]*){0,2})\)")

_DEMONYM = re.compile(r"^[A-Z][a-z]+(?:ian|ish|ese|ic|i|an)$")


_POSSESSIVE = re.compile(r"\b([A-Z][\w\-]+)['’]s\s+(?:[a-z]+\s+)?([a-z][a-z\-]{3,})")
# "the csto's yearly budget does": the owner (a known name) and the one or two words after it, either the thing owned
_ANY_POSSESSIVE = re.compile(r"\b([A-Za-z][\w\-]+)['’]s\s+([a-z][a-z\-]{3,})(?:\s+([a-z][a-z\-]{3,}))?")
_OWNED_BY_ACRONYM = re.compile(r"\b([A-Z]{2,})\s+([a-z][a-z\-]{3,})")  # "the CSTO budget"
_OWNED_OF_ACRONYM = re.compile(r"\b([a-z][a-z\-]{3,}) of (?:the )?([A-Z]{2,})\b")  # "the budget of the CSTO"


def _possessor_mismatch(question: str, sentence: str, known: set[str]) -> bool:
    """True when the question asks about X's Y and the sentence speaks of another name's Y ("the CSTO's budget"
    against "the overall NATO budget"); `known` holds the corpus's names, lower-cased."""
    owned = [
        (owner, thing)
        for owner, *things in _ANY_POSSESSIVE.findall(question)
        for thing in things
        if thing and thing not in STOPWORDS
    ]
    owned += _OWNED_BY_ACRONYM.findall(question)
    owned += [(owner, thing) for thing, owner in _OWNED_OF_ACRONYM.findall(question)]
    for owner, thing in owned:
        for m in re.finditer(rf"\b{re.escape(thing[:5])}\w*", sentence, re.I):
            before = [w.strip("(),.:;") for w in sentence[max(0, m.start() - 40) : m.start()].split()[-3:]]
            names = [
                w
                for w in before
                if w.isupper()  # another body's: "the overall NATO budget", not "the Tashkent Treaty"
                and w not in _NOT_ENTITY
                and w.lower() in known
                and w.lower() != owner.lower()
                and not sentence.startswith(w)
            ]
            if (
                names
                and owner.lower() in known
                and owner.lower() not in sentence[max(0, m.start() - 40) : m.start()].lower()
            ):
                return True
    return False


def _unparenthesised(c: Candidate) -> str:
    """An article sentence without its citation brackets (their years are not what the sentence reports)."""
    return c.text if c.passage.kind != "article" else _CITATION_PARENS.sub(" ", c.text)


_AUX = r"(?:did|do|does|has|have|had|were|was|are|is|will|can|could|make|made|took|take|took)"


# adverbs that end the counted noun phrase: "how many CST signatories also belong to the SCO"
_ADVERBS = r"(?:also|still|currently|now|actually|really|ever|already|all|both|each|too|even|ultimately|finally)"


def _counted_noun(question: str) -> str:
    """The noun a "how many" question counts: 'tons' in "how many tons of narcotics", 'members' in
    "how many SCO members have ..."; '' for other questions."""
    spaced = re.sub(r"\s*([?,;])", r" \1", question.lower())  # "members, and which?": the comma ends it
    m = re.search(rf"\bhow many ((?:[\w\-]+ ){{0,4}}?)(?={_AUX}\b|{_ADVERBS}\b|[?,;]|$)", spaced)
    if not m:
        return ""
    words = m.group(1).split()
    for k, w in enumerate(words[1:], start=1):  # "tons of narcotics", "countries in the SCO": the noun before
        if w in ("of", "in", "at", "from", "among", "within", "inside", "across", "on"):
            return words[k - 1]
    return words[-1] if words else ""


# nouns that count the same things: "how many tonnes" is answered by "360 tons", "how many nuclear powers" by
# "two nuclear-weapon states" (general English, spelling variants included)
_SAME_COUNT = ["ton tons tonne tonnes", "state states country countries nation nations power powers"]
_COUNT_OF = {w: group.split() for group in _SAME_COUNT for w in group.split()}


def _counts(noun: str, sentence: str) -> bool:
    """True when a number stands within four words before the counted noun (or a noun counting the same
    things) in the sentence."""
    tokens = _CITATION_PARENS.sub(" ", sentence).lower().split()
    stems = {_stem_prefix(content_words(n)[0]) if content_words(n) else n[:4] for n in _COUNT_OF.get(noun, [noun])}
    for i, tok in enumerate(tokens):
        if tok.strip("(),.;:*").startswith(tuple(stems)):
            window = " ".join(tokens[max(0, i - 4) : i])
            if re.search(r"\d", window) or re.search(rf"\b(?:{_NUMBER_WORDS})\b", window):
                return True
    return False


_MONEY_ASKED = re.compile(
    r"\bin (?:us )?(?:dollars|euros|roubles|rubles)\b|\bhow much money\b"
    r"|\b(?:spend|spends|spent|spending|expenditures?|costs?|price|paid|pay|pays|budget|worth|value|outlay)\b",
    re.I,
)
# "which member states ...", "what countries ...": the states themselves are what a list of them must name
_STATES_LISTED = re.compile(  # (not "the fields in which CSTO members work", "what keeps states in")
    r"(?<!\bin )(?<!\bof )(?<!\bby )(?<!\bfor )\b(?:which|what) (?:(?:csto|cst|member|other|original|founding|"
    r"former|current|remaining|post-soviet|central|asian|european|caucasian|eurasian|smaller|larger|small|large|"
    r"new|neighbouring|neighboring|western|eastern|\d+) ){0,3}(?:states|countries|nations|republics|signatories|"
    r"members)\b",
    re.I,
)


def _role_asked(question: str, names: set[str]) -> str:
    """The role a who-question asks about, after the names that own it: "who is the CSTO secretary general" ->
    "secretary", "what Kazakh official" -> "official" ('' when there is none)."""
    m = re.search(
        r"^(?:who (?:is|was|were|are) (?:the |a |an )?(?:current )?|(?:which|what) (?:\w+ )?)(.*)", question.lower()
    )
    for w in re.findall(r"[a-z][\w\-’']*", m.group(1) if m else ""):
        if re.sub(r"['’]s$", "", w) not in names:
            return re.sub(r"['’]s$", "", w)
    return ""


def _asked_words(question: str) -> list[str]:
    """The content words of a question about the article, without its words for the article itself ("this
    paper", "the article's", "the topic of this study")."""
    own = r"\b(?:(?:topic|subject|theme|focus|purpose|gist) of )?(?:this|the) (?:paper|article|study|piece|essay)"
    own += r"(?:'s|’s)?"
    return content_words(re.sub(own, " ", question, flags=re.I))


def _country_names() -> frozenset[str]:
    """The world's country names in English (CLDR, through babel), with the long forms the article uses."""
    from babel import Locale

    names = {v for k, v in Locale("en").territories.items() if len(k) == 2 and k.isalpha()}
    return frozenset(names | {"Russian Federation", "United States", "Kyrgyz Republic"})


_LOCATIVE = frozenset(["in", "at", "near", "across", "throughout", "within", "inside", "outside", "around", "into"])
_SHARE_ASKED = re.compile(
    r"\b(?:share|percent|percentage|proportion|fraction|portion|part|slice|chunk|piece|cut)\b|\bhow much of\b", re.I
)
_MONEY = re.compile(r"\$|\bdollars?\b|\beuros?\b|€|\brou?bles?\b|\bUSD\b", re.I)
# what a work argues, finds or recommends: not in its bibliography card (stems cut as _stem_prefix cuts them)
_CONTENT_ASKED = frozenset(
    _stem_prefix(w)
    for w in content_words(
        "recommendations recommends argues argument arguments concludes conclusion conclusions findings finds "
        "claims proposes proposals suggests suggestions contends thesis opinion opinions advice advises verdict "
        "criticises critique predicts prediction predictions"
    )
)
# "how long did the drills last": a stated duration answers it ("month-long", "for three days"); "how long had X
# been around when Y" is answered by two dates instead
_DURATION_ASKED = re.compile(
    r"\bhow long (?:did|does|do|will|would|was|were|is|are)\b(?!.*\b(?:after|before|between|since|when|ago)\b)", re.I
)
_DURATION = re.compile(
    r"\b(?:\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|several|few)[\s\-]+"
    r"(?:hours?|days?|weeks?|months?|years?|decades?)\b|\b(?:hour|day|week|month|year|decade)[\s\-]long\b",
    re.I,
)
# "how many years after X did Y", "how long between X and Y": answered by the two dates
_YEARS_BETWEEN = re.compile(r"\bhow (?:many (?:years|months|decades)|long)\b.*\b(?:after|before|between|since)\b", re.I)


def numbers_in(text: str) -> set[str]:
    """The digit sequences of a text, but for those a word holds ("catch-22", "G-20": a name, not a figure)."""
    return set(re.findall(r"(?<![A-Za-z]-)(?<!\w)\d+", text))


# article passages whose sentences an answer may quote; a why- or a list question reads two more (on the eleven sets
# then inspected, 8 for every question gained six evidence hits and lost four other questions' key facts)
DEPTH = 6
WIDE_DEPTH = 8

# a question about a cited work as a whole ("What are Shakhanova's main claims?", "How is Weitz used in the piece?",
# "Pull together everything Allison argues"): its words beyond the name are words for claiming, using, gathering
_CLAIMING = frozenset(
    content_words(
        "argue argues argued argument arguments claim claims claimed say says said take takes view views position "
        "positions point points main key central use used uses using cite cites cited citing article paper piece "
        "text work works everything across whole pull together sum summarise summary round gist recap contribution "
        "contributions role bring brings draw draws drawn rely relies lean leans idea ideas thought thoughts find "
        "finds findings mention mentions mentioned quote quotes quoted reference references referenced appear "
        "appears pop pops lot often times source sources scholar scholars author authors writer analyst tell tells "
        "contend contends write writes wrote note notes suggest suggests stand stands overall rest only just please "
        "quick quickly brief briefly short simply basically really actually up"
    )
)
_WHOLE_SOURCE = 8  # most sentences quoted for a work asked about as a whole


class Composer:
    """Picks, orders and cites sentences."""

    def __init__(self, handle: IndexHandle, max_sentences: int, refusal_threshold: float) -> None:
        self.handle = handle
        self.max_sentences = max_sentences
        self.refusal_threshold = refusal_threshold
        self._by_passage: dict[str, list[int]] = {}
        self._spans: dict[str, list[tuple[int, int]]] = {}
        self._contexts: dict[tuple[str, int], str] = {}
        self._windows: dict[tuple[str, int], str] = {}
        self._entities_of: tuple[str | None, list[str]] = (None, [])
        for i, pid in enumerate(handle.sentence_pids):
            self._by_passage.setdefault(pid, []).append(i)
        self._in_context = in_context(handle.sentence_vectors, handle.sentence_pids)
        article = [
            p
            for p in handle.passages.values()
            if p.kind == "article" and p.paragraph and p.section not in ("Title", "About the author")
        ]
        years = [int(y) for p in article for y in _YEAR.findall(p.text) if p.section != "Summary"]
        self.horizon = max(years) if years else 9999  # the latest year the article itself speaks of
        counts: dict[str, int] = {}
        for p in article:
            for name in {m.group(0).lower() for m in _ENTITY.finditer(p.text)}:
                counts[name] = counts.get(name, 0) + 1
        self.ubiquitous = {n for n, c in counts.items() if c >= len(article) / 3}  # e.g. "csto"
        # a foreign name glossed in parentheses, "*Kanal* (Channel)": either name stands for the other
        self.glosses: dict[str, list[str]] = {}
        for p in article:
            for m in _GLOSS.finditer(p.text):
                native, english = m.group(1).strip(), m.group(2).strip()
                self.glosses.setdefault(native.lower(), []).append(english)
                self.glosses.setdefault(english.lower(), []).append(native)
        italic = {m.group(1).lower() for p in article for m in re.finditer(r"\*([A-Z][\w\-]+)\*", p.text)}
        self.known_names = {n for n in counts if " " not in n} | italic  # "*Kanal*": a name the article uses too
        # the long names it defines acronyms for, "Shanghai Cooperation Organization (SCO)": found in lower case too
        self.defined = acronyms([p.text for p in article])  # {"SCO": "Shanghai Cooperation Organization"}
        self.long_names = sorted(self.defined.values(), key=len, reverse=True)
        self.name_leads = {long.split()[0].lower() for long in self.long_names}  # "Shanghai" opens a name
        # names the article also gives in their own language, "... (CSTO) or *Organizacija ...* (ODKB)"
        self.aliases = list(dict.fromkeys(a for p in article for a in aliases(p.text)))
        # words the article only ever writes capitalised, and not only to open a sentence: a lower-case question's
        # "uzbekistan" or "sco" is the name all the same
        body = " ".join(p.text for p in article)
        lower = set(re.findall(r"(?<![\w\-])[a-z][\w\-]+", body))
        # standing alone mid-sentence ("Uzbekistan"), not only inside a longer name ("Rapid" of "Collective Rapid ...")
        runs = re.finditer(
            r"(?:(?<=[a-z,;(*] )|(?<=[a-z*] \()|(?<=[a-z,;(] \*))[A-Z][\w\-]+(?:\s+(?:(?:of|on|and|the|for)\s+)?"
            r"[A-Z][\w\-]+)*",
            body,  # "operation *Kanal*": an italic name too
        )
        mid = [m.group(0) for m in runs if " " not in m.group(0)]
        self.proper = {w for w in mid if w.lower() not in lower and len(w) >= 3 and w.lower() not in self.ubiquitous}
        self.proper_by_lower = {w.lower(): w for w in self.proper}
        self.countries = _country_names()
        about = next((p.text for p in handle.passages.values() if p.section == "About the author"), "")
        byline = re.match(r"About the author: (.+?) —", about)
        # "according to Lacroix": the article's own author is not a name its sentences must contain
        self.author = byline.group(1).split()[-1].lower() if byline else ""
        # a cited person speaking in the sentence: "Buzan and Wæver (2003) reason that", "As de Haas notes" (a
        # "who argues" question asks for a person; "Article 3 of the Charter states" is a document)
        # the cited persons' family names (an organisation's authors carry no comma)
        self._people = frozenset(e.family for e in handle.entries.values() if any("," in a for a in e.authors))
        people = sorted(self._people, key=len)
        self._person_says = (
            re.compile(
                rf"\b(?:{'|'.join(re.escape(f) for f in reversed(people))})(?: (?:and|&) [A-Z][\w’'\-]+| et al\.?)?"
                rf"(?: \(\d{{4}}[a-z]?\))?,? (?:{_ATTRIBUTION_VERBS})\w*\b"
            )
            if people
            else None
        )
        self._parts = {part: {p.id for p in ps} for part, ps in article_parts(handle).items()}
        # every word of the index (the article, its cards and full texts): what a question's word may be about
        self._vocabulary = frozenset(w for p in handle.passages.values() for w in content_words(p.text))
        self._citing: dict[str, list[str]] = {}
        for p in handle.passages.values():
            if p.kind == "article":
                for c in p.citations:
                    self._citing.setdefault(c.key, [])
                    if p.id not in self._citing[c.key]:
                        self._citing[c.key].append(p.id)

    def source_asked(self, question: str) -> list[str]:
        """The keys of the cited person's works a question asks about as a whole ("What are Shakhanova's main
        claims?"): one family name (not the article's own author) and no other word the article uses beyond words
        for claiming and gathering; [] otherwise ("What does Allison argue about intervention?" asks a point)."""
        folded = fold_name(question.lower())
        named = [f for f in self._people if re.search(rf"\b{re.escape(fold_name(f.lower()))}\b", folded)]
        if len(named) != 1 or named[0].lower() == self.author:
            return []
        family = set(content_words(fold_name(named[0])))
        rest = [w for w in content_words(folded) if w not in _CLAIMING and w not in family]
        if any(w in self._vocabulary for w in rest):
            return []
        return [k for k, e in self.handle.entries.items() if e.family == named[0]]

    def citing(self, keys: list[str]) -> list[Scored]:
        """The article's sentences citing these works, in the article's order (_WHOLE_SOURCE at most)."""
        out: list[Scored] = []
        for pid in dict.fromkeys(pid for k in keys for pid in self._citing.get(k, [])):
            p = self.handle.passages[pid]
            for i in self._by_passage.get(pid, []):
                s, e = (int(x) for x in self.handle.sentence_spans[i])
                c = Candidate(p, s, e, self.handle.sentence_vectors[i], 0, self._in_context[i])
                if any(r.key in keys for r in self.sources_of(c)):
                    out.append(Scored(c, 1.0, 1.0, 1.0))
        out.sort(key=_article_order)
        return out[:_WHOLE_SOURCE]

    def candidates(self, retrieved: list[ScoredPassage], depth: int = DEPTH) -> list[Candidate]:
        """Sentences of the top `depth` article passages and of the source cards ranked among them; a card also
        brings the article passages citing it. Cards do not use up the depth: a question naming countries ranks
        cards whose titles name them ("Armenia, Azerbaijan, and Georgia on Different Tracks") above the passage
        that answers it."""
        seen: set[str] = set()
        ordered: list[tuple[Passage, int]] = []
        taken = 0  # article passages read so far: bibliography cards come along without using up the depth
        for sp in retrieved:
            if taken >= depth:
                break
            taken += sp.passage.kind != "source_card"
            extra = [sp.passage]
            if sp.passage.kind == "source_card":
                extra += [self.handle.passages[pid] for pid in self._citing.get(sp.passage.source_key, [])[:4]]
            for p in extra:
                if p.id not in seen:
                    seen.add(p.id)
                    ordered.append((p, sp.rank))
        out: list[Candidate] = []
        for p, rank in ordered:
            for i in self._by_passage.get(p.id, []):
                s, e = (int(x) for x in self.handle.sentence_spans[i])
                line = p.text[s:e]
                if p.kind == "source_card" and line.startswith(("- ", "Cited in the article", "The article lists")):
                    continue  # the card's list of citing sentences: quote the article passages themselves
                out.append(Candidate(p, s, e, self.handle.sentence_vectors[i], rank, self._in_context[i]))
        return out

    def score(
        self,
        question: str,
        qvec: np.ndarray,
        cands: list[Candidate],
        focus: np.ndarray | None = None,
        topic: list[str] | None = None,
    ) -> list[Scored]:
        """Score every candidate for this question (`focus`: the follow-up's or the premise question's own vector,
        averaged in; `topic`: the names a follow-up's conversation is about)."""
        qt = question_type(question)
        named_part = self.named_part(question)
        # "the author of this paper": the document itself, not the word ("a paper tiger")
        qwords = set(_asked_words(question) if named_part else content_words(question))
        qwords -= set(content_words(self.author))  # "Who does Lacroix rely on"
        names = self.entities(question)
        qnums = numbers_in(question)
        counted = re.search(rf"\b(?:the|its|their) ({_NUMBER_WORDS})\b", question.lower())
        qcount = counted.group(1) if counted else ""
        native = alias_asked(question, self.aliases)
        naming = _NAME_ASKED.search(question.lower()) is not None
        person = _PERSON_ASKED.search(question) is not None
        about_paper = _about_the_paper(question, self.author)
        verdict = bool(named_part) and _VERDICT_ASKED.search(question) is not None
        explained = qt.reason or qt.broad
        front = self._parts["front"]  # the title page: title, journal line, key words
        out = []
        for c in cands:
            sem = _fit(qvec, c)
            own = _fit(focus, c) if focus is not None else sem
            rank_sem = (sem + own) / 2
            sem = max(sem, own)  # a follow-up's evidence: with its context or on its own words
            words = set(content_words(c.text))
            overlap = len(qwords & words) / len(qwords) if qwords else 0.0
            bonus = 0.0
            text = c.text
            if qt.when and _YEAR.search(text):
                bonus += 0.08
            if qt.number and _NUMBER.search(_YEAR.sub("", text)):
                bonus += 0.08
            if qt.source and not qt.bibliographic and c.passage.kind == "article" and self.sources_of(c):
                bonus += 0.12
                if person and self._person_says is not None and self._person_says.search(text):
                    bonus += 0.06  # "who argues X": the sentence in which a cited scholar argues it
            if qt.listing and c.passage.kind == "article":  # a card's commas are its entry's punctuation
                bare = _CITATION_PARENS.sub(" ", text)  # "(Khalatyan, 2017)" lists nothing
                items = bare.count(",") + bare.count(";") + len(re.findall(r"\band\b", bare))
                bonus += 0.1 if items >= 3 else 0.04 if items >= 2 else 0.0
                if re.search(r":[^:]*[;,][^:]*(?:[;,]|\band\b)", bare):
                    bonus += 0.06  # "a multifaceted outlook materializes: X; Y; and Z": a colon opens the list
                listed = {w for w in _ENTITY.findall(bare[1:]) if w not in _NOT_ENTITY}
                bonus += 0.08 if len(listed - set(names)) >= 3 else 0.0  # the sentence that enumerates names
            if qcount and qcount in re.findall(rf"\b(?:{_NUMBER_WORDS})\b", text.lower()):
                bonus += 0.06  # "the three blocs": the sentence that counts them
            if c.passage.kind == "source_card":
                bonus += 0.08 if qt.bibliographic else -0.1 if qt.source else -0.2  # an entry rarely says what is asked
                if qt.bibliographic and c.start == 0:
                    bonus += 0.05  # the entry as printed: title, journal, issue, pages, publisher, date and URL
            if names:  # a sentence (with its pronouns' antecedents) naming what the question names
                bonus += 0.08 * sum(self._names(n, c) for n in names) / len(names)
            if topic:  # a follow-up's "it": the thing the conversation is about
                bonus += 0.06 * sum(self._names(n, c) for n in topic) / len(topic)
            if any(a[2] in text and a[3] in text for a in native):
                bonus += 0.6  # "what is the CSTO called in Russian": the sentence giving that name leads
            if c.passage.id in named_part:
                bonus += _PART_NAMED  # "in the closing section, ...": that part of the article answers
                if verdict and _CONCLUDES.match(text):
                    bonus += 0.1  # "the author's overall verdict": "In conclusion, ..."
            if naming and _NAMING.search(text):
                bonus += 0.12  # "what are the drills called": the sentence that names them
            if qnums and qnums <= numbers_in(text):
                bonus += 0.06  # "the 2016 news item": the sentence that states the question's own figure
            if _asks(text) and not _QUESTIONS_ASKED.search(question):
                bonus -= 0.2  # the article's own rhetorical questions never answer one
            if c.passage.kind == "article" and _SIGNPOST.search(text) and not about_paper:
                bonus -= 0.3  # "Following this, operations ... will be identified": the paper's plan, not its findings
            if explained and c.passage.id in front and not about_paper:
                bonus -= 0.3  # "Is it Moscow's tool? What does the article say?": its title page argues nothing
            score = rank_sem + 0.35 * overlap + 0.06 / (1 + c.rank) + bonus
            out.append(Scored(c, score, sem, overlap))
        out.sort(key=lambda s: -s.score)
        return out

    def named_part(self, question: str) -> set[str]:
        """The passage ids of the part of the article a question about the article names ("the closing section",
        "bottom line"); none when it names something else ("a summary of Kazakhstan's position")."""
        cued = [k for k, cue in STRUCTURE_CUES.items() if cue.search(question)]
        if not cued or any(e.lower() not in self.ubiquitous for e in self.entities(question)):
            return set()
        return set().union(*(self._parts[k] for k in cued))

    def unmet(self, question: str, chosen: list[Scored], asked: str = "") -> str:
        """Why the chosen sentences cannot answer the question ('' when they can): a general slot check. `asked`:
        the whole turn, when `question` is its last sentence."""
        years = [int(y) for y in _YEAR.findall(question)]
        if years and max(years) > self.horizon:
            return f"the article's sources end in {self.horizon}"
        missing = numbers_in(question) - numbers_in(" ".join(_unparenthesised(c.cand) for c in chosen))
        if missing:
            return f"no passage gives {', '.join(sorted(missing))} in this context"
        personal = self._asks_her_person(question)
        if personal:  # "How old is the author?": only the note about her could say it, in the question's own words
            note = " ".join(c.cand.text for c in chosen if c.cand.passage.section == "About the author")
            told = set(content_words(personal)) - set(content_words("the author writer paper article"))
            if not told & set(content_words(note)):  # "where is she from": no word to find, nothing said
                return "the article says nothing of its author's person"
        qt = question_type(question)
        head = _counted_noun(question)
        act = not qt.bibliographic  # a question about a cited work's title is about the work, not an act
        if _YEARS_BETWEEN.search(question):  # "how many years after X did Y": each named thing must be dated
            dated = [c for c in chosen if _YEAR.search(_unparenthesised(c.cand))]
            names = self.entities(question)
            if not dated or not all(any(self._names(n, c.cand) for c in dated) for n in names):
                return "no passage dates both"
            return ""  # each named thing has its dated sentence
        # "in dollars", "how much did X spend": a share or a tonnage is no answer (a share is, when one is asked)
        money = _MONEY_ASKED.search(question) is not None and not _SHARE_ASKED.search(question)
        if qt.number and not any(
            quantity_in(c.cand.text)
            and self._about(question, c, act=act)
            and self._counts_for(question, c.cand)
            and (not head or _counts(head, c.cand.text))
            and (not money or _MONEY.search(c.cand.text) is not None)
            for c in chosen
        ):
            return "no passage states that quantity"
        if _DURATION_ASKED.search(question) and not any(
            _DURATION.search(c.cand.text) and self._about(question, c, act=act) for c in chosen
        ):
            return "no passage says how long"
        if all(c.cand.passage.kind == "source_card" for c in chosen) and not self._card_can_answer(question, chosen):
            return "the cited work's own text is not indexed"  # a card gives the entry, not what the work argues
        work = qt.bibliographic or _WORK_ASKED.search(asked or question) is not None  # "What year is that study?"
        if qt.when and not any(
            _YEAR.search(c.cand.text if work else _CITATION_PARENS.sub(" ", c.cand.text))
            and self._about(question, c, act=act)
            for c in chosen
        ):
            return "no passage dates it"  # a cited work's bracketed year dates the work, not the event asked about
        if (
            qt.where
            and not qt.bibliographic
            and not any(self._about(question, c) and self._names_a_place(question, c.cand) for c in chosen)
        ):
            return "no passage names the place"
        states = qt.listing and _STATES_LISTED.search(question) is not None
        if states and not any(self._names_a_state(question, c.cand) for c in chosen):
            return "no passage names the states"  # "which member states opposed X": none is named opposing it
        owned = _POSSESSIVE.search(question)  # "Who are Oliker's co-authors?": the role is what is owned
        role = _role_asked(question, {w.lower() for e in self.entities(question) for w in e.split()} | self.ubiquitous)
        named_role = re.search(_NAME_OF_ROLE, question.lower())  # "the name of the Kazakh president"
        # "the editor of the book containing Baev's chapter": the role named before the possessive is the one asked
        before = bool(role) and -1 < question.lower().find(role) < (owned.start() if owned else 0)
        owner = owned if qt.who_is and not before else None
        role_word = owner.group(2) if owner else named_role.group(1) if named_role else role
        if qt.who_is and not any(
            (qt.bibliographic or self._about(question, c))
            and (not role_word or role_word[:5] in c.cand.text.lower() or self._entry_gives(role_word, c.cand))
            for c in chosen
        ):
            return "no passage says who"  # a question about a work's people needs the role named too
        # one passage about all the names asked about; a picture of several things may name them one by one
        spread = question_type(asked or question).broad and self._each_named(question, chosen)
        if not spread and not any(self._about(question, c, act=False, slack=1) for c in chosen):
            return "no passage is about all the names asked about"
        return ""

    def _each_named(self, question: str, chosen: list[Scored]) -> bool:
        """Every name of the question is named by one of the chosen sentences (with the two before it): a picture of
        several things ("Compare X with Y") spans sentences."""
        entities = self.entities(question)
        if len(entities) < 2:
            return False
        return all(
            any(self._named(e, self._context(c.cand), c.cand.passage.text, self._window(c.cand)) for c in chosen)
            for e in entities
        )

    def _entry_gives(self, role: str, c: Candidate) -> bool:
        """A bibliography card whose entry has the field a role names ("who is the publisher of ...": its publisher
        or journal; "the editor": an "ed." in the entry; "the author": its authors), printed without that word."""
        entry = self.handle.entries.get(c.passage.source_key or "") if c.passage.kind == "source_card" else None
        if entry is None:
            return False
        fields = {
            "publi": bool(entry.publisher or entry.container),
            "edito": re.search(r"\beds?\.|\bedited\b", entry.raw) is not None,
            "autho": bool(entry.authors),
            "write": bool(entry.authors),
        }
        return fields.get(role[:5], False)

    def _asks_her_person(self, question: str) -> str:
        """The words of a question that ask about the paper's own author as a person (her age, nationality, family,
        where she lives or teaches), not about her argument ('' when it asks no such thing)."""
        found = _PERSONAL.search(_as_the_author(question, self.author))
        return found.group(0) if found else ""

    def _counts_for(self, question: str, c: Candidate) -> bool:
        """In a sentence of clauses about different subjects, the quantity's own clause names the question's names,
        or leans back on the sentence's subject with a pronoun ("the US contributed 51.1%" is no figure for Moscow's
        share, though Russia is named in the clause before; Russia's "$200 million" to Kyrgyzstan is none for what
        Kazakhstan spent on Russian weapons)."""
        clause = quantity_clause(c.text)
        names = [n for n in self.entities(question) if n.lower() not in self.ubiquitous]
        if clause == c.text or not names or _PRONOUN.search(clause):
            return True
        return all(_named_in(n, clause.lower(), clause) for n in names)

    def _names_a_state(self, question: str, c: Candidate) -> bool:
        """True when the sentence names a country the question does not."""
        return any(
            name in c.text and name not in question and re.search(rf"\b{re.escape(name)}\b", c.text) is not None
            for name in self.countries
        )

    def _names_a_place(self, question: str, c: Candidate) -> bool:
        """True when the sentence holds a proper name other than those of the question (a city, a country) where
        a place stands: after a locative word ("based in Moscow", "drills in Tajikistan") or as the sentence's
        subject ("Central Asia emerged as ..."); "the armed forces of Kazakhstan" names a party, not a place."""
        asked = {w.lower() for e in self.entities(question) for w in e.split()}
        words = [w.strip("(),.;:*") for w in _CITATION_PARENS.sub(" ", c.text).split()]
        for i, w in enumerate(words):
            if i < 3 and all(x[:1].isupper() for x in words[: i + 1]) and w in self.proper and w.lower() not in asked:
                return True  # the subject: "Moscow hosts ...", "Central Asia emerged as ..."
            if i == 0 or not w[:1].isupper() or w in _NOT_ENTITY or w.lower() in asked | self.ubiquitous:
                continue
            prev = words[i - 1].lower()  # "based in Moscow", "in the Caucasus", "in Central Asia"; not "in 2012, X"
            located = prev in _LOCATIVE or (
                i >= 2 and words[i - 2].lower() in _LOCATIVE and (prev == "the" or words[i - 1][:1].isupper())
            )
            if located or (i == 1 and words[0] in self.proper):
                return True
        return False

    def _about(self, question: str, s: Scored, act: bool = True, slack: int = 0) -> bool:
        """True when the sentence (with the two before it, for pronouns) names every entity of the question and
        shares with it at least one other content word (the asked-about act: joined, established, intercepted)."""
        context = self._context(s.cand)
        entities = self.entities(question)
        window = self._window(s.cand)
        absent = [e for e in entities if not self._named(e, context, s.cand.passage.text, window)]
        compound = re.search(r",? and (?:is|are|was|were|does|do|did|what|which|how|where|who|when|why)\b", question)
        unknown = [e for e in absent if e.lower() not in self.known_names]
        if len(absent) > (slack if len(entities) >= 2 else 0) or (unknown and not compound):
            return False  # a name the corpus never uses ("ISBN") is never excused
        entry = self.handle.entries.get(s.cand.passage.source_key or "")
        owners = {a.split(",")[0].strip().lower() for a in entry.authors} if entry else set()
        short = question
        for long, acronym, *_ in self.aliases:  # "the Collective Security Treaty Organization's funding": the CSTO's
            short = re.sub(re.escape(long), acronym, short, flags=re.I)
        if _possessor_mismatch(short, s.cand.text, self.known_names - owners):  # "Allison's comparison": her card
            return False
        if not act:
            return True
        entity_words = {w for e in entities for w in content_words(e)} | set(content_words(_counted_noun(question)))
        phrased = re.sub(r"\b(?:end|ends|ended|wind|winds|wound) up\b", " ", question)  # "end up doing": light
        phrased = _LOCATING.sub(" ", phrased)
        for pattern, verb in _PHRASAL:  # "sign up" is "join", "at no cost" is "free"
            phrased = pattern.sub(verb, phrased)
        asked = [
            w
            for w in content_words(phrased)
            if w not in entity_words and w not in _SLOT_WORDS and w not in _PREPOSITIONS and not w.isdigit()
        ]
        words = content_words(s.cand.text)
        if _INTO_FORCE.search(s.cand.text):  # "came into force in 2003": it started then
            words = [*words, "launch"]
        said, prefixes = " ".join(words), {_stem_prefix(w) for w in words}
        return not asked or sum(_says(w, said, prefixes) for w in asked) * 2 >= len(asked)

    def _context(self, c: Candidate) -> str:
        """The sentence with the two before it (for its pronouns), lower-cased, possessive 's dropped."""
        key = (c.passage.id, c.start)
        if key not in self._contexts:
            self._contexts[key] = re.sub(r"['’]s\b", "", self._window(c).lower())
        return self._contexts[key]

    def _window(self, c: Candidate) -> str:
        """The sentence with the two before it, as written."""
        key = (c.passage.id, c.start)
        if key not in self._windows:
            spans = self._spans.get(c.passage.id)
            if spans is None:
                spans = self._spans[c.passage.id] = passage_spans(c.passage)
            before = [sp for sp in spans if sp[1] <= c.end]
            self._windows[key] = c.passage.text[before[-3][0] if len(before) >= 3 else 0 : c.end]
        return self._windows[key]

    @staticmethod
    def _card_can_answer(question: str, chosen: list[Scored]) -> bool:
        """False when a question answered by bibliography cards only asks what the work argues, finds or
        recommends (and the cards don't say it): a card holds the entry, not the work's content."""
        cards = " ".join(content_words(" ".join(c.cand.text for c in chosen)))
        return not any(_stem_prefix(w) in _CONTENT_ASKED and w[:5] not in cards for w in content_words(question))

    def _names(self, name: str, c: Candidate) -> bool:
        """Whether the sentence (with its pronouns' antecedents) names this entity."""
        return self._named(name, self._context(c), c.passage.text, self._window(c))

    def _named(self, entity: str, context: str, original: str, window: str = "") -> bool:
        """_named_in, by the entity's own name or by its gloss ("Channel" names *Kanal*). A glossed name, with or
        without its kind ("Operation Illegal" for "Operation *Nelegal* (Illegal)"), is named only as a name, in
        either form and with its capital, in the sentence or the two before it (`window`, as written): "illegal
        weapons" does not name it."""
        rest = _KIND.sub("", entity)
        if rest.lower() in self.glosses and window:
            forms = [rest, *self.glosses[rest.lower()]]
            return any(re.search(rf"(?<!\w){re.escape(n)}(?!\w)", window) for n in forms)
        if any(_named_in(n, context, original) for n in [entity, *self.glosses.get(entity.lower(), [])]):
            return True
        lead = entity.lower() + " "  # "the Shanghai group": the Shanghai Cooperation Organization, "the SCO"
        return any(
            long.lower().startswith(lead) and re.search(rf"\b{short}\b", original) is not None
            for short, long in self.defined.items()
        )

    def entities(self, question: str) -> list[str]:
        """Capitalised names in the question, without question words and the corpus's ubiquitous names (the
        last question's answer is kept: the checks ask for it once per candidate sentence)."""
        memo = self._entities_of  # read once: another thread may replace it meanwhile
        if memo[0] != question:
            memo = self._entities_of = (question, self._find_entities(question))
        return list(memo[1])

    def _add_entity(self, question: str, found: str, at: int, out: list[str]) -> None:
        """Append the name a capitalised run of the question gives (at offset `at`), if it is one."""
        words = [
            re.sub(r"['’]s$", "", w)
            for w in found.split()
            if re.sub(r"['’]s$", "", w) not in _NOT_ENTITY
            and re.sub(r"['’]s$", "", w).lower() not in self.ubiquitous
            and not re.match(r"^[A-Z][a-z]?['’][a-z]+$", w)  # I've, We're
        ]
        starts_sentence = at == 0 or re.search(r"[.?!:]\s*$", question[:at]) is not None
        if starts_sentence and words and words[0] == found.split()[0] and words[0].lower() not in self.known_names:
            words = words[1:]  # "Not counting Russia ...", "Page number?": a capital that only opens a sentence
        name = " ".join(words)
        # ("Shanghai" opens a defined name: no demonym)
        if len(words) == 1 and _DEMONYM.match(name) and name.lower() not in self.known_names | self.name_leads:
            return  # "Russian", "Kazakh": a description, not a name the answer must contain
        if name.lower() == self.author and not question_type(question).bibliographic:
            return
        if name and name.lower() not in self.ubiquitous:
            out.append(name)

    def _find_entities(self, question: str) -> list[str]:
        out: list[str] = []
        for m in _ENTITY.finditer(question):
            for piece, at in _name_pieces(m.group(0), m.start()):
                self._add_entity(question, piece, at, out)
        if question[1:] == question[1:].lower():  # typed in lower case: the corpus's proper names still count
            ql = question.lower()
            longs = [n for n in self.long_names if re.search(rf"\b{re.escape(n.lower())}\b", ql)]
            out += [n for n in longs if n not in out]  # "the shanghai cooperation organization", as one name
            within = {w for n in longs for w in n.lower().split()}
            for w in re.findall(r"[a-z][\w\-]+", ql):
                name = self.proper_by_lower.get(w, "") if w not in within else ""
                if name and name not in out and name.lower() != self.author:
                    out.append(name)
        if alias_asked(question, self.aliases):  # "called in Russian": the language asked in is no name to find
            kept = (" ".join(w for w in n.split() if not _IN_LANGUAGE.fullmatch(w.lower())) for n in out)
            out = [n for n in kept if n]
        return out

    def evidence(self, scored: list[Scored], question: str = "", context: str = "") -> float:
        """The evidence strength behind an answer: semantic fit plus lexical coverage of the best sentence, and
        0.25 more when it is the bibliography card of a work the question names by author and year ("the Baev
        2014 chapter": MiniLM barely relates such a question to the entry's wording), or by author alone in a
        question about the entry when the bibliography has one work of that name ("In which journal did Allison
        publish?"). `context`: a follow-up's conversation, which may be what names the work ("What was that piece
        called?" after a reply citing Lacroix)."""
        if not scored:
            return -1.0
        best = scored[0]
        strength = best.semantic + 0.35 * best.overlap
        entry = self.handle.entries.get(best.cand.passage.source_key or "")
        naming = f"{question} {context}"
        named = entry is not None and fold_name(entry.family.lower()) in fold_name(naming.lower())
        if best.cand.passage.kind == "source_card" and named and entry:
            # by author and year, or by author alone when a bibliographic question names the only work of that name
            only = sum(e.family == entry.family for e in self.handle.entries.values()) == 1
            if str(entry.year) in naming or (only and question_type(question).bibliographic):
                strength += 0.25
        about_her = bool(_WHAT_THE_NOTE_GIVES.search(_as_the_author(question, self.author)))
        about_her = about_her and best.cand.passage.id in self._parts["author"]
        if best.cand.passage.id in self.named_part(question) and (
            best.overlap > 0 or not _asked_words(question) or about_her
        ):
            strength += 0.15  # the part of the article the question names, sharing a word with it ("which
            # university did the writer of this paper attend"), or asked for itself ("who is the author of this paper");
            # the note about the author answers what a note about an author gives ("the author's affiliation", "her
            # job"), in words it never uses ("How old is the author of this paper?" stays unanswered)
        return strength

    def select(self, scored: list[Scored], question: str = "", asked: str = "") -> list[Scored]:
        """The best sentence and close, non-redundant others; lists and reasons get more, a date or a number
        question gets the best sentence that states one when it is close enough. `asked`: the whole question,
        premise included ("Critics say the drills are pointless. What good are they?")."""
        if not scored:
            return []
        qt = question_type(question)
        slotted = qt.when or qt.number or qt.where or qt.who_is or qt.listing
        if not slotted and _CONCESSIVE.search(asked or question):  # "Critics say X. What good is it?": the turn
            turn = self._counterpoint(scored)
            if turn:
                return turn
        broad = question_type(asked or question).broad  # "Is it worth anything?" after "What's the bottom line?"
        wide = qt.listing or qt.reason or broad
        limit = self.max_sentences + (1 if wide else 0) + (_BROAD_EXTRA if broad else 0)
        chosen = [scored[0]]
        floor = scored[0].score - (_BROAD_FLOOR if broad else 0.18 if wide else 0.12)
        if wide and len(scored) > 1 and scored[0].overlap >= 0.75:  # it echoes the question ("Armenia is faced with
            floor = min(floor, scored[1].score - 0.18)  # its own pros and cons"): the argument is in the others
        owners = self.entities(question) if qt.bibliographic else []  # "In which journal did Allison publish?"
        for s in scored[1:]:
            if len(chosen) >= limit or s.score < floor:
                break
            if owners and not all(self._names(n, s.cand) for n in owners):
                continue  # another work's entry, or the article's own journal line, is not the named work's
            if not self._redundant(s, chosen, cards=not qt.bibliographic):
                chosen.append(s)
        dated = qt.when or _YEARS_BETWEEN.search(question) is not None
        slot = (lambda t: bool(_YEAR.search(t))) if dated else quantity_in if qt.number else None
        if dated and _DAY_ASKED.search(question):  # "on what date": a day and month, not a year alone
            slot = lambda t: bool(_DAY.search(t))  # noqa: E731
        if slot and not any(slot(c.cand.text) for c in chosen):
            near = [s for s in scored if s.score >= scored[0].score - 0.25 and slot(s.cand.text)]
            act = not qt.bibliographic  # the first that is about the asked act, else the first
            extra = next((s for s in near if self._about(question, s, act=act)), near[0] if near else None)
            if extra is not None:  # it takes the place of its near-twin ("Oct 7 2016" in the entry as printed)
                twins = [c for c in chosen if self._redundant(extra, [c])]
                chosen = [*[c for c in chosen if c not in twins][: limit - 1], extra]
        if _YEARS_BETWEEN.search(question):  # "how many years after X did Y": a dated sentence for each of them
            for name in self.entities(question):
                if any(slot and slot(c.cand.text) and self._names(name, c.cand) for c in chosen):
                    continue
                extra = next(
                    (
                        s
                        for s in scored
                        if s.score >= scored[0].score - 0.35
                        and slot
                        and slot(_unparenthesised(s.cand))
                        and self._names(name, s.cand)
                        and not self._redundant(s, chosen)
                    ),
                    None,
                )
                if extra is not None:
                    chosen.append(extra)
        if _BALANCE.search(question):  # both sides: the turn a quoted sentence's paragraph takes ("Nevertheless, ...")
            pivot = None
            for s in chosen:  # the best sentence's paragraph first
                same, i = _paragraph_of(s, scored)
                pivot = next((t for t in same[i + 1 :] if _CONTRAST.match(t.cand.text)), None)
                if pivot is not None:
                    break
            if pivot is not None and pivot not in chosen:
                chosen = [*chosen[: limit - 1], pivot]
        answered = slot is not None and slot(scored[0].cand.text)  # a date or number question already answered
        for neighbour in [] if answered else self._continuation(scored[0], scored, reason=qt.reason):
            if not self._redundant(neighbour, chosen):
                chosen = [*chosen[: limit + 1], neighbour]
        closest = max(chosen, key=lambda c: c.semantic)
        if qt.reason and closest is not scored[0]:  # "what is pushing X": the sentence closest in meaning states X as
            same, i = _paragraph_of(closest, scored)  # a consequence ("... consequently face ..."): its cause before
            said = closest.cand.text
            leans = _CONSEQUENCE.match(said) or _CONSEQUENCE_MID.match(said)
            if i > 0 and leans and not self._redundant(same[i - 1], chosen):
                chosen = [*chosen[: limit + 1], same[i - 1]]
        chosen.sort(key=_article_order)
        return chosen

    def with_neighbours(
        self, scored: list[Scored], chosen: list[Scored], question: str = "", asked: str = ""
    ) -> list[Scored]:
        """The answer's sentences plus the best sentence's neighbours in its paragraph when they score close to it
        (within 0.3): a paragraph's point is often spread over two or three sentences. A why/how question takes
        one sentence more, from anywhere in that paragraph within 0.4 (an explanation is the paragraph's argument)
        or from another paragraph within _ELSEWHERE_GAP (a reason argued elsewhere, nearly as close).
        The refusal checks run on `chosen` alone; neighbours are context, never what lets a question pass."""
        if not chosen or not scored:
            return chosen
        qt = question_type(question)
        broad = question_type(asked or question).broad  # the whole turn: two questions in one are a picture
        limit = self.max_sentences + (1 if qt.listing or qt.reason or broad else 0) + 1
        limit += _BROAD_EXTRA if broad else 0
        top = scored[0]
        same, i = _paragraph_of(top, scored)
        out = list(chosen)
        order: list[int] = [i - 1, i + 1]
        gap = 0.3
        back: list[Scored] = []
        explain = qt.reason or broad  # a picture asked for is argued like an explanation
        if explain:  # an explanation: the best paragraph's closest sentences, wherever they stand in it
            order = sorted(range(len(same)), key=lambda j: -same[j].score)
            gap, limit = 0.4, limit + 1
            if _POINTS_BACK.match(top.cand.text):  # "This is key to ... why X": the reasons are what comes before it
                back = [same[j] for j in range(i - 1, -1, -1)]
        pool = [same[j] for j in order if 0 <= j < len(same) and same[j].score >= top.score - gap]
        if not _QUESTIONS_ASKED.search(question):  # the article's own questions are no context for an answer
            pool = [s for s in pool if not _asks(s.cand.text)]
        plan_ok = _about_the_paper(asked or question, self.author)
        if not plan_ok:  # nor is its plan ("Following this, ... will be identified"), unless the paper is asked about
            pool = [s for s in pool if not _SIGNPOST.search(s.cand.text)]
        if explain:  # a reason argued in another paragraph, nearly as close, competes
            home = top.cand.passage.id
            elsewhere = _BROAD_ELSEWHERE if broad else _ELSEWHERE_GAP  # a picture spans paragraphs
            pool += [s for s in scored[:12] if s.cand.passage.id != home and s.score >= top.score - elsewhere]
            pool.sort(key=lambda s: -(s.score + (_SAME_PARAGRAPH if s.cand.passage.id == home else 0.0)))
        if back:  # the sentences it sums up come first, whatever else scored close
            out, pool = [top], back + pool
        ahead = same[i + 1 : i + 1 + _ANNOUNCED] if _ANNOUNCES.search(top.cand.text) else []
        if ahead:  # "NATO and the CSTO share a few common variables.": what it announces comes next, whatever it scores
            pool, limit = ahead + pool, max(limit, len(out) + len(ahead))
        named = self.named_part(asked or question) if broad else set()
        if named:  # "the author's bottom line": the part it names is the answer, its close sentences first (two more)
            mine = [s for s in scored if s.cand.passage.id in named and s.score >= top.score - 0.4]
            pool, limit = mine + [s for s in pool if all(s is not m for m in mine)], limit + 2
        for s in pool:
            if len(out) >= limit:
                break
            if not self._redundant(s, out, cards=not qt.bibliographic):
                out.append(s)
        for s in list(out):  # "On the one hand, ..." is half a statement: its other hand comes with it
            if _PAIR_OPENS.match(s.cand.text):
                own, k = _paragraph_of(s, scored)
                other = next((x for x in own[k + 1 : k + 3] if _PAIR_CLOSES.match(x.cand.text)), None)
                if other is not None and not self._redundant(other, out):
                    out.append(other)
        out = self._fill_gaps(out, scored, asks_ok=bool(_QUESTIONS_ASKED.search(question)), plan_ok=plan_ok)
        out.sort(key=_article_order)
        return out

    @staticmethod
    def _fill_gaps(
        out: list[Scored], scored: list[Scored], asks_ok: bool = False, plan_ok: bool = False
    ) -> list[Scored]:
        """Two quoted sentences of one paragraph with at most _GAP sentences between them: the ones between come
        too, so the answer reads as the paragraph's argument and not as its skipped steps. A paragraph already
        mostly quoted (three sentences or more, at least _MOSTLY of it) is quoted whole. Neither brings the article's
        own questions (unless `asks_ok`) or its signposts of the paper's plan (unless `plan_ok`)."""
        added: list[Scored] = []
        for pid in dict.fromkeys(s.cand.passage.id for s in out):
            mine = [s for s in out if s.cand.passage.id == pid]
            if len(mine) < 2:
                continue
            same, _ = _paragraph_of(mine[0], scored)
            readable = [
                s
                for s in same
                if (asks_ok or not _asks(s.cand.text)) and (plan_ok or not _SIGNPOST.search(s.cand.text))
            ]
            if len(mine) >= 3 and len(mine) >= _MOSTLY * len(readable):
                added += [s for s in readable if all(s is not m for m in mine)]
                continue
            at = sorted(k for k, s in enumerate(same) if any(s is m for m in mine))
            for a, b in zip(at, at[1:], strict=False):
                between = same[a + 1 : b]
                if 0 < len(between) <= _GAP and (asks_ok or not any(_asks(s.cand.text) for s in between)):
                    added += [s for s in between if plan_ok or not _SIGNPOST.search(s.cand.text)]
        return [*out, *added]

    @staticmethod
    def with_antecedents(quoted: list[Scored], scored: list[Scored]) -> list[Scored]:
        """The quoted sentences with, for each that opens by pointing back ("This is problematic as ...", "Such
        ties ..."), the sentence before it in its paragraph when that one is not quoted and was read: what "this"
        is. One step back, not a chain; the article's own questions are not brought."""
        have = {(s.cand.passage.id, s.cand.start) for s in quoted}
        out = list(quoted)
        for s in quoted:
            if s.cand.passage.kind != "article" or not _POINTS_TO.match(s.cand.text):
                continue
            before = [t for t in scored if t.cand.passage.id == s.cand.passage.id and t.cand.start < s.cand.start]
            prev = max(before, key=lambda t: t.cand.start, default=None)
            if prev is None or (prev.cand.passage.id, prev.cand.start) in have or _asks(prev.cand.text):
                continue
            have.add((prev.cand.passage.id, prev.cand.start))
            out.append(prev)
        out.sort(key=_article_order)
        return out

    def with_other_works(self, quoted: list[Scored], scored: list[Scored]) -> list[Scored]:
        """The quoted sentences and, for an open question, up to _OTHER_WORKS more that cite a work none
        of them cites, best first, within _OTHER_WORKS_GAP of the best quoted and _OTHER_WORKS_MEANING of the closest
        in meaning: an answer drawn from the literature shows which works it stands on, not only the one its closest
        paragraph cites. The article's own questions and signposts are not brought; a sentence repeating a quoted
        one is not either."""
        if not quoted:
            return quoted
        most = _OTHER_WORKS
        top, closest = max(s.score for s in quoted), max(s.semantic for s in quoted)
        cited = {r.key for s in quoted for r in self.sources_of(s.cand)}
        out = list(quoted)
        for s in scored:
            if most <= 0 or s.score < top - _OTHER_WORKS_GAP:
                break
            if s.semantic < closest - _OTHER_WORKS_MEANING:  # a shared word is not enough: close in meaning too
                continue
            if s.cand.passage.kind != "article" or _asks(s.cand.text) or _SIGNPOST.search(s.cand.text):
                continue
            keys = {r.key for r in self.sources_of(s.cand)}
            if not keys - cited or self._redundant(s, out):
                continue
            out.append(s)
            cited |= keys
            most -= 1
        out.sort(key=_article_order)
        return out

    def add_one(self, quoted: list[Scored], scored: list[Scored], best: int = 3) -> list[Scored]:
        """The quoted sentences with the first of the `best` of `scored` that does not repeat one of them, and the
        sentences that carry it on ("On paper, its tasks are broad. On the one hand, ... Concurrently, ..."; two at
        most), in article order."""
        extra = next((s for s in scored[:best] if not self._redundant(s, quoted)), None)
        if extra is None:
            return quoted
        out = [*quoted, extra]
        same, i = _paragraph_of(extra, scored)
        for s in same[i + 1 : i + 3]:
            if not _CARRY_ON.match(s.cand.text) or self._redundant(s, out):
                break
            out.append(s)
        out.sort(key=_article_order)
        return out

    def _counterpoint(self, scored: list[Scored]) -> list[Scored]:
        """For a question that grants a criticism and asks what stands against it: the criticised sentence among
        the best five, and the turn its paragraph takes within three sentences after it ("On the other hand, the
        drills offer mutual benefits. Firstly, ...") with the sentence that carries the turn on."""
        for s in scored[:5]:
            same, i = _paragraph_of(s, scored)
            for j in range(i + 1, min(i + 4, len(same))):
                if _CONTRAST.match(same[j].cand.text):
                    return [s, *same[j : j + 2]]
        return []

    @staticmethod
    def _continuation(top: Scored, scored: list[Scored], reason: bool = False) -> list[Scored]:
        """The sentences the best one leans on or that carry it on: the previous one when the best opens with
        "Therefore" (its reason), the next one when it opens with a pronoun or a connective ("Its focus on ...",
        "For instance, ...")."""
        same, i = _paragraph_of(top, scored)
        out = []
        if i > 0 and (_CONSEQUENCE.match(top.cand.text) or (reason and _LEANS_BACK.match(top.cand.text))):
            out.append(same[i - 1])
        carry = _LEANS_BACK if reason else _CARRY_ON
        if i + 1 < len(same) and carry.match(same[i + 1].cand.text):
            out.append(same[i + 1])
        return out

    @staticmethod
    def _redundant(s: Scored, chosen: list[Scored], cards: bool = False) -> bool:
        """A near-twin of a chosen sentence, or (`cards`: a question not about the bibliography) a work's entry said
        again, as printed, as cited or as a summary line."""
        return any(
            float(np.dot(s.cand.vector, c.cand.vector)) > 0.85
            or (s.cand.passage.id == c.cand.passage.id and s.cand.start == c.cand.start)
            or (
                cards
                and s.cand.passage.kind == c.cand.passage.kind == "source_card"
                and s.cand.passage.source_key == c.cand.passage.source_key
            )
            for c in chosen
        )

    def sources_of(self, c: Candidate) -> list[SourceRef]:
        """Works the sentence leans on: citations inside its span, the card's work, the full text's work."""
        p, entries = c.passage, self.handle.entries
        refs: list[SourceRef] = []
        if p.kind in ("source_card", "fulltext"):
            entry = entries.get(p.source_key)
            return [SourceRef.from_entry(entry, p.page)] if entry else []
        for cite in p.citations:
            at = _local_offset(p, cite.surface, cite.start - p.start)
            if c.start <= at < c.end + 1:
                entry = entries.get(cite.key)
                if entry and not any(r.key == cite.key and r.pages == cite.pages for r in refs):
                    refs.append(SourceRef.from_entry(entry, cite.pages))
        # a sentence that names its page only ("(51)") and one that names the author without a page: keep the page
        keyed = {r.key for r in refs if r.pages}
        return [r for r in refs if r.pages or r.key not in keyed]

    def citations(self, chosen: list[Scored]) -> list[Citation]:
        """Numbered citations for the chosen sentences."""
        return [
            Citation.of(n, s.cand.passage, s.cand.text, (s.cand.start, s.cand.end), self.sources_of(s.cand))
            for n, s in enumerate(chosen, start=1)
        ]


# how much of the sentence before and of the one after goes into a sentence's in-context vector
_CONTEXT_BEFORE, _CONTEXT_AFTER = 0.8, 0.4


def in_context(vectors: np.ndarray, owners: list[str]) -> np.ndarray:
    """Each sentence's vector plus its neighbours' in the same passage (0.8 of the one before, 0.4 of the one
    after), normalised: "Firstly, they provide experience in managing multinational units" alone says nothing of
    drills, but after "military drills ... offer mutual benefits" it answers what the drills are good for."""
    if len(vectors) == 0:
        return vectors
    before = np.array([i > 0 and owners[i - 1] == o for i, o in enumerate(owners)])
    after = np.array([i + 1 < len(owners) and owners[i + 1] == o for i, o in enumerate(owners)])
    blended = (
        vectors
        + _CONTEXT_BEFORE * np.roll(vectors, 1, axis=0) * before[:, None]
        + _CONTEXT_AFTER * np.roll(vectors, -1, axis=0) * after[:, None]
    )
    return blended / np.linalg.norm(blended, axis=1, keepdims=True)


def _fit(query: np.ndarray, c: Candidate) -> float:
    """How well a sentence fits a query: on its own words or read in its paragraph, whichever fits better."""
    return max(float(np.dot(query, c.vector)), float(np.dot(query, c.context)))


def _article_order(s: Scored) -> tuple[bool, int, int]:
    """Sort key: article sentences first, in the article's order, then the rest."""
    return (s.cand.passage.kind != "article", s.cand.passage.start, s.cand.start)


# a why/how answer's further sentences: the best paragraph's within 0.4 of the best sentence, or another
# paragraph's within 0.06 (a reason argued elsewhere, nearly as close); the best paragraph's rank 0.1 higher.
# 0.06 and 0.12 gave the same figures on every set (one inspected heldout8 question gained, none lost).
_ELSEWHERE_GAP = 0.12
_MOSTLY = 0.5  # a paragraph this much quoted is quoted whole (0.5 measured; README, "Eval")
# a sentence announcing what its paragraph goes on to set out ("NATO and the CSTO share a few common variables.",
# "Reasons to remain are threefold:"), and how many of the sentences after it come with it
_ANNOUNCES = re.compile(
    r"\b(?:a few|several|some|many|various|a number of|numerous|two|three|four|five) (?:\w+ )?(?:variables|reasons|"
    r"factors|features|ways|points|elements|aspects|problems|challenges|benefits|differences|similarities|things|"
    r"issues|threats|characteristics|traits|commonalities|areas|concerns|obstacles|lessons|motives)\W*$|"
    r"\b(?:twofold|threefold|fourfold)\W*$|:\s*$"
)
_ANNOUNCED = 3
# a sentence that sums up what came before as the reason: "This is key to ... why X", "That is why", "For these reasons"
_POINTS_BACK = re.compile(
    r"(?:This|That|These|Such|All this)\s+(?:is|are|was|were|explains?|shows?|illustrates?|demonstrates?)\b"
    r"[^.]{0,40}?\b(?:why|reasons?|key|crucial|central)\b|For (?:these|this|such|all these) reasons?\b"
)
_SAME_PARAGRAPH = 0.1
# two quoted sentences of a paragraph with at most this many between them bring those too (1, 2, 3 measured: each
# only gained, 3 the most, 0.22 sentences more per answer on average)
_GAP = 3
# a question asking for a picture ("summarise", "overall verdict", "both sides") reads like an explanation and
# quotes one sentence more, down to 0.18 below the best (2 and 0.22 measured too: one question more, on a blind set)
_BROAD_EXTRA = 1
_OTHER_WORKS = 3  # sentences an open question may add for works it does not yet cite
_OTHER_WORKS_GAP = 0.3
_OTHER_WORKS_MEANING = 0.2  # and no further below the closest quoted sentence in meaning
_BROAD_FLOOR = 0.18
# ... and takes another paragraph's sentences within 0.2 of the best (0.12 for a why-question; 0.2 gained two, lost
# none)
_BROAD_ELSEWHERE = 0.2


_QUESTIONS_ASKED = re.compile(r"\bquestions?\b", re.I)


def _asks(text: str) -> bool:
    """Whether a sentence is itself a question (the article's rhetorical or research questions)."""
    return text.rstrip("”\"' ").endswith("?")


def _paragraph_of(top: Scored, scored: list[Scored]) -> tuple[list[Scored], int]:
    """The scored sentences of `top`'s passage in text order, and where `top` stands among them."""
    same = sorted((s for s in scored if s.cand.passage.id == top.cand.passage.id), key=lambda s: s.cand.start)
    return same, next(k for k, s in enumerate(same) if s is top)


def _local_offset(p: Passage, surface: str, approx: int) -> int:
    """Where a citation's surface text stands in the passage (nearest occurrence to its file offset)."""
    best, at = -1, p.text.find(surface)
    while at >= 0:
        if best < 0 or abs(at - approx) < abs(best - approx):
            best = at
        at = p.text.find(surface, at + 1)
    return best if best >= 0 else max(0, approx)


def render(citations: list[Citation], lead_sources: bool = False) -> str:
    """The answer text: each quoted sentence followed by its [n] marker; for a who/which-source question each
    sentence that cites works is led by them ("Allison (2018), p. 297: ...")."""
    parts = []
    for c in citations:
        lead = ""
        if lead_sources and c.kind == "article" and c.sources:
            # the article's own short form ("Allison, p. 297"): every name and page in it stands in the passage
            names = [re.sub(r"\s*\(\d{4}[a-z]?\)$", "", s.label) for s in c.sources]
            lead = "; ".join(f"{n}, p. {s.pages}" if s.pages else n for n, s in zip(names, c.sources, strict=True))
            lead += ": "
        parts.append(f"{lead}{c.quote} [{c.n}]")
    return " ".join(parts)
