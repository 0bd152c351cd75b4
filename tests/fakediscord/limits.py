"""Discord's server-side limits, reported in the shape of a real 50035 ``Invalid Form Body``.

Each ``check_*`` function returns an ``errors`` tree (empty when the body is valid), e.g.
``{"embeds": {"0": {"description": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", ...}]}}}}``.
"""

from __future__ import annotations

import re
from typing import Any

JSON = dict[str, Any]
Path = tuple[str | int, ...]

CONTENT_MAX = 2000
EMBEDS_MAX = 10
EMBED_TOTAL_MAX = 6000
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FIELDS_MAX = 25
EMBED_FIELD_NAME_MAX = 256
EMBED_FIELD_VALUE_MAX = 1024
EMBED_FOOTER_MAX = 2048
EMBED_AUTHOR_NAME_MAX = 256
ACTION_ROWS_MAX = 5
ROW_BUTTONS_MAX = 5
CUSTOM_ID_MAX = 100
BUTTON_LABEL_MAX = 80
SELECT_OPTIONS_MAX = 25
SELECT_PLACEHOLDER_MAX = 150
SELECT_OPTION_TEXT_MAX = 100
COMPONENTS_V2_TOTAL_MAX = 40
AUTOCOMPLETE_CHOICES_MAX = 25
CHOICE_TEXT_MAX = 100
NONCE_MAX = 25
MODAL_TITLE_MAX = 45
COMMAND_NAME_MAX = 32
COMMAND_DESCRIPTION_MAX = 100
COMMAND_OPTIONS_MAX = 25
COMMAND_TOTAL_CHARS_MAX = 4000
GLOBAL_CHAT_COMMANDS_MAX = 100
CONTEXT_MENU_COMMANDS_MAX = 5

FLAG_COMPONENTS_V2 = 1 << 15

_COMMAND_NAME_RE = re.compile(r"^[-_'\w]{1,32}$")


