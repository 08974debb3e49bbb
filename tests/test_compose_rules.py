"""Unit tests of the composer's general rules: question typing, slots, names, wrappers (no model, no index)."""

from __future__ import annotations

import numpy as np
import pytest

from index.types import Passage
from rag.api import answer_names, core_question, retrieval_query, second_part, sub_questions, switched_question
from rag.compose import (
    _ABOUT_THE_PAPER,
    _SIGNPOST,
    Candidate,
    Composer,
    Scored,
    _counted_noun,
    _counts,
    _named_in,
    _possessor_mismatch,
    alias_asked,
    content_words,
    numbers_in,
    quantity_in,
    question_type,
)


@pytest.mark.parametrize(
    ("question", "field"),
    [
        ("When was the CSTO established?", "when"),
        ("In what year did Uzbekistan leave?", "when"),
        ("How many tons of narcotics were intercepted?", "number"),
        ("What percentage of NATO's budget did the US pay?", "number"),
        ("Where is the Crisis Response Center located?", "where"),
        ("In which city is the CSTO headquartered?", "where"),
        ("Who is the Secretary-General of the SCO?", "who_is"),
        ("Who translated the Charter?", "who_is"),
        ("Who argues that the CSTO lacks a coherent ideology?", "source"),
        ("Which countries took part in Chistoye Nebo?", "listing"),
        ("Why do states stay in the CSTO?", "reason"),
        ("If Russia barely cares, what does it still gain from the alliance?", "reason"),
        ("what do the small members get out of it?", "reason"),
        ("In which journal did Allison publish?", "bibliographic"),
        ("source for the claim that the UN praises CSTO troops", "source"),
        ("What's the citation for the point that the charter now covers internal threats?", "source"),
        ("where does the figure about NATO's budget come from?", "source"),
    ],
)
def test_question_type_fields(question, field):
    assert getattr(question_type(question), field)


def test_question_type_negatives():
    assert not question_type("Which CSTO activities are overlooked when critics focus on its limits?").when
    assert not question_type("Who is cited for the claim that Russia pays little attention?").who_is
    assert not question_type("Who argues that both alliances rest on Russia?").where
    # a plural after a clause opens is not what is listed: this asks for a researcher
    assert not question_type("Which researcher concluded that members lack real unity?").listing
    assert not question_type("What good are its military exercises?").listing
    assert not question_type("What is pushing member states to rethink their defence?").listing
    assert question_type("Which Central Asian member states joined?").listing
    # "where does X stand on", "where is it heading": a view or a direction, not a place
    assert not question_type("Where does the CSTO stand on information security?").where
    assert not question_type("so does it always agree with russia on where the bloc is going?").where
    assert not question_type("Where does the CSTO's funding come from?").source  # an origin, not a citation


def test_quantities_exclude_years_and_cited_pages():
    assert quantity_in("the CSTO operation is reported to have intercepted 360 tons of narcotics")
    assert quantity_in("four members with nuclear warfare abilities")
    assert quantity_in("the US contributed 51.1% of the overall NATO budget")
    assert not quantity_in("established in 2009 (Weitz 2018, 25)")


def test_counted_noun_and_its_number():
    assert _counted_noun("How many tons of narcotics has Operation Kanal intercepted?") == "tons"
    assert _counted_noun("How many SCO members have nuclear weapons?") == "members"
    assert _counted_noun("What is the budget?") == ""
    assert _counted_noun("How many countries in the SCO have nuclear weapons?") == "countries"
    assert _counts("tonnes", "it intercepted 360 tons of narcotics")  # spelling variants count the same
    assert _counts("powers", "as well as two nuclear-weapon states (India and Pakistan)")
    assert not _counts("troops", "as well as two nuclear-weapon states (India and Pakistan)")
    assert _counts("tons", "it intercepted 360 tons of narcotics as well as illegal weapons")
    assert not _counts("weapons", "it intercepted 360 tons of narcotics as well as illegal weapons")
    # the noun phrase ends at an adverb or a comma as well as at a verb
    assert _counted_noun("Besides Russia, how many CST signatories also belong to the SCO, and which ones?") == (
        "signatories"
    )
    assert _counted_noun("How many members, and which?") == "members"
    assert "one" not in content_words("and which ones?")  # a pronoun, not the asked act


def test_names_full_acronym_and_spelled_out():
    text = "The SCO is an economic alliance. Its membership includes Russia and China."
    assert _named_in("Shanghai Cooperation Organization", text.lower(), text)
    spelled = "analysts suggest the Shanghai Cooperation Organization instead"
    assert _named_in("SCO", spelled.lower(), spelled)
    assert not _named_in("ISBN", text.lower(), text)


def test_possessor_mismatch():
    known = {"nato", "csto", "us"}
    assert _possessor_mismatch(
        "What is the CSTO's annual budget?", "the US contributed 51.1% of the overall NATO budget", known
    )
    assert not _possessor_mismatch(
        "What is NATO's budget?", "the US contributed 51.1% of the overall NATO budget", known
    )
    nato = "the US contributed 51.1% of the overall NATO budget"
    assert _possessor_mismatch("What percentage of the CSTO budget does Russia pay?", nato, known)
    assert _possessor_mismatch("What is the budget of the CSTO?", nato, known)
    tashkent = "the ratification of the Tashkent Treaty in 1992"
    assert not _possessor_mismatch("When was the CSTO's founding treaty ratified?", tashkent, known)
    assert not _possessor_mismatch(
        "On what is the CSTO's operational structure modelled?",
        "For instance, operational structure of the CSTO is based on the Russian system",
        known,
    )


def test_polite_wrappers_and_follow_ups():
    assert core_question("Can you tell me which research questions the introduction sets out?") == (
        "Which research questions the introduction sets out?"
    )
    assert core_question("I'm trying to find out what the public face of the CSTO is") == (
        "What the public face of the CSTO is"
    )
    history = [{"role": "user", "content": "What is Operation Kanal?"}, {"role": "assistant", "content": "…"}]
    assert retrieval_query("And who observes it?", history, 2) == "What is Operation Kanal? And who observes it?"
    assert retrieval_query("Who says there is no real solidarity in the CSTO?", history, 2).startswith("Who says")


def test_a_conversational_opener_is_not_the_question():
    # "Ok and ...", "Thanks. So ...": the follow-up behind the opener is read as one
    assert core_question("ok and who joined afterwards, and when?") == "And who joined afterwards, and when?"
    assert core_question("Thanks! Can you tell me who observes Kanal?") == "Who observes Kanal?"
    assert core_question("Okay, so what is Nelegal?") == "What is Nelegal?"
    assert core_question("Solidarity: where does it stand?") == "Solidarity: where does it stand?"
    history = [{"role": "user", "content": "how did the CSTO start?"}, {"role": "assistant", "content": "…"}]
    query = retrieval_query(core_question("ok and who joined afterwards, and when?"), history, 2)
    assert query.startswith("how did the CSTO start?")


def test_a_balance_or_a_located_mention_is_read_as_asked():
    from rag.compose import _BALANCE, _LOCATING

    assert question_type("what are the pros and cons of CSTO membership for Armenia?").reason
    assert question_type("What are the benefits and drawbacks of joining?").reason
    assert _BALANCE.search("the costs and benefits of staying")
    assert not _BALANCE.search("the benefits of staying")
    # where the asker saw it, and what the paper "gives", are not the act the sentence must state
    q = "The paper mentions the annexation of Crimea when talking about member states' fears - what year does it give?"
    assert "fears" not in _LOCATING.sub(" ", q) and "give" not in _LOCATING.sub(" ", q)
    assert "annexation" in _LOCATING.sub(" ", q)
    # "where do analysts suggest looking": a direction of thought, not a place
    assert not question_type("so where do analysts suggest looking instead?").where
    assert question_type("Where is the Crisis Response Center located?").where


