"""The public API on the real index: cited answers, refusals, follow-ups, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from rag import Answer, IndexNotFoundError, InvalidQuestionError, load_settings
from rag.api import Assistant


def test_established_answer_cites_tashkent_1992(assistant):
    answer = assistant.ask("When was the CSTO established?")
    assert isinstance(answer, Answer) and not answer.refused
    assert "1992" in answer.text and "Tashkent Treaty" in answer.text
    assert answer.citations and answer.citations[0].location.startswith("Introduction")
    for c in answer.citations:  # every quote is verbatim from its passage, with its marker in the text
        assert c.quote in c.text and f"[{c.n}]" in answer.text
        assert c.text[c.quote_start : c.quote_end] == c.quote


def test_quoted_sentence_names_the_work_it_leans_on(assistant):
    answer = assistant.ask("Who concludes that there is no real solidarity in the CSTO framework?")
    refs = [s for c in answer.citations for s in c.sources]
    shak = next(s for s in refs if s.key == "shakhanova2017")
    assert shak.pages == "49"
    assert shak.display() == (
        "Shakhanova (2017), p. 49 — The Architecture of Security in the Eurasian Region: "
        "Is Russia Still a Guarantor of Regional Security?, East-West Studies 8: 45–52"
    )


def test_question_naming_the_csto_finds_a_sentence_that_says_the_alliance(assistant):
    """The article's sentence says "Eurasian alliance", the question "the CSTO": the query vector blends in the
    question read with "the alliance", which brings the sentence closer and its passage into the top three (fifth
    with the plain vector); the answer names its author."""
    question = (
        "Which scholar says the CSTO is really more of a military training centre than a working security instrument?"
    )
    hits = assistant.retrieve(question, k=3)
    assert any("military training center" in h.passage.text for h in hits)
    assert assistant.ask(question).text.startswith("Shakhanova, p. 49: Shakhanova states")
    retriever = assistant.retriever
    said = "Shakhanova states that Eurasian alliance acts more as a military training center rather than a tangible"
    sentence = np.asarray(retriever.embedder.get_text_embedding(said + " instrument of security"))
    plain = np.asarray(retriever.embedder.get_query_embedding(question))
    blended = retriever.embed_query(question)
    assert abs(float(blended @ blended) - 1) < 1e-5
    assert float(blended @ sentence) > float(plain @ sentence) + 0.05


def test_query_vectors_embedded_in_one_batch_equal_those_embedded_one_by_one(assistant):
    """A turn's texts (the question, its parts, a follow-up's reading) are embedded in one forward pass by the real
    model; each vector is the one a lone query gets, read-only, and remembered (the same object comes back)."""
    from rag.retrieve import HybridRetriever

    texts = ["How much heroin has Operation Kanal seized", "which outside body watches over the CSTO", "Tashkent 1992"]
    fresh = HybridRetriever(assistant.handle, assistant.retriever.embedder, 5)
    batch = fresh.embed_queries(texts)
    for text, vec in zip(texts, batch, strict=True):
        alone = HybridRetriever(assistant.handle, assistant.retriever.embedder, 5).embed_query(text)
        assert np.allclose(vec, alone, atol=1e-5) and abs(float(vec @ vec) - 1) < 1e-5
        assert not vec.flags.writeable and fresh.embed_query(text) is vec


def test_query_vectors_forgotten_past_the_limit_are_still_returned(assistant, monkeypatch):
    """Only the last _REMEMBERED texts are kept; a batch larger than that still gets every vector, in order."""
    import rag.retrieve as R

    monkeypatch.setattr(R, "_REMEMBERED", 2)
    fresh = R.HybridRetriever(assistant.handle, assistant.retriever.embedder, 5)
    texts = ["Operation Kanal", "Tashkent 1992", "Crisis Response Center", "Operation Kanal"]
    vectors = fresh.embed_queries(texts)
    assert len(vectors) == 4 and vectors[0] is vectors[3]
    assert list(fresh._vectors) == ["Crisis Response Center", "Operation Kanal"]


@pytest.mark.parametrize(
    "question", ["What is the CSTO called in Russian?", "whats the russian abbreviation for the csto"]
)
def test_a_name_asked_in_russian_is_answered_by_the_sentence_giving_it(assistant, question):
    """The sentence giving the Russian name never says "Russian": the passage giving it is brought in second and
    its sentence leads the answer."""
    hits = assistant.retrieve(question, k=3)
    assert any("Organizacija Dogovora" in h.passage.text for h in hits)
    answer = assistant.ask(question)
    assert not answer.refused
    assert "*Organizacija Dogovora o Kollektivnoj Bezopasnosti* (ODKB)" in answer.citations[0].quote


def test_source_card_retrieved_for_bibliography_question(assistant):
    hits = assistant.retrieve("What did Weitz publish in 2018?", k=5)
    assert any(h.passage.kind == "source_card" and h.passage.source_key == "weitz2018" for h in hits)


def test_out_of_scope_is_refused_with_closest_passages(assistant):
    answer = assistant.ask("What happened when CSTO troops went to Kazakhstan in January 2022?")
    assert answer.refused and answer.closest and "don't say" in answer.text and not answer.citations


def test_follow_up_uses_history(assistant):
    history = [
        {"role": "user", "content": "What is Operation Kanal?"},
        {"role": "assistant", "content": "An anti-narcotics operation."},
    ]
    hits = assistant.retrieve("And who observes it?", history=history, k=3)
    assert any("*Kanal*" in h.passage.text for h in hits)
    answer = assistant.ask("And who observes it?", history=history)
    assert "observer status" in answer.text


def test_stream_ends_with_full_answer(assistant):
    parts = list(assistant.stream("Which countries held the Chistoye Nebo exercises?"))
    assert parts[-1].text == assistant.ask("Which countries held the Chistoye Nebo exercises?").text
    assert all(len(a.text) <= len(parts[-1].text) for a in parts)


@pytest.mark.parametrize("bad", ["", "   \n\t", "x" * 20_000, "bad\x00question", "why\x07?", "\ud800"])
def test_bad_questions_raise_documented_error(assistant, bad):
    with pytest.raises(InvalidQuestionError):
        assistant.ask(bad)


def test_asking_before_any_index(tmp_path):
    with pytest.raises(IndexNotFoundError):
        Assistant.from_settings(load_settings(data_dir=tmp_path / "empty"))
    assert not (tmp_path / "empty").exists()


def test_on_the_one_hand_comes_with_its_other_half(assistant):
    """A quoted "On the one hand, ..." brings the sentence that completes it ("Concurrently, ...")."""
    history = [
        {"role": "user", "content": "When did the CSTO set up its rapid reaction force?"},
        {"role": "assistant", "content": "The Collective Rapid Reaction Forces (CRRF) were established in 2009."},
    ]
    answer = assistant.ask("And what are they actually meant to do?", history=history)
    quotes = [c.quote for c in answer.citations]
    opens = [i for i, q in enumerate(quotes) if q.startswith("On the one hand")]
    assert opens and quotes[opens[0] + 1].startswith("Concurrently, they are trained")


def test_a_compound_question_gets_a_sentence_for_each_part(assistant):
    answer = assistant.ask("What is the Crisis Response Center supposed to do, and is it up and running?")
    quotes = " ".join(c.quote for c in answer.citations)
    assert "as a means to exchange intelligence" in quotes
    assert "the project has not achieved functionality" in quotes


def test_a_likeness_and_a_difference_are_both_quoted(assistant):
    """ "where do they part ways" asks for a difference, not a place; each part's own passages are read."""
    answer = assistant.ask("How are NATO and the CSTO alike, and where do they part ways?")
    quotes = " ".join(c.quote for c in answer.citations)
    assert not answer.refused
    assert "share a few common variables" in quotes
    assert "exchanged for security, sovereignty" in quotes


