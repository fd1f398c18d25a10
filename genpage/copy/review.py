"""Review before copy goes live: every distinct copy in the copy cache has a status, who set it and when.

A copy is cached per prompt (`genpage.copy.generate.copy_key`): at copy_level "segment" one copy serves every shelf
of its theme, so that cache entry is what a person reviews. Its review (the store's `copy_review` table) is

- **draft**: the model wrote it and nobody has looked (every new entry);
- **approved**: a person let the model's copy go live;
- **edited**: a person wrote other words, which go live instead (checked by the guardrails, as the model's are);
- **rejected**: a person refused it; the shelf shows its fallback copy.

With it the entry keeps a sample of a shelf it was written for (the theme, the kind, a few product titles) and the
facts its guardrails were checked against, so an edit is judged as the model's copy was.

`Config.publish` says what goes live: "auto" (default) every copy but a rejected one; "approved" only approved or
edited copy. `review_jobs` applies it in `generate_copy`: a shelf whose copy may not go live shows its fallback copy,
and the page records why in the section's copy_violations ("review: ..."). `genpage copy list|approve|edit|reject`
and the preview server's /review page call `list_reviews` and `review`.
"""

from __future__ import annotations

import dataclasses
import getpass
import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

from pydantic import ValidationError

from genpage.copy.guardrails import DEFAULT_LIMITS, CopyLimits, SectionFacts, Violation, check_copy
from genpage.errors import GenpageError
from genpage.schemas import PagePlan, Section, SectionCopy
from genpage.store import Store

logger = logging.getLogger(__name__)

STATUSES = ("draft", "approved", "edited", "rejected")
ACTIONS = {"approve": "approved", "edit": "edited", "reject": "rejected"}
# what each publish setting lets onto a page
LIVE = {"auto": frozenset({"draft", "approved", "edited"}), "approved": frozenset({"approved", "edited"})}
SAMPLE_PRODUCTS = 6
MIN_KEY_PREFIX = 4
EDITED_SOURCE = "edited"  # Section.copy_source of a shelf showing a person's edit


class ReviewError(GenpageError):
    """A review cannot be done as asked: an unknown or ambiguous key, an unknown action, empty text."""


class EditRejectedError(ReviewError):
    """An edit that does not pass the guardrails; nothing was saved. `violations` says which rules it broke."""

    def __init__(self, key: str, violations: Sequence[Violation]):
        self.key = key
        self.violations = list(violations)
        broken = "; ".join(dict.fromkeys(str(v) for v in self.violations))
        super().__init__(f"the edited copy of {key[:12]} does not pass the guardrails, so it was not saved: {broken}. "
                         "Write it again without those words (copy may only name what the shelf shows)")


@dataclass
class CopyReview:
    """One cached copy and its review."""

    key: str
    model: str
    status: str
    copy: SectionCopy | None  # the model's copy; None where it failed the guardrails (the shelf shows its fallback)
    edit: SectionCopy | None  # a person's words (status "edited")
    reviewed_by: str | None
    reviewed_at: str | None
    created_at: str
    sample: dict[str, Any]  # label, kind, anchor, products: a shelf it was written for
    facts: SectionFacts | None  # None for copy cached before reviews were kept, until a page uses it again
    violations: list[str]  # why the model's copy failed, for an entry that holds a fallback

    @property
    def short_key(self) -> str:
        return self.key[:12]

    @property
    def live(self) -> SectionCopy | None:
        """The words that go live when the status allows: the edit, else the model's copy."""
        return self.edit if self.status == "edited" and self.edit is not None else self.copy


def reviewer() -> str:
    """Who reviews, when nobody says: the OS user."""
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return "unknown"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------- what is kept with a copy


def facts_json(facts: SectionFacts) -> str:
    return json.dumps(dataclasses.asdict(facts), sort_keys=True, ensure_ascii=False)


def facts_from_json(text: str | None) -> SectionFacts | None:
    data = json.loads(text) if text else {}
    if not data:
        return None
    known = {f.name for f in dataclasses.fields(SectionFacts)}
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known}
    return SectionFacts(**values)


def shelf_sample(section: Section) -> dict[str, Any]:
    """What a reviewer sees of a shelf the copy was written for."""
    return {
        "label": section.theme.label if section.theme is not None else "",
        "kind": section.kind,
        "anchor": section.anchor_label or "",
        "products": [item.product.title for item in section.items[:SAMPLE_PRODUCTS]],
    }