def test_content_words_are_stemmed_without_stop_words():
    assert content_words("The operations were intercepted") == ["oper", "intercept"]


def test_money_and_role_questions_are_typed():
    assert question_type("What was the alliance's spending in 2018, in euros?").number
    assert question_type("Which Armenian minister signed the charter?").who_is
    assert not question_type("Who makes up the rapid reaction forces?").who_is


def test_entities_skip_sentence_openers_and_contractions(assistant):
    names = assistant.composer.entities
    assert names("I've read that Russia pays for most of it. Is that right?") == ["Russia"]
    assert names("Not counting Russia, how many members are in Central Asia?") == ["Russia", "Central Asia"]
    assert "CSTO" not in names("When was the CSTO established?")  # the corpus's ubiquitous name
    assert names("Which post-Soviet and pro-Western states left?") == []  # a prefixed adjective is not a name
    # a possessive ends a name, a lower-case joint parts two
    assert names("Which journal carried Roy Allison's SCO-versus-CSTO comparison?") == ["Roy Allison", "SCO"]
    journal = assistant.ask("What journal ran Roy Allison's SCO-versus-CSTO study?")
    assert not journal.refused and "Chinese Journal of International Politics" in journal.text


def test_paraphrase_rules():
    assert question_type("How big a slice of NATO's budget did Washington pay?").number
    assert not question_type("How big a slice of NATO's budget did Washington pay, per the paper?").bibliographic
    assert question_type("What is the Weitz monograph called?").bibliographic
    assert question_type("Which year is the Charter dated in the references?").bibliographic
    assert not question_type("What is Armenia's nickname, and where does it come from?").where
    assert question_type("And where was it held?").where


def test_capitals_stand_for_their_states():
    text = "in 2017, the US contributed 51.1% of the overall NATO budget"
    assert _named_in("Washington", text.lower(), text)
    moscow = "It is easier for Moscow to navigate distinct foreign policy concerns"
    assert _named_in("Russia", moscow.lower(), moscow)
    assert not _named_in("Washington", "we asked us".lower(), "we asked us")  # "us" the pronoun is not the US
    assert _named_in("America", text.lower(), text) and _named_in("USA", text.lower(), text)  # a state's other names
    eu = "the European Union signed"
    assert not _named_in("NATO", eu.lower(), eu)  # two bodies seated in one city are not one another


def test_an_act_said_in_other_words_passes_the_slot_checks(assistant):
    """Everyday words for the article's ("a crisis hub" for "a Crisis Response Center", "okay" for "agreed", "swap"
    for "exchange", "a drill of military aircraft" for "a training operation" of "transport assets", "go after"
    asking about what is gone after): the dated sentence is about the act; "America" is the US."""
    hub = assistant.ask("What year did the members okay swapping intelligence through a crisis hub?")
    assert not hub.refused and "2016" in hub.text
    drill = assistant.ask(
        "In which year did Armenia, Belarus, Kazakhstan and Russia hold a joint drill of their aircraft?"
    )
    assert not drill.refused and "2018" in drill.citations[0].quote
    share = assistant.ask("What share of the NATO budget did America cover in 2017?")
    assert not share.refused and "51.1%" in share.text


def test_more_everyday_words_for_the_asked_act(assistant):
    """ "plead ... to step in" is "asked for ... intervention", "get started" is "came into force", "intel" is
    intelligence, "head office" is the headquarters, "the Americans" are the US."""
    plea = assistant.ask("In what year did Bishkek plead for the bloc to step in?")
    assert not plea.refused and "2010" in plea.text
    sco = assistant.ask("When did the SCO get started, according to the article?")
    assert not sco.refused and "2003" in sco.text
    intel = assistant.ask("In which year did members approve a centre for sharing intel?")
    assert not intel.refused and "2016" in intel.text
    office = assistant.ask("Where is the CSTO's head office located?")
    assert not office.refused and "Moscow" in office.text
    share = assistant.ask("What share of the NATO budget did the Americans cover in 2017?")
    assert not share.refused and "51.1%" in share.text


def test_a_citation_year_dates_the_cited_work_not_the_event(assistant):
    """ "(UNODC 2018)" is no date for when Kanal began; for a question about the cited study it is the answer."""
    kanal = assistant.ask("What year did Operation Kanal begin?")
    assert kanal.refused and kanal.checks_failed == "no passage dates it"
    study = assistant.ask(
        "The article cites a RAND study by Oliker for the claim about the Russian military system. "
        "What year is that study?"
    )
    assert not study.refused and "2009" in study.text


def test_a_body_called_by_the_first_word_of_its_name(assistant):
    """ "the Shanghai group" is the Shanghai Cooperation Organization, "the SCO" in the text ("Shanghai" opens a
    name, it is no demonym); "who's in X" lists X's members."""
    start = assistant.ask("When did the Shanghai group begin operating?")
    assert not start.refused and "2003" in start.text
    assert question_type("Who's in the Shanghai bloc?").listing
    members = assistant.ask("Who's in the Shanghai bloc, as the paper tells it?")
    assert not members.refused and "India and Pakistan" in members.text


def test_a_figure_answers_only_for_the_things_its_clause_names(assistant):
    """ "$200 million" is Russia's aid to Kyrgyzstan: no figure for what Kazakhstan spent, though Kazakhstan is named
    two sentences before; "in which years" asks for dates as "in which year" does."""
    spent = assistant.ask("How much has Kazakhstan spent on weapons from Russia?")
    assert spent.refused and spent.checks_failed == "no passage states that quantity"
    aid = assistant.ask("How much did Russia give Kyrgyzstan in used equipment?")
    assert not aid.refused and "200 million" in aid.text
    assert question_type("In which years did Armenia freeze and then resume its CSTO membership?").when
    years = assistant.ask("In which years did Armenia freeze and then resume its CSTO membership?")
    assert years.refused and years.checks_failed == "no passage dates it"


def test_this_and_that_mark_a_follow_up():
    history = [{"role": "user", "content": "What is Operation Nayemnik?"}, {"role": "assistant", "content": "…"}]
    assert retrieval_query("When was that launched?", history, 2).startswith("What is Operation Nayemnik?")


def test_entities_drop_what_s_and_the_article_author(assistant):
    names = assistant.composer.entities
    assert names("What's nikitina's 2012 article called?") == []
    assert names("According to Lacroix, when did the SCO come into force?") == ["SCO"]
    assert "Lacroix" in names("What did Lacroix publish in 2016 and in which journal?")


def test_follow_ups_carry_the_names_the_last_reply_opened_with():
    from rag.api import answer_names

    assert answer_names("Yes. It has an operation called Nayemnik (Mercenary) aimed at bases.") == ["Nayemnik"]
    assert answer_names("Very: it is the second-most influential member (de Haas, p. 5).") == []
    history = [
        {"role": "user", "content": "What's the CSTO's best-known success story?"},
        {"role": "assistant", "content": "The article points to Operation Kanal, an anti-narcotics operation."},
    ]
    assert "Operation Kanal" in retrieval_query("Does it work with countries outside the bloc?", history, 2)
    # a possessive 's is dropped, and the corpus's ubiquitous names ("CSTO") say nothing of what "it" is
    reply = "Nelegal is the CSTO's border operation; it works with the CIS and the Border Troops."
    assert answer_names(reply, skip={"csto"}) == ["CIS", "Border Troops"]
    assert answer_names("It works with the CSTO's partners.") == ["CSTO"]
    assert question_type("Critics call the exercises pointless. What's the case for them?").reason
    assert question_type("Which researcher concluded that members don't stand together?").source
    assert not question_type("According to the article, when did the SCO come into force?").source


def test_years_between_questions_need_a_date_for_each_named_thing(assistant):
    answer = assistant.ask(
        "How many years passed between the ratification of the Tashkent Treaty and the establishment of the "
        "Collective Rapid Reaction Forces?"
    )
    assert not answer.refused
    assert "1992" in answer.text and "2009" in answer.text