def test_each_enumerated_facet_brings_its_own_sentence(assistant):
    """ "...: terrorism, narcotics, border crossings and cyberspace": each facet is searched and quoted."""
    answer = assistant.ask(
        "Sum up what the CSTO does about newer threats: terrorism, narcotics, border crossings and cyberspace."
    )
    quotes = " ".join(c.quote for c in answer.citations)
    assert "360 tons of narcotics" in quotes
    assert "PROXY fulfills that purpose" in quotes
    assert "*Nelegal* combines" in quotes


def test_the_authors_own_earlier_piece_is_found_by_her_name(assistant):
    """ "a piece of her own": the article's author is the cited work's author (Lacroix 2016)."""
    answer = assistant.ask("Which of the references is a piece of her own, and what is its title?")
    assert not answer.refused
    assert "The Dollars and Sense of Canada Is Back" in " ".join(c.quote for c in answer.citations)


def test_two_operations_the_article_names_only_in_italics_are_compared(assistant):
    """*Kanal* and *Nelegal* are printed in italics only: names the article uses, so a sentence about one of the
    two may answer a question comparing them."""
    answer = assistant.ask("How do Kanal and Nelegal differ in their partners?")
    quotes = " ".join(c.quote for c in answer.citations)
    assert not answer.refused
    assert "Kanal" in quotes and "Nelegal" in quotes