class Errors:
    """Accumulates errors into Discord's nested ``{"key": {"0": {"_errors": [...]}}}`` tree."""

    def __init__(self) -> None:
        self.tree: JSON = {}

    def add(self, path: Path, code: str, message: str) -> None:
        node = self.tree
        for part in path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def max_len(self, path: Path, value: Any, limit: int) -> None:
        if isinstance(value, str) and len(value) > limit:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def bad_len(self, path: Path, value: Any, low: int, high: int) -> None:
        if isinstance(value, str | list) and not low <= len(value) <= high:
            self.add(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length.")

    def required(self, path: Path) -> None:
        self.add(path, "BASE_TYPE_REQUIRED", "This field is required")

    def __bool__(self) -> bool:
        return bool(self.tree)


def embed_size(embed: JSON) -> int:
    """Characters Discord counts towards the 6000 limit of a message's embeds."""
    total = len(_s(embed.get("title"))) + len(_s(embed.get("description")))
    for f in embed.get("fields") or []:
        total += len(_s(f.get("name"))) + len(_s(f.get("value")))
    total += len(_s((embed.get("footer") or {}).get("text")))
    total += len(_s((embed.get("author") or {}).get("name")))
    return total


def check_message(body: JSON, *, creating: bool) -> tuple[JSON, bool]:
    """Validate a message-bearing body. Returns (errors tree, is_empty_message)."""
    errors = Errors()
    content = body.get("content")
    if content is not None:
        errors.max_len(("content",), str(content), CONTENT_MAX)
    embeds = body.get("embeds")
    if embeds is not None:
        _check_embeds(errors, embeds)
    flags = int(body.get("flags") or 0)
    components = body.get("components")
    if components is not None:
        _check_components(errors, components, v2=bool(flags & FLAG_COMPONENTS_V2))
    nonce = body.get("nonce")
    if nonce is not None:
        errors.max_len(("nonce",), str(nonce), NONCE_MAX)
    empty = False
    if creating:
        empty = not (
            (isinstance(content, str) and content.strip())
            or embeds
            or components
            or body.get("attachments")
            or body.get("sticker_ids")
            or body.get("poll")
        )
    return errors.tree, empty


def _s(value: Any) -> str:
    return "" if value is None else str(value)


def _check_embeds(errors: Errors, embeds: list[JSON]) -> None:
    if len(embeds) > EMBEDS_MAX:
        errors.add(("embeds",), "BASE_TYPE_MAX_LENGTH", f"Must be {EMBEDS_MAX} or fewer in length.")
    total = 0
    for i, embed in enumerate(embeds):
        p: Path = ("embeds", i)
        errors.max_len((*p, "title"), embed.get("title"), EMBED_TITLE_MAX)
        errors.max_len((*p, "description"), embed.get("description"), EMBED_DESCRIPTION_MAX)
        fields = embed.get("fields") or []
        if len(fields) > EMBED_FIELDS_MAX:
            errors.add(
                (*p, "fields"),
                "BASE_TYPE_MAX_LENGTH",
                f"Must be {EMBED_FIELDS_MAX} or fewer in length.",
            )
        for j, f in enumerate(fields):
            fp = (*p, "fields", j)
            for key, limit in (("name", EMBED_FIELD_NAME_MAX), ("value", EMBED_FIELD_VALUE_MAX)):
                value = f.get(key)
                if value is None or str(value) == "":
                    errors.required((*fp, key))
                else:
                    errors.max_len((*fp, key), str(value), limit)
        footer = embed.get("footer") or {}
        errors.max_len((*p, "footer", "text"), footer.get("text"), EMBED_FOOTER_MAX)
        author = embed.get("author") or {}
        errors.max_len((*p, "author", "name"), author.get("name"), EMBED_AUTHOR_NAME_MAX)
        total += embed_size(embed)
    if total > EMBED_TOTAL_MAX:
        errors.add(
            ("embeds",),
            "MAX_EMBED_SIZE_EXCEEDED",
            f"Embed size exceeds maximum size of {EMBED_TOTAL_MAX}",
        )


def _check_components(errors: Errors, components: list[JSON], *, v2: bool) -> None:
    seen_ids: set[str] = set()
    if v2:
        count = 0

        def walk(items: list[JSON], path: Path) -> None:
            nonlocal count
            for i, c in enumerate(items):
                count += 1
                _check_leaf(errors, c, (*path, i), seen_ids)
                for key in ("components", "items"):
                    if isinstance(c.get(key), list) and c.get("type") != 3:
                        walk(c[key], (*path, i, key))
                for key in ("component", "accessory"):
                    if isinstance(c.get(key), dict):
                        walk([c[key]], (*path, i, key))

        walk(components, ("components",))
        if count > COMPONENTS_V2_TOTAL_MAX:
            errors.add(
                ("components",),
                "BASE_TYPE_MAX_LENGTH",
                f"Must be {COMPONENTS_V2_TOTAL_MAX} or fewer in length.",
            )
        return
    if len(components) > ACTION_ROWS_MAX:
        errors.add(
            ("components",),
            "BASE_TYPE_MAX_LENGTH",
            f"Must be {ACTION_ROWS_MAX} or fewer in length.",
        )
    for i, row in enumerate(components):
        rp: Path = ("components", i)
        if row.get("type") != 1:
            errors.add(
                (*rp, "type"),
                "UNION_TYPE_CHOICES",
                'Value of field "type" must be one of (1,).',
            )
            continue
        children = row.get("components") or []
        errors.bad_len((*rp, "components"), children, 1, ROW_BUTTONS_MAX)
        if any(c.get("type") != 2 for c in children) and len(children) > 1:
            errors.add(
                (*rp, "components"),
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "The specified component exceeds the maximum width",
            )
        for j, c in enumerate(children):
            _check_leaf(errors, c, (*rp, "components", j), seen_ids)


def _check_leaf(errors: Errors, c: JSON, path: Path, seen_ids: set[str]) -> None:
    ctype = c.get("type")
    custom_id = c.get("custom_id")
    if custom_id is not None:
        errors.max_len((*path, "custom_id"), str(custom_id), CUSTOM_ID_MAX)
        if str(custom_id) in seen_ids:
            errors.add(
                (*path, "custom_id"),
                "COMPONENT_CUSTOM_ID_DUPLICATED",
                "Component custom id cannot be duplicated",
            )
        seen_ids.add(str(custom_id))
    if ctype == 2:  # button
        errors.max_len((*path, "label"), c.get("label"), BUTTON_LABEL_MAX)
        style = c.get("style")
        if style == 5:
            if not c.get("url"):
                errors.required((*path, "url"))
        elif style != 6 and custom_id is None:
            errors.required((*path, "custom_id"))
    elif ctype in (3, 5, 6, 7, 8):  # selects
        if custom_id is None:
            errors.required((*path, "custom_id"))
        errors.max_len((*path, "placeholder"), c.get("placeholder"), SELECT_PLACEHOLDER_MAX)
        if ctype == 3:
            options = c.get("options") or []
            errors.bad_len((*path, "options"), options, 1, SELECT_OPTIONS_MAX)
            for k, opt in enumerate(options):
                for key in ("label", "value", "description"):
                    errors.max_len((*path, "options", k, key), opt.get(key), SELECT_OPTION_TEXT_MAX)


def check_autocomplete(data: JSON) -> JSON:
    errors = Errors()
    choices = data.get("choices")
    if choices is None:
        errors.required(("choices",))
        return errors.tree
    if len(choices) > AUTOCOMPLETE_CHOICES_MAX:
        errors.add(
            ("choices",),
            "BASE_TYPE_MAX_LENGTH",
            f"Must be {AUTOCOMPLETE_CHOICES_MAX} or fewer in length.",
        )
    for i, choice in enumerate(choices):
        _check_choice(errors, choice, ("choices", i))
    return errors.tree


def _check_choice(errors: Errors, choice: JSON, path: Path) -> None:
    errors.bad_len((*path, "name"), _s(choice.get("name")), 1, CHOICE_TEXT_MAX)
    value = choice.get("value")
    if value is None:
        errors.required((*path, "value"))
    elif isinstance(value, str):
        errors.max_len((*path, "value"), value, CHOICE_TEXT_MAX)


def check_modal(data: JSON) -> JSON:
    errors = Errors()
    errors.bad_len(("title",), _s(data.get("title")), 1, MODAL_TITLE_MAX)
    errors.bad_len(("custom_id",), _s(data.get("custom_id")), 1, CUSTOM_ID_MAX)
    errors.bad_len(("components",), data.get("components") or [], 1, 5)
    return errors.tree


def check_commands(commands: list[JSON], *, guild: bool) -> JSON:
    """Validate a bulk-overwrite (PUT) body of application commands."""
    errors = Errors()
    per_type: dict[int, int] = {}
    seen: set[tuple[int, str]] = set()
    for i, cmd in enumerate(commands):
        ctype = int(cmd.get("type", 1))
        per_type[ctype] = per_type.get(ctype, 0) + 1
        key = (ctype, str(cmd.get("name")))
        if key in seen:
            errors.add(
                (i, "name"),
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                f"Application command names must be unique: {cmd.get('name')}",
            )
        seen.add(key)
        check_command(errors, cmd, (i,))
    if per_type.get(1, 0) > GLOBAL_CHAT_COMMANDS_MAX:
        errors.add((), "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
    for ctype in (2, 3):
        if per_type.get(ctype, 0) > CONTEXT_MENU_COMMANDS_MAX:
            errors.add((), "APPLICATION_COMMANDS_TOO_MANY", "Too many context menu commands.")
    del guild
    return errors.tree


def check_command(errors: Errors, cmd: JSON, path: Path) -> None:
    ctype = int(cmd.get("type", 1))
    name = _s(cmd.get("name"))
    description = _s(cmd.get("description"))
    if ctype == 1:
        _check_name(errors, name, (*path, "name"))
        errors.bad_len((*path, "description"), description, 1, COMMAND_DESCRIPTION_MAX)
        _check_options(errors, cmd.get("options") or [], (*path, "options"))
        if _command_chars(cmd) > COMMAND_TOTAL_CHARS_MAX:
            errors.add(
                path,
                "APPLICATION_COMMAND_TOO_LARGE",
                f"Command exceeds maximum size ({COMMAND_TOTAL_CHARS_MAX})",
            )
    else:
        errors.bad_len((*path, "name"), name, 1, COMMAND_NAME_MAX)
        if description:
            errors.add(
                (*path, "description"),
                "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION",
                "Context menu commands cannot have description",
            )


def _check_name(errors: Errors, name: str, path: Path) -> None:
    if not _COMMAND_NAME_RE.match(name) or name != name.lower():
        errors.add(
            path,
            "APPLICATION_COMMAND_INVALID_NAME",
            f"Command name is invalid: {name!r} (1-32 lowercase letters, digits, - or _)",
        )


def _check_options(errors: Errors, options: list[JSON], path: Path) -> None:
    if len(options) > COMMAND_OPTIONS_MAX:
        errors.add(
            path, "BASE_TYPE_MAX_LENGTH", f"Must be {COMMAND_OPTIONS_MAX} or fewer in length."
        )
    seen_optional = False
    names: set[str] = set()
    for i, opt in enumerate(options):
        op = (*path, i)
        _check_name(errors, _s(opt.get("name")), (*op, "name"))
        if opt.get("name") in names:
            errors.add(
                (*op, "name"),
                "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                "Option names must be unique",
            )
        names.add(_s(opt.get("name")))
        errors.bad_len((*op, "description"), _s(opt.get("description")), 1, 100)
        if opt.get("type") in (1, 2):
            _check_options(errors, opt.get("options") or [], (*op, "options"))
            continue
        if opt.get("required"):
            if seen_optional:
                errors.add(
                    (*op, "required"),
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            seen_optional = True
        choices = opt.get("choices") or []
        if len(choices) > AUTOCOMPLETE_CHOICES_MAX:
            errors.add(
                (*op, "choices"),
                "BASE_TYPE_MAX_LENGTH",
                f"Must be {AUTOCOMPLETE_CHOICES_MAX} or fewer in length.",
            )
        if choices and opt.get("autocomplete"):
            errors.add(
                (*op, "autocomplete"),
                "APPLICATION_COMMAND_OPTION_CHOICES_AUTOCOMPLETE",
                "Autocomplete cannot be set on options with choices",
            )
        for k, choice in enumerate(choices):
            _check_choice(errors, choice, (*op, "choices", k))


def _command_chars(cmd: JSON) -> int:
    total = len(_s(cmd.get("name"))) + len(_s(cmd.get("description")))
    for opt in cmd.get("options") or []:
        total += _command_chars(opt)
        for choice in opt.get("choices") or []:
            total += len(_s(choice.get("name"))) + len(_s(choice.get("value")))
    return total