def test_cards_do_not_answer_what_a_work_argues_and_money_needs_a_currency(assistant):
    refused = assistant.ask("What policy recommendations does Weitz's monograph make to the US government?")
    assert refused.refused and "not indexed" in refused.checks_failed
    assert not assistant.ask("What's the full title of the Weitz monograph, and who published it?").refused
    money = assistant.ask("What was NATO's total budget in 2017, in dollars?")
    assert money.refused and money.checks_failed == "no passage states that quantity"
    assert not assistant.ask("What share of NATO's budget did the US pay in 2017?").refused
    assert question_type("What is the name of the Kazakh president who held talks?").who_is


def test_questions_naming_a_part_of_the_article_reach_it(assistant):
    closing = assistant.retrieve("All things considered, what is the author's overall verdict?")
    last = max((p for p in assistant.handle.passages.values() if p.kind == "article"), key=lambda p: p.start)
    assert last.id in [sp.passage.id for sp in closing[:5]]
    opening = assistant.retrieve("Which research questions does the introduction set out?")
    assert any(sp.passage.section == "Introduction" for sp in opening[:3])


def test_lower_case_questions_keep_their_names(assistant):
    names = assistant.composer.entities
    assert names("In what year did uzbekistan leave the csto?") == ["Uzbekistan"]
    # a name the article writes in italics ("operation *Kanal*") counts too, and keeps a follow-up on it
    assert names("what is operation kanal?") == ["Kanal"] and names("who takes part in nayemnik") == ["Nayemnik"]
    history = [{"role": "user", "content": "what is operation kanal?"}, {"role": "assistant", "content": "An op."}]
    assert "UNDOC" in assistant.ask("is any UN agency involved in it?", history=history).text
    assert names("Beyond combat, what is the rapid reaction force trained for?") == []  # "Rapid" is not a name
    assert assistant.ask("in what year did uzbekistan leave the csto?").refused


def test_premises_and_subordinate_when():
    from rag.api import final_question

    assert final_question("Critics say the drills are pointless. What's the case for them?") == (
        "What's the case for them?"
    )
    assert final_question("When was the CSTO founded?") == "When was the CSTO founded?"
    assert not question_type("When the author discusses Syria, what source is that based on?").when
    assert question_type("When was it founded, and by whom?").when


def test_a_named_author_brings_the_work_card(assistant):
    hits = assistant.retrieve("Allison 2018 - what journal was that article published in?")
    assert "allison2018" in [sp.passage.source_key for sp in hits[:5]]
    book = assistant.ask("What is the name of the book by Buzan and Waever that is cited several times?")
    assert not book.refused and "Regions and Power" in book.text


def test_possessives_of_the_subject_and_light_words(assistant):
    founded = assistant.ask("When was the CSTO's founding treaty ratified?")
    assert not founded.refused and "1992" in founded.text
    joined = assistant.ask("In what year did Azerbaijan, Belarus and Georgia come into the alliance?")
    assert not joined.refused and "1994" in joined.text


def test_neighbours_add_context_but_never_pass_a_refusal(assistant):
    answer = assistant.ask("Who argued that the CSTO is a mere facade of collective security that never materialised?")
    assert not answer.refused and "umbrella structure" in answer.text and "Baev" in answer.text
    # a question the checks refuse stays refused whatever its neighbours say
    assert assistant.ask("What percentage of the CSTO budget is paid by Russia?").refused


def test_cards_carry_issue_and_pages_and_a_named_work_is_evidence(assistant):
    answer = assistant.ask("Where was Allison's comparison of the SCO and CSTO published? Journal and issue please.")
    assert "11(3)" in answer.text
    chapter = assistant.ask("The Baev 2014 chapter appeared in which edited volume, and who were the editors?")
    assert not chapter.refused and "Putin's Grand Strategy" in chapter.text


def test_paraphrase_wordings_are_typed_alike():
    from rag.api import final_question

    assert question_type("In what location were the Clear Sky drills staged?").where
    assert not question_type("Which country does the article name as the alliance's paymaster?").where
    assert not question_type("Who belongs to the SCO?").who_is  # membership: a list, not a role
    assert not question_type("Who is involved in the peacekeeping drills?").who_is
    assert not question_type("Who are the scholars who hold that identity matters?").who_is  # a cited work answers
    assert question_type("Who portrayed the CSTO as a paper tiger?").source
    assert final_question("When did Georgia walk out of the CSTO? I need the year.") == (
        "When did Georgia walk out of the CSTO? I need the year."
    )


def test_paraphrased_slot_checks(assistant):
    quit_year = assistant.ask("When did Uzbekistan walk away from the CSTO? Only the year, please.")
    assert quit_year.refused and quit_year.checks_failed == "no passage dates it"
    spending = assistant.ask("How much was Russia's defence expenditure?")
    assert spending.refused and spending.checks_failed == "no passage states that quantity"
    venue = assistant.ask("At which location were the Combat Brotherhood drills staged?")
    assert venue.refused and venue.checks_failed == "no passage names the place"
    crimea = assistant.ask("the paper mentions the annexation of crimea - which year was it")
    assert not crimea.refused and "2014" in crimea.text
    share = assistant.ask("What share of NATO's budget did the US pay in 2017?")
    assert not share.refused and "51.1%" in share.text  # a share asked: no currency needed


def test_a_quoted_phrase_leads_retrieval(assistant):
    from rag.retrieve import quoted_phrases

    assert quoted_phrases('Who called it a "double-edged sword"?') == [" double edged sword "]
    assert quoted_phrases("Who coined “paper tiger”, and “what” else?") == [" paper tiger "]  # one word: BM25's job
    hits = assistant.retrieve('Which scholar saw asking for help as a "double edged sword" for small states?')
    assert "double edged sword" in hits[0].passage.text
    answer = assistant.ask('Which scholar saw asking for help as a "double edged sword" for small states?')
    assert not answer.refused and any(s.key == "allison2018" for c in answer.citations for s in c.sources)


def test_an_errand_lead_in_is_dropped_and_that_one_refers_back():
    assert core_question("I'm writing a paper on the CSTO — when was the CRRF set up?") == "When was the CRRF set up?"
    assert core_question("For my seminar: who observes Kanal?") == "Who observes Kanal?"
    assert core_question("For instance, which states joined?") == "For instance, which states joined?"
    history = [{"role": "user", "content": "Which drill trained against cruise missiles?"}]
    assert retrieval_query("Who took part in that one?", history, 2).startswith("Which drill trained")


def test_membership_questions_list_and_a_counted_set_is_found(assistant):
    assert question_type("Who belongs to the SCO?").listing
    assert question_type("Which Central Asian republics took part?").listing
    assert question_type("What are the three regional groupings?").listing
    members = assistant.ask("Who belongs to the SCO?")
    assert not members.refused and all(n in members.text for n in ("India", "Pakistan", "China"))


def test_another_word_for_the_same_event_says_it():
    from rag.compose import _says, _stem_prefix

    def says(word: str, sentence: str) -> bool:
        words = content_words(sentence)
        return _says(content_words(word)[0], " ".join(words), {_stem_prefix(w) for w in words})

    assert says("created", "the CRRF, established in 2009")
    assert says("quit", "Uzbekistan withdrew its membership")
    assert says("seized", "the operation intercepted 360 tons")
    assert not says("aid", "Weitz said so")  # whole stems for other words: "aid" is not inside "said"
    assert not says("established", "a formal agreement")  # "form" is "formed", not "formal"
    assert not says("joined", "Uzbekistan withdrew its membership")


def test_paraphrased_dates_are_found(assistant):
    crrf = assistant.ask("In which year was the CRRF created?")
    assert not crrf.refused and "2009" in crrf.text