def test_an_unnamed_second_part_is_read_in_the_quoted_passages(assistant):
    """ "..., and how far along is it?" names nothing: its sentence comes from the passages already quoted, not
    from any sentence that says "far" ("Scholars have gone as far to say ...")."""
    answer = assistant.ask(
        "Where does the CSTO stand on information security: what has it set up, and how far along is it?"
    )
    quotes = " ".join(c.quote for c in answer.citations)
    assert "the project has not achieved functionality" in quotes
    assert "emperor with no clothes" not in quotes
    assert not answer.refused


def test_and_another_name_asks_the_last_question_again(assistant):
    """ "And Kazakhstan?" after "What does Belarus think of the CSTO?" is Kazakhstan's view, not Belarus's again."""
    history = [
        {"role": "user", "content": "What does Belarus think of the CSTO?"},
        {"role": "assistant", "content": "Belarus officially promotes the stance that the alliance is important."},
    ]
    answer = assistant.ask("and Kazakhstan?", history=history)
    assert not answer.refused
    assert "Kazakhstan considers its involvement as vital" in answer.citations[0].quote


def test_bibliography_cards_do_not_crowd_out_the_answering_passage(assistant):
    """Cards whose titles name the same countries rank above the passage that dates their joining; they come along
    without using up the passages read."""
    answer = assistant.ask("When were Azerbaijan, Belarus and Georgia admitted?")
    assert not answer.refused
    assert "1994" in answer.citations[0].quote


def test_the_articles_own_questions_are_not_quoted_as_context(assistant):
    """A paragraph's rhetorical question ("What problems does the treaty organization face ...?") is no context for
    an answer, unless the user asks about the article's questions."""
    answer = assistant.ask("Why do Western organisations avoid working with the CSTO?")
    quotes = [c.quote for c in answer.citations]
    assert any("hesitant to engage with the CSTO" in q for q in quotes)
    assert not any(q.rstrip("”\"' ").endswith("?") for q in quotes)


def test_the_papers_own_author_and_front_matter_are_found(assistant):
    """ "The writer of this paper" is the article's author (the note about her), not a cited work's; "keywords" are
    the front matter's "key words"."""
    answer = assistant.ask("Which university did the writer of this paper attend, and what job does she hold now?")
    assert not answer.refused and "University of Leicester" in answer.text and "Editor-in-Chief" in answer.text
    assert "Its key words are CSTO" in assistant.ask("give me the paper's keywords").text
    refused = assistant.ask("How old is the author of this paper?")  # the note says nothing of it
    assert refused.refused and "“How old is the author of this paper?”" in refused.text
    for asked in ("What is the author's affiliation?", "Where did the writer study?"):  # words the note never uses
        answer = assistant.ask(asked)
        assert not answer.refused and "University of Leicester" in answer.text, asked


def test_a_bibliographic_question_naming_an_author_alone_is_answered_by_that_work(assistant):
    answer = assistant.ask("In which journal did Allison publish?")
    assert not answer.refused and "The Chinese Journal of International Politics" in answer.text
    assert "International Journal Of Russian Studies" not in answer.text  # the article's own journal line


def test_an_ok_follow_up_keeps_the_conversation(assistant):
    history = [
        {"role": "user", "content": "how did the CSTO start?"},
        {"role": "assistant", "content": "It was set up by the Tashkent Treaty in 1992 by Armenia, Kazakhstan, ..."},
    ]
    answer = assistant.ask("ok and who joined afterwards, and when?", history)
    assert not answer.refused and "Azerbaijan, Belarus and Georgia in 1994" in answer.text


def test_a_list_of_states_or_a_place_needs_one_named_there(assistant):
    """Near-topic unanswerables: the Syria sentence names no member opposing; "in 2012, Kazakhstan, ..." names
    the countries that held the drill, not where it was held. A list of states that is in the article passes."""
    opposed = assistant.ask("Which member states opposed sending CSTO peacekeepers to Syria?")
    assert opposed.refused and opposed.checks_failed == "no passage names the states"
    held = assistant.ask("In which country were the Chistoye Nebo air defence exercises held?")
    assert held.refused and held.checks_failed == "no passage names the place"
    joined = assistant.ask("Which states joined in 1994?")
    assert not joined.refused and "Azerbaijan, Belarus and Georgia in 1994" in joined.text