def record_drafts(store: Store, entries: Iterable[tuple[str, Section, SectionFacts]]) -> None:
    """A draft review for each (key, shelf, facts) that has none yet (copy just cached, or cached before reviews
    were kept), with the shelf's sample and the facts."""
    rows = [(key, json.dumps(shelf_sample(section), ensure_ascii=False), facts_json(facts))
            for key, section, facts in entries]  # fmt: skip
    with store.transaction(data=False) as conn:
        conn.executemany("INSERT INTO copy_review (key, status, sample, facts) VALUES (?, 'draft', ?, ?) "
                         "ON CONFLICT(key) DO UPDATE SET sample = excluded.sample, facts = excluded.facts "
                         "WHERE copy_review.facts = '{}'", rows)  # fmt: skip


def _review_rows(store: Store, keys: Sequence[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for start in range(0, len(keys), 500):
        chunk = list(keys[start : start + 500])
        marks = ",".join("?" * len(chunk))
        for row in store.query(f"SELECT * FROM copy_review WHERE key IN ({marks})", chunk):
            found[row["key"]] = row
    return found


# ---------------------------------------------------------------- the publish gate


class ReviewableJob(Protocol):
    """What `review_jobs` reads and sets of a section's copy job (genpage.copy.generate.SectionJob)."""

    plan_index: int
    section_index: int
    key: str
    facts: SectionFacts
    fallback: SectionCopy
    copy: SectionCopy | None
    source: str
    violations: list[str]


def review_jobs(plans: Sequence[PagePlan], jobs: Sequence[ReviewableJob], store: Store | None, publish: str,
                limits: CopyLimits = DEFAULT_LIMITS) -> None:
    """Settle each job's copy by its review and the publish setting: an edit replaces the copy (when it still
    passes the guardrails on this shelf); copy `publish` does not let live gives way to the fallback, with a
    "review: ..." violation saying why. Records a draft review for every key that has none (with a store)."""
    keys = list(dict.fromkeys(job.key for job in jobs))
    rows = _review_rows(store, keys) if store is not None else {}
    if store is not None:
        missing = {job.key: job for job in jobs if job.key not in rows or rows[job.key]["facts"] == "{}"}
        if missing:
            record_drafts(store, [(key, plans[j.plan_index].sections[j.section_index], j.facts)
                                  for key, j in missing.items()])  # fmt: skip
    for job in jobs:
        row = rows.get(job.key)
        status = row["status"] if row is not None else "draft"
        edit = _edit_of(row)
        if status == "edited" and edit is not None:
            violations = check_copy(edit, job.facts, limits)
            if not violations:
                job.copy, job.source, job.violations = edit, EDITED_SOURCE, []
                continue
            job.violations = [f"review: the edited copy breaks a rule on this shelf ({v})" for v in violations]
            job.copy, job.source = job.fallback, "fallback"
        elif status not in LIVE[publish] and job.source != "fallback":
            why = "rejected" if status == "rejected" else f"not approved ({status}; publish = \"{publish}\")"
            job.copy, job.source, job.violations = job.fallback, "fallback", [f"review: {why}"]


def _edit_of(row: Any) -> SectionCopy | None:
    if row is None or not row["title"] or not row["blurb"]:
        return None
    return SectionCopy(title=row["title"], blurb=row["blurb"])


# ---------------------------------------------------------------- reading and acting on reviews


def _review(row: Any) -> CopyReview:
    record = json.loads(row["copy"])
    fallback = bool(record.get("fallback"))
    copy = None if fallback else SectionCopy(title=record["title"], blurb=record["blurb"])
    return CopyReview(
        key=row["key"], model=row["model"], status=row["status"] or "draft", copy=copy, edit=_edit_of(row),
        reviewed_by=row["reviewed_by"], reviewed_at=row["reviewed_at"], created_at=row["created_at"],
        sample=json.loads(row["sample"] or "{}"), facts=facts_from_json(row["facts"]),
        violations=list(record.get("violations", [])) if fallback else [],
    )


_SELECT = ("SELECT c.key, c.model, c.copy, c.created_at, COALESCE(r.status, 'draft') AS status, r.title, r.blurb, "
           "r.reviewed_by, r.reviewed_at, r.sample, r.facts FROM copy_cache c LEFT JOIN copy_review r ON r.key = c.key")


def list_reviews(store: Store, status: str | None = None, limit: int | None = None) -> list[CopyReview]:
    """Every cached copy with its review, newest first; only those in `status` when given."""
    if status is not None and status not in STATUSES:
        raise ReviewError(f"no review status {status!r}: use one of {', '.join(STATUSES)}")
    where, params = (" WHERE COALESCE(r.status, 'draft') = ?", [status]) if status else ("", [])
    tail = " LIMIT ?" if limit is not None else ""
    rows = store.query(f"{_SELECT}{where} ORDER BY c.created_at DESC, c.key{tail}",
                       [*params, *([limit] if limit is not None else [])])  # fmt: skip
    return [_review(row) for row in rows]


def count_reviews(store: Store) -> dict[str, int]:
    """How many cached copies are in each status."""
    rows = store.query("SELECT COALESCE(r.status, 'draft') s, COUNT(*) n FROM copy_cache c "
                       "LEFT JOIN copy_review r ON r.key = c.key GROUP BY s")  # fmt: skip
    counts = dict.fromkeys(STATUSES, 0)
    counts.update({row["s"]: row["n"] for row in rows})
    return counts


def resolve_key(store: Store, prefix: str) -> str:
    """The full cache key that starts with `prefix` (at least MIN_KEY_PREFIX hex digits, as `genpage copy list`
    shows them)."""
    wanted = prefix.strip().lower()
    if not re.fullmatch(rf"[0-9a-f]{{{MIN_KEY_PREFIX},64}}", wanted):
        raise ReviewError(f"{prefix!r} is not a copy key: give its first {MIN_KEY_PREFIX} or more hex digits, as "
                          "`genpage copy list` shows them")
    rows = store.query("SELECT key FROM copy_cache WHERE substr(key, 1, ?) = ? ORDER BY key LIMIT 2",
                       (len(wanted), wanted))  # fmt: skip
    if not rows:
        raise ReviewError(f"no cached copy has the key {prefix!r}: see `genpage copy list`")
    if len(rows) > 1:
        raise ReviewError(f"more than one cached copy starts with {prefix!r}: give more of its key")
    return str(rows[0]["key"])


def get_review(store: Store, key: str) -> CopyReview:
    full = resolve_key(store, key)
    return _review(store.query(f"{_SELECT} WHERE c.key = ?", (full,))[0])


def _edited_copy(found: CopyReview, title: str | None, blurb: str | None, limits: CopyLimits) -> SectionCopy:
    """A person's words for an entry, checked as the model's copy was (EditRejectedError when they fail)."""
    try:
        edit = SectionCopy(title=" ".join((title or "").split()), blurb=" ".join((blurb or "").split()))
    except ValidationError as exc:
        field = ".".join(str(p) for p in exc.errors()[0]["loc"])
        raise ReviewError(f"the edited {field} cannot be used: {exc.errors()[0]['msg']}") from None
    if found.facts is None:
        raise ReviewError(f"copy {found.short_key} was cached before reviews were kept, so its shelf's facts are "
                          "unknown: build a page that shows it (genpage preview), then edit it")
    violations = check_copy(edit, found.facts, limits)
    if violations:
        raise EditRejectedError(found.key, violations)
    return edit


def review(store: Store, key: str, action: str, *, title: str | None = None, blurb: str | None = None,
           by: str | None = None, limits: CopyLimits = DEFAULT_LIMITS) -> CopyReview:
    """Approve, edit or reject the cached copy `key` (or a unique start of it), as `by` (default: the OS user).

    approve: the model's copy goes live (an earlier edit is dropped); edit: `title` and `blurb` go live instead,
    if they pass the guardrails against the shelf's facts (EditRejectedError, nothing saved, when not); reject:
    the shelf shows its fallback copy."""
    if action not in ACTIONS:
        raise ReviewError(f"no review action {action!r}: use one of {', '.join(ACTIONS)}")
    found = get_review(store, key)
    edit: SectionCopy | None = None
    if action == "edit":
        edit = _edited_copy(found, title, blurb, limits)
    elif action == "approve" and found.copy is None:
        raise ReviewError(f"the model's copy for {found.short_key} failed the guardrails "
                          f"({'; '.join(found.violations) or 'no copy'}), so there is none to approve: edit it instead")
    who = (by or "").strip()[:80] or reviewer()
    with store.transaction(data=False) as conn:
        conn.execute("INSERT INTO copy_review (key, status, title, blurb, reviewed_by, reviewed_at) "
                     "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET status = excluded.status, "
                     "title = excluded.title, blurb = excluded.blurb, reviewed_by = excluded.reviewed_by, "
                     "reviewed_at = excluded.reviewed_at",
                     (found.key, ACTIONS[action], edit.title if edit else None, edit.blurb if edit else None,
                      who, _now()))  # fmt: skip
    logger.info("copy %s %s by %s", found.short_key, ACTIONS[action], who)
    return get_review(store, found.key)