def test_co_authors_publication_places_and_slices():
    assert question_type("Who are Oliker's co-authors on the RAND book?").who_is  # a role: the co-authors
    assert question_type("Where did Aris's 'Still in Search of Its Place' come out?").bibliographic
    from rag.compose import _MONEY_ASKED, _SHARE_ASKED

    q = "How big a slice of NATO's budget did Washington pay?"
    assert _MONEY_ASKED.search(q) and _SHARE_ASKED.search(q)  # a share is asked: no currency needed


def test_number_and_date_questions_without_how_many_or_when(assistant):
    assert question_type("What's the troop strength of the rapid reaction force?").number
    assert question_type("what tonnage of heroin was seized?").number
    assert question_type("What's the exact date Georgia left?").when
    assert not question_type("In what edited volume does the chapter appear?").number
    toll = assistant.ask("What was the death toll of the 2010 Kyrgyz unrest?")
    assert toll.refused and toll.checks_failed == "no passage states that quantity"
    tons = assistant.ask("What's the overall tonnage of drugs Kanal has seized?")
    assert not tons.refused and "360 tons" in tons.text


def test_a_sentence_is_also_read_in_its_paragraph():
    import numpy as np

    from rag.compose import in_context

    vectors = np.eye(3, dtype=np.float32)  # three orthogonal sentences: two in one passage, one alone
    blended = in_context(vectors, ["p1", "p1", "p2"])
    assert np.allclose(np.linalg.norm(blended, axis=1), 1.0)
    assert blended[1][0] > 0.5 and blended[1][2] == 0.0  # leans on the sentence before it, not on another passage
    assert 0.0 < blended[0][1] < blended[1][0]  # the sentence after counts less than the one before
    assert np.allclose(blended[2], vectors[2])  # alone in its passage: its own vector


def test_a_duration_question_needs_a_stated_duration(assistant):
    from rag.compose import _DURATION, _DURATION_ASKED

    assert _DURATION_ASKED.search("how long did those drills go on?")
    assert not _DURATION_ASKED.search("How long had the force been around when Mercenary was proposed?")
    assert _DURATION.search("in month-long drills") and _DURATION.search("lasted for three days")
    assert not _DURATION.search("for yet another year")
    drills = assistant.ask("How long did the Boyevoye Bratstvo drills last?")
    assert not drills.refused and "month-long" in drills.text
    air = assistant.ask("How long did the 2018 Air Bridge exercise last?")
    assert air.refused and air.checks_failed == "no passage says how long"


def test_explanations_are_typed_and_read_from_their_paragraph(assistant):
    for q in (
        "What does Uzbekistan's exit tell us about the bloc?",
        "What keeps the members in?",
        "What benefits do the joint drills bring?",
        "How come Armenia stays in?",
        "How is Russia's role both a burden and a necessity?",
    ):
        assert question_type(q).reason, q
    assert not question_type("What does Malek say about Armenia?").reason  # what a work says: a source question
    drills = assistant.ask("What benefits do the joint drills bring?")
    assert not drills.refused and "multinational units" in drills.text  # the paragraph's "Firstly, they ..."
    wary = assistant.ask("Why are member states wary of asking Russia for military intervention?")
    same = [c for c in wary.citations if c.passage_id == wary.citations[0].passage_id]
    assert len(same) >= 3  # the paragraph's argument, not its one best sentence


def test_a_glossed_foreign_name_is_named_by_its_gloss(assistant):
    composer = assistant.composer
    assert "Kanal" in composer.glosses["channel"] and "Air Bridge" in composer.glosses["vozdushnyy most"]
    assert not any("Lexington" in g for gs in composer.glosses.values() for g in gs)  # a bibliography's parentheses
    seized = assistant.ask("How many tons of drugs has operation Channel seized?")  # the text says *Kanal* there
    assert not seized.refused and "360 tons" in seized.text


def test_a_granted_criticism_is_answered_by_the_turn_against_it(assistant):
    from rag.compose import _CONCESSIVE

    assert _CONCESSIVE.search("Detractors call the drills useless. What do they achieve?")
    assert _CONCESSIVE.search("If the alliance never fights, why keep it?")
    assert _CONCESSIVE.search("What use are the drills anyway?")
    assert not _CONCESSIVE.search("What do critics say about the drills?")
    drills = assistant.ask(
        "Sceptics say the joint drills are useless since the bloc never fights. What do they achieve?"
    )
    assert not drills.refused and "On the other hand" in drills.text and "multinational units" in drills.text


def test_a_preposition_is_not_the_asked_act(assistant):
    """ "begin its Mercenary operation against recruiters": the act is beginning the operation, "against" only
    relates it to its target, so the dated sentence answers; an unknown target still makes it a refusal."""
    begun = assistant.ask("In which year did the CSTO begin its Mercenary operation against recruiters?")
    assert not begun.refused and "2017" in begun.text
    cartels = assistant.ask("In what year did the CSTO begin operation mercenary against cartels in Latin America?")
    assert cartels.refused


def test_a_date_question_prefers_the_day_to_the_year(assistant):
    """ "On what date": the sentence with the day and month ("Oct 7 2016") takes the place of its near-twin that
    gives the year only."""
    from rag.compose import _DAY, _DAY_ASKED

    assert _DAY_ASKED.search("What's the exact date Georgia left?") and not _DAY_ASKED.search("What year was it?")
    assert _DAY.search("Oct 7 2016") and _DAY.search("20 March 2019") and not _DAY.search("in May 2016 it")
    answer = assistant.ask("What day did the CSTO report that its Frontier-2016 exercise was over?")
    assert not answer.refused and "Oct 7 2016" in answer.text


ALIASES = [
    ("Collective Security Treaty Organization", "CSTO", "Organizacija Dogovora o Kollektivnoj Bezopasnosti", "ODKB"),
    ("Collective Rapid Reaction Forces", "CRRF", "Kollektivnyye sily operativnogo reagirovaniya", "KSOR"),
]


@pytest.mark.parametrize(
    ("question", "asked"),
    [
        ("What is the CSTO called in Russian, and what is the Russian acronym?", "ODKB"),
        ("whats the russian abbreviation for the csto", "ODKB"),
        ("Give me the Collective Security Treaty Organization's name in Russian.", "ODKB"),
        ("What is the CSTO's Russian name?", "ODKB"),
        ("What does KSOR stand for?", "KSOR"),
        ("What's the CRRF's Russian acronym?", "KSOR"),
        ("Name the CSTO's original members.", None),  # an imperative "name", and "original" is no language
        ("What is the CSTO's anti-drug operation called in Russian?", None),  # the CSTO owns the thing asked
        ("What is the name of the Russian-led CSTO force?", None),  # "Russian-led" names no language
        ("Which treaty created the CSTO?", None),
        ("what's the name of the csto's rapid reaction force in russian?", "KSOR"),  # its last words, singular
    ],
)
def test_a_name_asked_in_its_own_language(question, asked):
    found = alias_asked(question, ALIASES)
    assert [a[3] for a in found] == ([asked] if asked else [])


def test_the_papers_own_plan_answers_only_questions_about_the_paper():
    plan = "Following this, important aspects, operations and examples of cooperation will be identified."
    assert _SIGNPOST.search(plan)
    assert _SIGNPOST.search("In concluding remarks, this paper will present a way forward for the CSTO.")
    assert _SIGNPOST.search("Its key words are CSTO, Military Alliance, Post-Soviet Space.")
    assert not _SIGNPOST.search("The CSTO operation is reported to have intercepted 360 tons of narcotics.")
    assert _ABOUT_THE_PAPER.search("How is the article structured?")
    assert not _ABOUT_THE_PAPER.search("What operations does the CSTO run?")


def test_a_number_inside_a_word_is_no_figure():
    assert numbers_in("why does that put the alliance in a catch-22?") == set()
    assert numbers_in("joined in 1994 with $ 200 million (2020/1)") == {"1994", "200", "2020", "1"}


def test_how_much_of_a_quality_asks_a_degree_not_a_figure():
    assert not question_type("How much weight does that country carry inside the organisation?").number
    assert not question_type("How much influence does Moscow have?").number
    assert question_type("How much second-hand army kit did Russia agree to hand Kyrgyzstan?").number


