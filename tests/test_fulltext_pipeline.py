"""Full texts of cited works, read from a sources folder, go through the real index and answer pipeline."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from index.store import build_index

FIXTURES = Path(__file__).parent / "fixtures" / "sources"


@pytest.fixture(scope="module")
def fulltext_assistant(tmp_path_factory, built_settings):
    from rag import Assistant

    data = tmp_path_factory.mktemp("fulltext-index")
    sources = data / "sources"
    shutil.copytree(FIXTURES, sources)
    settings = built_settings.model_copy(update={"data_dir": data, "sources_dir": sources})
    report = build_index(settings, progress=False)
    return Assistant.from_settings(settings), report


def test_bad_files_warn_by_name_and_the_rest_is_indexed(fulltext_assistant):
    assistant, report = fulltext_assistant
    text = "\n".join(report.warnings)
    for name in ("nikitin2014.pdf", "sucu2017.txt", "mystery.txt", "weitz2018.txt"):
        assert name in text
    kinds = {(p.source_key, p.page) for p in assistant.handle.passages.values() if p.kind == "fulltext"}
    assert ("weitz2018", "2") in kinds and any(key == "kucera2017" for key, _ in kinds)


def test_pdf_page_retrieved_and_cited_with_its_page(fulltext_assistant):
    assistant, _ = fulltext_assistant
    hits = assistant.retrieve("How often do the members agree on deployments, according to Weitz?", k=5)
    top = next(h.passage for h in hits if h.passage.kind == "fulltext")
    assert top.source_key == "weitz2018" and top.page == "2"
    answer = assistant.ask("Do CSTO members often agree on deployments?")
    weitz = [c for c in answer.citations if c.kind == "fulltext" and c.sources[0].key == "weitz2018"]
    assert weitz and weitz[0].page == "2" and "rarely agree on deployments" in weitz[0].quote
    assert weitz[0].sources[0].label == "Weitz (2018)" and weitz[0].sources[0].pages == "2"


def test_html_full_text_answers_what_the_article_does_not_say(fulltext_assistant):
    assistant, _ = fulltext_assistant
    answer = assistant.ask("Which countries said a parliament would have to approve a deployment to Syria?")
    assert not answer.refused
    assert any(c.kind == "fulltext" and c.sources[0].key == "kucera2017" for c in answer.citations)
    # the passage holding the answer is found and cited; the reader, fitted on questions about the article, leads
    # with the news item's headline sentence rather than the one naming the two states (a known miss on full texts)
    assert any("Kazakhstan and Kyrgyzstan" in c.text for c in answer.citations)
