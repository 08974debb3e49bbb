"""Prompt text of the optional LLM generator (plain strings, filled with str.format)."""

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

USER_PROMPT = """Passages:

{passages}

Question: {question}

Answer from the passages only, ending every sentence with its [n] citations."""