def test_lower_case_long_names_and_phrasal_verbs(assistant):
    """A long name typed in lower case is one name (its acronym stands for it in the sentence); "sign up" asks
    for a joining, "at no cost" for something free, "second-hand" for something used."""
    composer = assistant.composer
    assert composer.entities("when did the shanghai cooperation organization come into force?") == [
        "Shanghai Cooperation Organization"
    ]
    for question, other, fragment in [
        (
            "When did Azerbaijan, Belarus and Georgia sign up?",
            "When did Azerbaijan, Belarus and Georgia pull out?",
            "they were joined later by",
        ),
        (
            "How much second-hand army kit did Russia agree to hand Kyrgyzstan at no cost?",
            "How much did Russia spend on Kyrgyzstan's air defence?",
            "used army",
        ),
    ]:
        qvec = assistant.retriever.embed_query(question)
        cands = composer.candidates(assistant.retriever.retrieve(question, vector=qvec))
        scored = [s for s in composer.score(question, qvec, cands) if fragment in s.cand.text]
        assert scored and composer._about(question, scored[0])
        assert not composer._about(other, scored[0])  # another act about the same names


def test_second_part_of_a_compound_question():
    assert second_part("What is the Crisis Response Center supposed to do, and is it up and running?") == (
        "Is it up and running?"
    )
    assert second_part("For Armenia, what makes membership awkward, and why does Yerevan stay anyway?") == (
        "Why does Yerevan stay anyway?"
    )
    # one content word on each side will do when a wh-word opens the second question
    assert second_part("Which states joined in 1994 and which left?") == "Which left?"
    assert second_part("When was it set up and what's it supposed to do?") == "What's it supposed to do?"
    assert second_part("What do Armenia and Belarus want?") == ""
    assert second_part("Who are Russia and Belarus?") == ""


def test_general_shorthand_is_spelled_out():
    assert core_question("where is the CSTO's HQ?") == "Where is the CSTO's headquarters?"
    assert core_question("what did the govt of Armenia ask for?") == "What did the government of Armenia ask for?"
    assert core_question("HQS") == "HQS"  # only the word itself
    assert core_question("who was in the bloc right from the outset?") == "Who was in the bloc originally?"
    assert core_question("what does the author say at the outset?") == "What does the author say at the outset?"
    assert "start of the paper" in core_question("what is argued from the start of the paper?")
    assert core_question("why does the EU keep the bloc at arm's length?") == "Why does the EU avoid the bloc?"
    assert core_question("is it nothing but a talking shop?") == "Is it only a talking shop?"


def test_a_glossed_name_is_named_only_as_a_name(assistant):
    """'Operation Illegal' is 'Operation *Nelegal* (Illegal)': named by either form, capitalised, never by the
    common word ('illegal weapons')."""
    named = assistant.composer._named
    kanal = "the CSTO operation is reported to have intercepted 360 tons of narcotics as well as illegal weapons."
    nelegal = "*Nelegal* combines the actionable law enforcement and military resources of the CSTO."
    assert not named("Operation Illegal", kanal.lower(), kanal, kanal)
    assert named("Operation Illegal", nelegal.lower(), nelegal, nelegal)
    assert named("Channel", "operation *kanal* (channel)", "operation *Kanal* (Channel)", "operation *Kanal* (Channel)")


def test_an_elliptical_follow_up_asks_the_last_question_of_another_thing():
    def names(q):  # a small deterministic stand-in for the composer's name finder
        words = [w.rstrip("?").removesuffix("'s") for w in q.split()[1:]]
        return [w for w in words if w[:1].isupper() and w != "CSTO"]

    history = [{"role": "user", "content": "What does Belarus think of the CSTO?"}]
    assert switched_question("and Kazakhstan?", history, names) == "What does Kazakhstan think of the CSTO?"
    assert switched_question("What about Armenia then?", history, names) == "What does Armenia think of the CSTO?"
    assert switched_question("and why is that?", history, names) == ""  # a clause, not a name
    assert switched_question("And who observes it?", history, names) == ""
    assert switched_question("and Kazakhstan?", [], names) == ""  # nothing to go back to
    two = [{"role": "user", "content": "Did Belarus and Armenia agree?"}]
    assert switched_question("and Kazakhstan?", two, names) == ""  # which of the two would it replace?
    countries = frozenset({"Belarus", "Kazakhstan", "Armenia"})
    assert switched_question("and Kazakhstan?", history, names, countries) == "What does Kazakhstan think of the CSTO?"
    adjective = [{"role": "user", "content": "Which member can buy Russian weapons with its own money?"}]
    assert switched_question("What about Belarus?", adjective, names, countries) == ""  # a state for no adjective


def test_two_letter_initials_name_a_state_only_in_capitals():
    assert _named_in("United States", "in 2017, the us contributed 51.1%", "in 2017, the US contributed 51.1%")
    assert not _named_in("United States", "it tells us little", "it tells us little")


def test_a_quantity_counts_for_the_subject_of_its_own_clause(assistant):
    """ "X is based on Y while in 2017, the US contributed 51.1%": the figure is the US's share, not Moscow's, though
    Russia is named in the clause before; "how much of" asks a share, so a percentage answers it."""
    from rag.compose import quantity_clause

    sentence = "The structure follows the Russian model (Oliker 2009, 102) while in 2017, the US paid 51.1% of it."
    assert quantity_clause(sentence).strip().startswith("in 2017, the US paid 51.1%")
    assert quantity_clause("The operation seized 360 tons.") == "The operation seized 360 tons."
    washington = assistant.ask("how much of the NATO budget did Washington cover in 2017?")
    assert not washington.refused and "51.1%" in washington.text
    moscow = assistant.ask("What share of the CSTO's funding does Moscow provide?")
    assert moscow.refused and moscow.checks_failed == "no passage states that quantity"
    lower = "what is the csto's yearly budget, and how much of it does russia pay"  # a lower-case owner owns too
    assert _possessor_mismatch(lower, "the US contributed 51.1% of the overall NATO budget", {"nato", "csto"})


def test_set_up_and_kick_off_are_founding_and_launching(assistant):
    force = assistant.ask("When did the CSTO set up its rapid reaction force?")
    assert not force.refused and "2009" in force.text
    kicked = assistant.ask("what year was operation mercenary kicked off?")  # "forwarded the initiative ... in 2017"
    assert not kicked.refused and "2017" in kicked.text


def test_a_name_question_leads_with_the_sentence_that_names(assistant):
    rubezh = assistant.ask("What name do the Central Asian regional exercises go by?")
    assert not rubezh.refused and "*Rubezh*" in rubezh.text.split("[1]")[0]
    assert question_type("Which agencies work alongside Operation Nelegal?").listing
    assert question_type("How did the members react?").reason


def test_a_work_is_quoted_from_its_entry_once_unless_the_bibliography_is_asked(assistant):
    answer = assistant.ask("How did Minsk behave during its trade quarrel with Moscow?")
    passages = [assistant.passage(c.passage_id) for c in answer.citations]
    works = [p.source_key for p in passages if p is not None and p.kind == "source_card"]
    assert len(works) == len(set(works)) and "boycott" in answer.text
    entry = assistant.ask("Where did Shraibman's 2019 piece on Belarus-Russia relations appear, and when?")
    assert not entry.refused and "BelarusFeed" in entry.text


def test_the_parts_of_a_thing_are_listed_and_a_colon_opens_the_list():
    assert question_type("What are the key dimensions of the alliance's security agenda?").listing
    assert question_type("which threats does the CRRF face?").listing
    assert not question_type("What threat does the author see?").listing  # one, not a list


