"""Conversation history as the API accepts it, checked in one linear pass before any work is done on it.

A history is a list (or tuple) of turns, oldest first, each either
- a mapping `{"role": "user" | "assistant" | "system", "content": str}` (the form the page and `--history` use), or
- a pair `(user text, assistant text or None)` (Gradio's older tuple form).

`validate_history` raises InvalidQuestionError with one line when the history has another shape, more items than
`max_turns`, or more characters than `max_chars` in all; it never alters the history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from index.errors import InvalidQuestionError

ROLES = frozenset({"user", "assistant", "system"})
SHAPE = 'history must be a list of {"role": "user" | "assistant", "content": "..."} turns'


def _turn_chars(i: int, item: object) -> int:
    """The characters of one turn; InvalidQuestionError when it is not a turn."""
    if isinstance(item, Mapping):
        role, content = item.get("role"), item.get("content")
        if role not in ROLES:
            raise InvalidQuestionError(f"{SHAPE}; turn {i + 1} has role {str(role)[:20]!r}")
        if not isinstance(content, str):
            raise InvalidQuestionError(f"{SHAPE}; turn {i + 1} has no text content")
        return len(content)
    if isinstance(item, list | tuple) and len(item) == 2 and isinstance(item[0], str):
        if not (item[1] is None or isinstance(item[1], str)):
            raise InvalidQuestionError(f"{SHAPE}; turn {i + 1}'s reply is not text")
        return len(item[0]) + len(item[1] or "")
    raise InvalidQuestionError(f"{SHAPE}; turn {i + 1} is a {type(item).__name__}")


def validate_history(history: object, max_turns: int, max_chars: int) -> None:
    """Raise InvalidQuestionError unless `history` is None or a list of at most `max_turns` turns holding at most
    `max_chars` characters in all (one pass; stops at the first item past a limit)."""
    if history is None:
        return
    if isinstance(history, str | bytes | Mapping) or not isinstance(history, Sequence):
        raise InvalidQuestionError(f"{SHAPE}, not a {type(history).__name__}")
    if len(history) > max_turns:
        raise InvalidQuestionError(
            f"the history has {len(history)} turns; the limit is {max_turns} (max_history_turns)"
        )
    total = 0
    for i, item in enumerate(history):
        total += _turn_chars(i, item)
        if total > max_chars:
            raise InvalidQuestionError(
                f"the history holds more than {max_chars} characters (max_history_chars); start a new conversation"
            )
