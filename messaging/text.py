"""Character rules for message text and reaction emoji, decided by Unicode category."""

import unicodedata

from chatproject.conf import chat_settings
from messaging.errors import MessageEmptyError, MessageTooLongError

# Categories that draw nothing on their own: controls (tab, newline), format characters (U+200B zero
# width space, U+2060 word joiner, U+200D joiner, U+202E and the other bidi controls, U+FEFF),
# space and line/paragraph separators, and combining marks (variation selectors are Mn) with no base.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Me"})
# Letters that render blank (Unicode calls them fillers); too few to derive from a property.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")

ZWJ = "\u200d"
_BLACK_FLAG = "\U0001f3f4"
# Tag characters spell subdivision flags after U+1F3F4 (England: 🏴 + "gbeng" tags + CANCEL TAG).
_TAGS = range(0xE0020, 0xE0080)


def is_blank(text: str) -> bool:
    """True when nothing in `text` is visible: only whitespace, format, bidi or joining characters,
    and combining marks (such as variation selectors) with nothing to combine with."""
    return all(
        char.isspace() or char in _BLANK_LETTERS or unicodedata.category(char) in _INVISIBLE_CATEGORIES
        for char in text
    )


def is_emoji_text(emoji: str) -> bool:
    """True when `emoji` has something visible and no control, space, lone surrogate, or format
    character outside an emoji sequence.

    Format characters (Cf) are allowed only where emoji sequences use them: U+200D between two
    visible characters (family, profession emoji) and tag characters after U+1F3F4 (subdivision
    flags). Anything else of that category (U+200B, U+2060, U+202A-U+202E, U+2066-U+2069, U+061C,
    U+FEFF, U+200E, ...) would hide or reorder text around the reaction. Variation selectors such
    as U+FE0F are combining marks, allowed after a visible character.
    """
    if is_blank(emoji):
        return False
    in_tag_run = False
    for index, char in enumerate(emoji):
        category = unicodedata.category(char)
        if char.isspace() or category in {"Cc", "Cs"}:
            return False
        if ord(char) in _TAGS:
            in_tag_run = in_tag_run or (index > 0 and emoji[index - 1] == _BLACK_FLAG)
            if not in_tag_run:
                return False
            continue
        in_tag_run = False
        if char == ZWJ:
            before = emoji[index - 1] if index > 0 else ""
            after = emoji[index + 1] if index + 1 < len(emoji) else ""
            if not before or not after or _is_format(before) or _is_format(after):
                return False
        elif category == "Cf":
            return False
    return True


def _is_format(char: str) -> bool:
    return unicodedata.category(char) == "Cf"


def message_text_clean(content: str) -> str:
    """The text to store: `content` without surrounding whitespace. Raises MessageTooLongError, MessageEmptyError."""
    limit = chat_settings.MESSAGE_MAX_LENGTH
    # The limit applies to what the client sent, as the OpenAPI maxLength says.
    if len(content) > limit:
        raise MessageTooLongError(f"message content is too long (at most {limit} characters)")
    text = content.strip()
    # Only invisible characters (zero-width, bidi controls, lone variation selectors) is empty too.
    if is_blank(text):
        raise MessageEmptyError()
    return text