def test_a_sentence_that_sums_up_the_reasons_takes_what_comes_before_it(assistant):
    from rag.compose import _POINTS_BACK

    assert _POINTS_BACK.match("This is key to a proper interpretation on why X should not be held as a measure.")
    assert _POINTS_BACK.match("For these reasons, members stay.")
    assert not _POINTS_BACK.match("This paper seeks to analyze these queries.")
    answer = assistant.ask("For what reason should NATO not serve as the benchmark of CSTO success?")
    assert not answer.refused and "liberal democratic principles" in answer.text


def test_an_explanation_is_read_two_passages_deeper(assistant):
    from rag.compose import DEPTH, WIDE_DEPTH

    assert WIDE_DEPTH > DEPTH
    wary = assistant.ask("Why do the smaller members hesitate to ask Moscow for troops in a crisis?")
    assert not wary.refused and "frozen conflicts" in wary.text


def test_the_kind_of_thing_asked_about_is_no_act(assistant):
    """ "the founding countries" are the original members, and "states"/"countries" name what is asked about, not
    what it did: the dated sentence about joining answers."""
    for question in [
        "What year did Belarus sign up alongside the founding countries?",
        "When did Belarus join the founding states in the alliance?",
    ]:
        joined = assistant.ask(question)
        assert not joined.refused and "1994" in joined.text
    # the rule itself, for a wording whose answer the selection floor decides (README, "Eval": fusion at k = 10)
    question = "In which year did Belarus sign up alongside the founding countries?"
    qvec = assistant.retriever.embed_query(question)
    cands = assistant.composer.candidates(assistant.retriever.retrieve(question, vector=qvec))
    dated = [s for s in assistant.composer.score(question, qvec, cands) if "joined later by" in s.cand.text]
    assert dated and assistant.composer.unmet(question, dated[:1]) == ""


def test_who_argues_prefers_the_sentence_in_which_a_cited_person_argues(assistant):
    says = assistant.composer._person_says
    assert says.search("Buzan and Wæver (2003) reason that such connections")
    assert says.search("As de Haas notes, a final conclusion")
    assert not says.search("Article 3 of the CSTO Charter states that")  # a document, not a person
    answer = assistant.ask("Who claims the alliance is only a training centre?")
    assert not answer.refused and "Shakhanova" in answer.text.split("[1]")[0]


def test_a_named_part_of_the_article_answers(assistant):
    from rag.compose import STRUCTURE_CUES

    assert STRUCTURE_CUES["end"].search("what do the final paragraphs say?")
    assert STRUCTURE_CUES["start"].search("in the opening section, what is asked?")
    assert not STRUCTURE_CUES["end"].search("what was the final year of the operation?")
    answer = assistant.ask("What does the paper's last paragraph say members stay in the alliance for?")
    assert not answer.refused and "cordial relations with Russia" in answer.text
    assert not assistant.composer.named_part("Give me a summary of Kazakhstan's position.")  # about Kazakhstan
    kazakh = assistant.ask("Give me a summary of Kazakhstan's position.")
    # a summary asked for is a picture: the sentence on Kazakhstan's stance is quoted among others about it
    assert not kazakh.refused and "Kazakhstan considers its involvement as vital" in kazakh.text
    assert "Moscow and Astana butt heads" in kazakh.text  # and the friction: both sides of the picture


def test_a_thing_split_into_parts_is_a_list_question(assistant):
    assert question_type("How does the author divide the members into groups?").listing
    assert question_type("The paper sorts the threats into kinds. What are they?").listing
    assert not question_type("What are the drills for?").listing
    blocs = assistant.ask("Into which regional blocs does the paper break down the membership?")
    assert not blocs.refused and "Transcaucasia" in blocs.text


def test_an_opener_word_inside_a_name_stays():
    assert core_question("Great Britain's view of the CSTO?") == "Great Britain's view of the CSTO?"
    assert core_question("Well-known CSTO drills?") == "Well-known CSTO drills?"
    assert core_question("Great, and who funds it?") == "And who funds it?"


def test_british_spelling_is_read_as_the_article_prints_it():
    from rag.compose import american

    assert american("defence organisation in the centre; neighbours favour a programme") == (
        "defense organization in the center; neighbors favor a program"
    )
    assert american("analyse, recognised, criticising") == "analyze, recognized, criticizing"
    kept = "rise, wise, exercise, promise, otherwise, hour, tour"
    assert american(kept) == kept
    assert content_words("defence planning") == content_words("defense planning")
    assert core_question("What is the CSTO's defence policy?") == "What is the CSTO's defense policy?"


def test_the_papers_own_parts_are_named():
    from rag.compose import _CONSEQUENCE_MID, STRUCTURE_CUES

    author, front = STRUCTURE_CUES["author"], STRUCTURE_CUES["front"]
    assert author.search("Which university did the writer of this paper attend?")
    assert author.search("who wrote this paper and what is their current job?")
    assert not author.search("Who is the author of the paper on Russian arms exports?")  # a cited work's
    assert front.search(core_question("give me the paper's keywords"))
    assert "headquarters based" in core_question("where's the csto based — which city")
    # a consequence stated mid-sentence leans on the sentence before, as one opening with "Consequently" does
    assert _CONSEQUENCE_MID.match("Member states consequently face the need to reexamine their defense policies.")
    assert not _CONSEQUENCE_MID.match("Member states face the consequences.")
    assert question_type("What is pushing member states to revisit their defense planning?").reason


def test_a_question_listing_states_is_told_from_one_that_mentions_them():
    from rag.compose import _STATES_LISTED

    assert _STATES_LISTED.search("Which member states opposed sending peacekeepers?")
    assert _STATES_LISTED.search("what Central Asian countries took part?")
    assert not _STATES_LISTED.search("Which source says members must give Moscow loyalty?")
    assert not _STATES_LISTED.search("Given all the criticism, what actually keeps states in the CSTO?")
    assert not _STATES_LISTED.search("How does the author group the fields in which CSTO members work together?")


def test_the_role_asked_comes_after_the_names_that_own_it():
    from rag.compose import _role_asked

    assert _role_asked("who is the CSTO secretary general?", {"csto"}) == "secretary"
    assert _role_asked("Who is the CRRF's commander?", {"crrf"}) == "commander"
    assert _role_asked("Which Kazakh official held talks?", {"kazakh"}) == "official"


def test_the_article_named_as_a_source_is_not_a_question_about_the_paper():
    from rag.compose import _ABOUT_THE_PAPER, _PER_THE_PAPER

    q = "How do the core values of NATO and the CSTO differ, according to the article?"
    assert _ABOUT_THE_PAPER.search(q) and not _ABOUT_THE_PAPER.search(_PER_THE_PAPER.sub(" ", q))
    assert _PER_THE_PAPER.search("weigh up the pros and cons as the paper presents them")
    assert _ABOUT_THE_PAPER.search(_PER_THE_PAPER.sub(" ", "How is the paper structured?"))


def test_more_errands_balances_and_concessions_are_read_as_asked():
    from rag.compose import _BALANCE, _CONCESSIVE

    assert core_question("For a policy brief on the South Caucasus: what are the upsides?") == "What are the upsides?"
    assert _BALANCE.search("Are the drills just for show? What are the arguments on each side?")
    assert _BALANCE.search("the case for and against membership")
    assert _CONCESSIVE.search("If the CSTO is as dysfunctional as critics claim, why do its members stick with it?")
    assert not _CONCESSIVE.search("If Armenia left, who would defend it?")


def _paragraph(sentences: list[str], pid: str = "a-1") -> list[Scored]:
    """Scored sentences of one fake paragraph (unit vectors; scores falling in text order)."""
    text = " ".join(sentences)
    passage = Passage(id=pid, kind="article", text=text, section="Test", paragraph=1)
    out, at = [], 0
    for k, s in enumerate(sentences):
        start = text.index(s, at)
        at = start + len(s)
        vec = np.zeros(len(sentences), dtype=np.float32)
        vec[k] = 1.0
        cand = Candidate(passage, start, at, vec, 0, vec)
        out.append(Scored(cand, 1.0 - k / 10, 1.0 - k / 10, 0.0))
    return out


