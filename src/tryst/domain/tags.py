"""The tag vocabulary used by persona interests and, later, scene cards."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tryst.domain.errors import InvalidInput

TAG_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}$")


@dataclass(frozen=True, slots=True)
class Tag:
    id: str
    name: str
    category: str
    description: str = ""


class TagVocabulary:
    """An ordered, validated set of tags grouped in categories."""

    def __init__(self, tags: Iterable[Tag]) -> None:
        self._tags: dict[str, Tag] = {}
        for tag in tags:
            if not TAG_ID_RE.fullmatch(tag.id):
                raise InvalidInput(f"tag id {tag.id!r} must be lower-case letters, digits and '-'")
            if not tag.name.strip() or not tag.category.strip():
                raise InvalidInput(f"tag {tag.id!r} needs a name and a category")
            self._tags[tag.id] = tag  # a later definition replaces an earlier one

    def __contains__(self, tag_id: object) -> bool:
        return tag_id in self._tags

    def __len__(self) -> int:
        return len(self._tags)

    def get(self, tag_id: str) -> Tag | None:
        return self._tags.get(tag_id)

    def tags(self) -> list[Tag]:
        return list(self._tags.values())

    def categories(self) -> dict[str, list[Tag]]:
        grouped: dict[str, list[Tag]] = {}
        for tag in self._tags.values():
            grouped.setdefault(tag.category, []).append(tag)
        return grouped

    def extended(self, more: Iterable[Tag]) -> TagVocabulary:
        return TagVocabulary([*self._tags.values(), *more])


def vocabulary_from_document(doc: Mapping[str, object]) -> list[Tag]:
    """Read tags from the documented JSON shape (docs/operations.md):
    ``{"categories": [{"name": ..., "tags": [{"id": ..., "name": ..., "description": ...}]}]}``
    """
    categories = doc.get("categories")
    if not isinstance(categories, list):
        raise InvalidInput("tag file must have a 'categories' list")
    out: list[Tag] = []
    for cat in categories:
        if not isinstance(cat, dict) or not isinstance(cat.get("name"), str):
            raise InvalidInput("each category needs a 'name'")
        tags = cat.get("tags")
        if not isinstance(tags, list):
            raise InvalidInput(f"category {cat['name']!r} needs a 'tags' list")
        for raw in tags:
            if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) \
                    or not isinstance(raw.get("name"), str):
                raise InvalidInput(f"each tag in {cat['name']!r} needs an 'id' and a 'name'")
            desc = raw.get("description", "")
            out.append(Tag(id=raw["id"], name=raw["name"], category=cat["name"],
                           description=desc if isinstance(desc, str) else ""))
    return out
