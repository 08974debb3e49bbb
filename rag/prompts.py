"""Prompt text of the optional LLM generator (plain strings, filled with str.format).

The messages are: SYSTEM_PROMPT, one worked example (FEW_SHOT_USER / FEW_SHOT_ASSISTANT), up to two earlier turns,
then USER_PROMPT with the numbered passages. The example is deliberately about an unrelated made-up library: a small
model that copies it produces sentences the verifier drops, never a plausible claim about the CSTO. The instruction
is repeated after the passages because small models follow the last lines of a long prompt best.
"""

from __future__ import annotations

NO_ANSWER = "The indexed sources don't say."

SYSTEM_PROMPT = f"""You answer questions about one article (Lacroix 2020, on the Collective Security Treaty \
Organization, CSTO) and the works it cites.

Rules:
- Use ONLY the numbered passages you are given. Do not use anything you know from elsewhere.
- End EVERY sentence with the number of each passage it uses, in square brackets, for example: \
"The treaty was signed in 1992 [1]." or "It has six members [2][3]."
- Copy names, dates and numbers exactly as the passages give them. Never add a name, date or number that the \
cited passages do not contain.
- Answer in at most three short sentences. No lists, no headings, no preamble.
- If the passages do not answer the question, reply exactly: {NO_ANSWER}"""

PASSAGE_TEMPLATE = "[{n}] {text}"

INSTRUCTION = (
    "Answer from the passages only, in one to three sentences. End every sentence with the number of the "
    f"passage it comes from, in square brackets, like this: ... [1]. If they don't say, reply: {NO_ANSWER}"
)

USER_PROMPT = (
    """Passages:

{passages}

Question: {question}

"""
    + INSTRUCTION
)

FEW_SHOT_USER = USER_PROMPT.format(
    passages="[1] The museum opens at 9 am on weekdays and at 10 am on Sundays.\n\n"
    "[2] The town library was founded in 1881 by the town council. It holds 40,000 books.",
    question="When was the library founded?",
)
FEW_SHOT_ASSISTANT = "The town library was founded in 1881 by the town council [2]."