def test_gap_between_quoted_sentences_of_a_paragraph_is_filled():
    para = _paragraph([f"Sentence {w} says something." for w in "ABCDEFG"])
    filled = Composer._fill_gaps([para[0], para[4]], para)
    assert {s.cand.text for s in filled} == {s.cand.text for s in para[:5]}  # three between: all come
    far = Composer._fill_gaps([para[0], para[5]], para)  # four between: the two stay alone
    assert [s.cand.text for s in far] == [para[0].cand.text, para[5].cand.text]
    alone = Composer._fill_gaps([para[2]], para)
    assert [s.cand.text for s in alone] == [para[2].cand.text]


def test_a_paragraph_mostly_quoted_is_quoted_whole_but_for_its_signposts():
    para = _paragraph(
        [f"Sentence {w} says something." for w in "ABCDEF"] + ["This paper will be structured as follows."]
    )
    whole = Composer._fill_gaps([para[0], para[1], para[5]], para)  # three of six readable sentences: half
    assert {s.cand.text for s in whole} == {s.cand.text for s in para[:6]}  # the paper's plan stays out
    two = Composer._fill_gaps([para[0], para[5]], para)  # two quoted sentences are no paragraph yet
    assert len(two) == 2
    long = _paragraph([f"Sentence {w} says something." for w in "ABCDEFGHIJ"])
    assert len(Composer._fill_gaps([long[0], long[1], long[9]], long)) == 3  # three of ten: not mostly quoted


def test_a_sentence_pointing_back_brings_the_one_it_points_to():
    para = _paragraph(
        [
            "Moscow and Astana disagree.",
            "This is a problem.",
            "Why would they stay?",
            "Such doubts linger.",
            "This paper will say more.",
        ]
    )
    out = Composer.with_antecedents([para[1]], para)
    assert [s.cand.text for s in out] == [para[0].cand.text, para[1].cand.text]  # what "this" is, in text order
    assert len(Composer.with_antecedents([para[3]], para)) == 1  # the article's own question is not brought
    assert len(Composer.with_antecedents([para[4]], para)) == 1  # "This paper ..." points at the paper, not back
    assert len(Composer.with_antecedents([para[0], para[1]], para)) == 2  # already quoted: nothing added
    assert len(Composer.with_antecedents([para[0]], para)) == 1  # a sentence that does not point back stays alone


def test_an_answer_quoting_this_is_problematic_says_what_this_is(assistant):
    answer = assistant.ask("Describe the place Kazakhstan holds in the bloc.")
    quotes = [c.quote for c in answer.citations]
    assert not answer.refused
    for k, quote in enumerate(quotes):
        if quote.startswith("This is problematic as Kazakhstan"):
            assert k > 0 and "butt heads" in quotes[k - 1]
            break
    else:
        pytest.fail(f"the Kazakhstan sentence was not quoted: {quotes}")


def test_gap_holding_a_rhetorical_question_is_not_filled_unless_questions_are_asked():
    para = _paragraph(["It begins here.", "Why would anyone join?", "It ends here."])
    assert len(Composer._fill_gaps([para[0], para[2]], para)) == 2
    assert len(Composer._fill_gaps([para[0], para[2]], para, asks_ok=True)) == 3


@pytest.mark.parametrize(
    "question",
    [
        "Summarise Belarus's relationship with the CSTO.",
        "Is Kazakhstan a loyal member or a source of friction? Give me the picture the paper paints.",
        "What's the author's overall verdict on the alliance?",
        "How is Russia's role both a problem and a necessity?",
        "weigh up the CSTO's record on drugs",
    ],
)
def test_broad_questions(question):
    assert question_type(question).broad


@pytest.mark.parametrize(
    "question",
    [
        "When did Uzbekistan leave the CSTO?",
        "Who argues that the CSTO lacks a philosophy?",
        "Where is the HQ?",
        "Two different Bohdan publications are cited. From which years?",  # "different" compares nothing
    ],
)
def test_narrow_questions_are_not_broad(question):
    assert not question_type(question).broad


def test_who_else_takes_part_is_a_list_and_where_it_is_written_is_no_place():
    assert question_type("who else is involved apart from the CSTO's own forces?").listing
    assert not question_type("who else is involved apart from the CSTO's own forces?").who_is
    assert not question_type("Where is that actually written down on the CSTO side?").where
    assert question_type("Where is the Crisis Response Center located?").where


def test_a_form_asked_for_the_answer_names_no_part_of_the_article():
    from rag.compose import STRUCTURE_CUES

    assert not STRUCTURE_CUES["start"].search("What are the main sources of division? Quick summary please.")
    assert STRUCTURE_CUES["start"].search("What does the paper's summary say it will do?")
    assert not STRUCTURE_CUES["end"].search("Why do countries stay in it? Give me the overall picture.")
    assert STRUCTURE_CUES["end"].search("What's the author's overall verdict on the CSTO?")
    assert question_type("What must the CSTO do to stay relevant, and what's standing in the way?").broad


def test_who_is_it_after_a_premise_asks_no_role():
    assert not question_type("Who is it and what's the claim?").who_is
    assert question_type("Who is the CSTO's secretary general?").who_is


def test_a_turn_is_split_into_the_questions_it_asks():
    from rag.api import sub_questions

    assert sub_questions("How does the author split the alliance, and what follows from that split for the CSTO?") == [
        "How does the author split the alliance",
        "What follows from that split for the CSTO?",
    ]
    assert sub_questions("Why do scholars dismiss the CSTO? Give the main quotes and the case usually cited.") == [
        "Why do scholars dismiss the CSTO?",
        "Give the main quotes and the case usually cited.",
    ]
    assert sub_questions("What do Armenia and Belarus want?") == ["What do Armenia and Belarus want?"]


def test_each_part_of_a_compound_question_brings_its_best_passages_after_the_whole_ones():
    from rag.retrieve import with_parts
    from rag.types import ScoredPassage

    def ranking(*ids: str) -> list[ScoredPassage]:
        return [
            ScoredPassage(passage=Passage(id=i, kind="article", text=i, section="S", paragraph=1), score=1.0, rank=r)
            for r, i in enumerate(ids)
        ]

    whole = ranking("a", "b", "c", "d", "e")
    out, depth = with_parts(whole, [ranking("b", "x", "y"), ranking("z", "a")], depth=3)
    assert [sp.passage.id for sp in out] == ["a", "b", "c", "x", "z", "d", "e"]
    assert depth == 5 and [sp.rank for sp in out] == list(range(7))
    assert with_parts(whole, [ranking("a", "b")], depth=3) == (whole, 3)


def test_a_point_of_difference_is_no_place():
    assert not question_type("How are NATO and the CSTO alike, and where do they part ways?").where
    assert not question_type("Where does the alliance fall short?").where
    assert question_type("Where did the Rubezh drills take place?").where


def test_the_facets_a_question_enumerates_are_searched_each_with_its_names():
    from rag.api import facets

    def names(q):  # a small deterministic stand-in for the composer's name finder
        return [w for w in ("Belarus", "Moscow") if w in q]

    assert facets("Give me an overview of its operations — terrorism, drugs, borders and cyber.", names) == [
        "terrorism",
        "drugs",
        "borders",
        "cyber",
    ]
    assert facets("Everything on Belarus: its official line, its military dependence and its friction", names) == [
        "its official line Belarus",
        "its military dependence Belarus",
        "its friction Belarus",
    ]
    assert facets("Summarise Belarus's view, both the legitimacy issue and its attitude.", names) == [
        "the legitimacy issue Belarus",
        "its attitude Belarus",
    ]
    assert facets("What does the Armenia–Azerbaijan rivalry reveal?", names) == []  # a joined pair, no facets
    assert facets("What is the CSTO: an alliance?", names) == []  # one item is no enumeration