def test_who_wrote_the_paper_is_its_byline_and_a_role_nobody_holds_is_refused(assistant):
    answer = assistant.ask("Who is the author of this paper?")  # not "a paper tiger" (Khalatyan)
    assert not answer.refused and answer.text.startswith("The article “The Collective Security Treaty Organization")
    secretary = assistant.ask("who is the CSTO secretary general?")  # the article names none
    assert secretary.refused and secretary.checks_failed == "no passage says who"


def test_a_follow_up_naming_its_own_thing_is_about_that_thing(assistant):
    history = [
        {"role": "user", "content": "Which countries were in the Combat Brotherhood exercise?"},
        {"role": "assistant", "content": "Boyevoye Bratstvo (Combat Brotherhood) united Kazakhstan, Kyrgyzstan, ..."},
    ]
    answer = assistant.ask("ok and the Air Bridge one? who took part and when?", history)
    assert not answer.refused and "Armenia, Belarus, Kazakhstan and Russia" in answer.text and "2018" in answer.text


def test_a_question_about_an_entry_stays_one_past_its_first_sentence(assistant):
    answer = assistant.ask("Nikitin 2014 in the references — was that a journal article? Where was it presented?")
    assert not answer.refused and "Montreal" in answer.text  # "Where was it presented?" alone asks no entry


def test_a_follow_up_without_a_pronoun_falls_back_on_the_conversation(assistant):
    """Read alone, "What's the case people usually point to?" finds nothing; read with the conversation it is the
    2010 Kyrgyz unrest. The same question with no conversation is still refused."""
    history = [
        {"role": "user", "content": "Why do people say the CSTO is useless in a crisis?"},
        {"role": "assistant", "content": "Internal discord and a lack of political will to intervene, critics say."},
    ]
    answer = assistant.ask("What's the case people usually point to?", history)
    assert not answer.refused and "2010 unrest in Kyrgyzstan" in answer.text
    assert assistant.ask("What's the case people usually point to?").refused


def test_a_cited_person_asked_about_as_a_whole_gets_every_sentence_citing_them(assistant):
    answer = assistant.ask("Shakhanova pops up a lot - what are her main claims?")
    assert not answer.refused and len(answer.citations) >= 3
    assert all(any(s.key == "shakhanova2017" for s in c.sources) for c in answer.citations)
    assert "no real solidarity" in answer.text and "authoritative organization" in answer.text
    # a point asked of them is answered as any question is, and the entry asked for is the bibliography's
    assert assistant.composer.source_asked("What does Allison argue about intervention in domestic crises?") == []
    assert assistant.composer.source_asked("Give the headline of Kucera's Syria article and the outlet.") == []


def test_the_second_question_brings_the_sentences_that_carry_its_answer_on(assistant):
    history = [
        {"role": "user", "content": "What's the KSOR?"},
        {"role": "assistant", "content": "The CSTO's Collective Rapid Reaction Forces (CRRF)."},
    ]
    answer = assistant.ask("when was it set up and what's it supposed to do?", history)
    assert not answer.refused and "2009" in answer.text and "counterterrorism operations" in answer.text


def test_a_picture_of_a_named_part_quotes_that_part(assistant):
    """Two questions in one turn ask for a picture; "bottom line" names the closing paragraphs: their sentences come
    first, past the closest sentence's own paragraph."""
    answer = assistant.ask("What's the author's bottom line on the CSTO? Is it worth anything?")
    assert not answer.refused and "law enforcement connectivity" in answer.text
    assert "multifunction security structure" in answer.text


def test_a_question_in_a_conversation_takes_the_stronger_reading(assistant):
    """ "so why not just merge the two?" names nothing and points back with no pronoun: read with the conversation it
    is the SCO-merger passage, with its reason (each power acting without the other's approval)."""
    history = [
        {"role": "user", "content": "The SCO sounds a lot more powerful than the CSTO."},
        {"role": "assistant", "content": "The article notes it is widely seen that way (Shakhanova, 47)."},
    ]
    answer = assistant.ask("so why not just merge the two?", history)
    assert not answer.refused and "military arm" in answer.text and "approval" in answer.text