def test_the_authors_own_work_is_recognised():
    from rag.api import _OWN_WORK

    assert _OWN_WORK.search("The author cites an earlier piece of her own. What is it called?")
    assert _OWN_WORK.search("Does Lacroix cite herself anywhere?")
    assert _OWN_WORK.search("Which of her own articles is in the bibliography?")
    assert not _OWN_WORK.search("Does Belarus have its own army?")


def test_the_papers_plan_fills_no_gap_unless_the_paper_is_asked_about():
    para = _paragraph(["It begins here.", "Following this, the operations will be identified.", "It ends here."])
    assert len(Composer._fill_gaps([para[0], para[2]], para)) == 2
    assert len(Composer._fill_gaps([para[0], para[2]], para, plan_ok=True)) == 3


def test_the_authors_reasons_are_the_argument_not_the_papers_plan(assistant):
    from rag.compose import _about_the_paper

    author = assistant.composer.author  # read from the byline, not written into the rules

    def about_paper(q: str) -> bool:
        return _about_the_paper(q, author)

    assert author == "lacroix"
    assert not about_paper("Why do countries stay? Walk me through the author's reasons.")
    assert not about_paper("Is the CSTO only Moscow's tool, in Lacroix's view?")
    assert not about_paper("According to Lacroix, why do members stay?")  # as "according to the author"
    assert about_paper("What is the author's affiliation?") and about_paper("What is Lacroix's affiliation?")
    assert about_paper("How is the paper structured?") and about_paper("Who is Lacroix?")


def test_the_papers_author_as_a_person_is_asked_of_the_note_about_her(assistant):
    """Her particulars (age, nationality, where she teaches) are asked of the note about her, which gives none of
    them: such a question is refused, whatever sentence scored best. Her view of a topic is still the argument's."""
    her = assistant.composer._asks_her_person
    assert her("How old is the writer?") and her("Is Lacroix married?") and her("what's the author's hometown?")
    assert not her("How does the author see the age of the alliance?")  # the alliance's age: her argument
    assert not her("What is the author's family name?") and not her("Is the author hopeful about the CSTO?")
    for asked in ("How old is the author?", "Which university does the writer teach at?", "Is the author Russian?"):
        answer = assistant.ask(asked)
        assert answer.refused and answer.checks_failed == "the article says nothing of its author's person", asked
    kept = assistant.ask("What does the author think of NATO as a yardstick?")
    assert not kept.refused


def test_a_picture_of_several_names_may_name_them_one_by_one(assistant):
    # no sentence names all three scholars: each is named by one of the quoted sentences, which is enough for a
    # comparison; a name the corpus never uses ("Cobalt") still refuses
    answer = assistant.ask("Compare what Allison, Weitz and Nikitina say about the bloc.")
    assert not answer.refused
    works = {s.label for c in answer.citations for s in c.sources}
    assert {"Allison (2018)", "Weitz (2018)", "Nikitina (2012)"} <= works
    unknown = assistant.ask("Give an overview of Operation Kanal, Rubezh and Cobalt.")
    assert unknown.refused and unknown.checks_failed == "no passage is about all the names asked about"


def test_a_role_an_entry_field_holds_is_answered_by_the_card(assistant):
    # the card prints no word "publisher" or "editor": the entry's publisher and its "(ed. ...)" answer the role;
    # the role named before a possessive ("the editor of the book containing Baev's chapter") is the one asked
    publisher = assistant.ask("Who is the publisher of the Weitz report?")
    assert not publisher.refused and "Strategic Studies Institute" in publisher.text
    editor = assistant.ask("Who was the editor of the book containing Baev's chapter?")
    assert not editor.refused and "Starr" in editor.text
    none = assistant.ask("Who was the editor of Weitz's report?")  # the entry names no editor
    assert none.refused and none.checks_failed == "no passage says who"


def test_idioms_that_ask_no_place_no_claim_and_a_comparison():
    assert not question_type("Why is Belarus a member, and where is the friction?").where
    assert not question_type("Where are the weak spots of the alliance?").where
    assert question_type("Where is the Crisis Response Center?").where
    assert question_type("What do NATO and the CSTO have in common?").broad
    assert question_type("Are the drills worth anything? What are the arguments against and for?").reason
    assert not question_type("What does it argue with Moscow about?").source  # a quarrel, not a claim
    assert question_type("Who argues that the CSTO lacks a coherent ideology?").source


def test_a_compound_question_whose_second_part_opens_with_a_preposition(assistant):
    assert sub_questions("When was the CSTO set up, and under which treaty?", least=1) == [
        "When was the CSTO set up",
        "Under which treaty?",
    ]
    answer = assistant.ask("When was the CSTO set up, and under which treaty?")
    assert not answer.refused and "Tashkent Treaty" in answer.text and "1992" in answer.text


def test_a_last_sentence_asking_only_what_the_paper_says_leaves_the_question_to_the_first(assistant):
    answer = assistant.ask("Is the CSTO merely Moscow's instrument? What does the paper say on both sides?")
    assert not answer.refused
    assert not any(c.section == "Title" for c in answer.citations)  # the title page argues nothing
    assert "Moscow" in answer.text


def test_a_sentence_announcing_what_follows_brings_it(assistant):
    answer = assistant.ask("What features do NATO and the CSTO share?")
    assert "share a few common variables" in answer.text
    assert "Collective security remains the consistent objective" in answer.text  # what it announced


def test_a_reply_that_is_only_a_name_is_what_it_refers_to():
    assert answer_names("Kazakhstan.") == ["Kazakhstan"]
    assert answer_names("Operation Kanal.") == ["Operation Kanal"]
    assert answer_names("It is the oldest. [1]") == []


def test_what_the_paper_is_about_is_its_summary_and_introduction(assistant):
    # the question shares no word with the summary: the part it names is read even when no ranker found it
    asked = ("What is this paper about?", "What does this article deal with?", "What is the topic of the study?")
    for question in asked:
        answer = assistant.ask(question)
        assert not answer.refused, question
        assert {c.section for c in answer.citations} <= {"Summary", "Introduction"}, question


def test_an_abbreviation_or_a_parenthesis_does_not_end_a_question_sentence():
    from rag.api import final_question, question_sentences

    asked = "Why would a small member (i.e. Armenia) not call on the bloc? Explain."
    assert question_sentences(asked) == ["Why would a small member (i.e. Armenia) not call on the bloc?", "Explain."]
    assert (
        final_question("Which works (e.g. Allison) are critical of it?")
        == "Which works (e.g. Allison) are critical of it?"
    )
    assert final_question("Critics say it is idle. What good is it?") == "What good is it?"


def test_an_explanation_names_the_works_behind_it(assistant):
    # the closest paragraph cites one work; close sentences citing others join the answer (three at most)
    answer = assistant.ask("Why do members hesitate to rely on the alliance in a crisis?")
    assert not answer.refused
    works = {s.key for c in answer.citations for s in c.sources}
    assert len(works) >= 3
    quotes = [c.quote for c in answer.citations]  # a work's sentence pointing back comes with what "this" is
    at = next(i for i, q in enumerate(quotes) if q.startswith("This is especially apparent"))
    assert quotes[at - 1].startswith("Disagreements within the CSTO contribute")
    picture = assistant.ask("How do scholars judge the alliance's effectiveness?")
    assert len({s.key for c in picture.citations for s in c.sources}) >= 3
    # any open question, not only a why or a picture: "what does X do" shows the CSTO's own page beside Nikitin's
    cyber = assistant.ask("What does the CSTO do about cyber threats?")
    assert {"nikitin2014", "csto2019d"} <= {s.key for c in cyber.citations for s in c.sources}


def test_a_date_question_keeps_its_focused_answer(assistant):
    answer = assistant.ask("In what year did the CSTO agree to set up its Crisis Response Center?")
    assert not answer.refused and "2016" in answer.text and len(answer.citations) <= 3
