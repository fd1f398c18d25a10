"""The generate stage: section copy for page plans, from any backend, cached, checked, with safe fallbacks.

`generate_copy(plans, backend=..., store=..., config=...)` builds one prompt per section (a pure function of what
the section shows, see `genpage.copy.prompts`), looks each up in the store's copy cache by a hash of the prompt, the
model and the options, sends every uncached section of every plan to the backend in one `generate_batch` call
(duplicates sent once; `copy_candidates` answers each: the greedy one and samples), parses and repairs the JSON,
checks every candidate with `genpage.copy.guardrails`, keeps the passing one with the best `copy_score`, asks once
more for sections with no passing candidate (showing the model its answer and the rules it broke), and gives any
section that still fails deterministic fallback copy from `prompts/fallback.j2`. Last, each section's copy is
settled by its review (`genpage.copy.review`: a person's edit, a rejection, `publish = "approved"`).

At copy_level "segment" a section's prompt is its theme (`genpage.copy.prompts.section_theme`) and the kinds of
product it mostly shows (`section_kinds`), so one copy serves every shopper shown that theme; the guardrails also
allow the words the theme's categories use in the catalogue (`theme_vocabulary`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from genpage.backends.base import GenerationOptions, GenerationRequest, GenerationResult, Message, TextModel
from genpage.config import Config
from genpage.copy.guardrails import (
    DEFAULT_LIMITS,
    CopyLimits,
    SectionFacts,
    Violation,
    check_copy,
    copy_score,
    distinctive_stems,
    drop_clause,
    fit_to_limits,
    localise_spelling,
    names_own,
    words_to_avoid,
)
from genpage.copy.prompts import (
    Example,
    build_prompt,
    product_kind,
    section_kinds,
    section_theme,
    select_examples,
    template_module,
    writer_messages,
    writer_shelf,
)
from genpage.copy.review import review_jobs
from genpage.embed.weights import split_adapter
from genpage.plan.themes import kind_key
from genpage.schemas import PagePlan, Section, SectionCopy
from genpage.store import Store
from genpage.text import clean_name, commonest_words

logger = logging.getLogger(__name__)

PREFILL = '{"title": "'
COPY_SCHEMA: dict[str, Any] = {  # the guardrails' length limits (DEFAULT_LIMITS), enforced while decoding
    "type": "object",
    "properties": {
        "title": {"type": "string", "minLength": 3, "maxLength": DEFAULT_LIMITS.title_chars},
        "blurb": {"type": "string", "minLength": 10, "maxLength": DEFAULT_LIMITS.blurb_chars},
    },
    "required": ["title", "blurb"],
    "additionalProperties": False,
}
# 48 tokens hold a 6-word title and a 25-word blurb in JSON; a longer answer would fail the length rule anyway, and
# in a batch the longest answer sets how long everyone waits. The repetition penalty stays: at 1.0 the 1.5B model
# wrote "you have ordered" on trending shelves and "Stationery Station" (bench/copy.py, read side by side).
DEFAULT_OPTIONS = GenerationOptions(max_new_tokens=48, temperature=0.0, repetition_penalty=1.1)
# Under the grammar 48 tokens cut 12 % of answers short (bench/grammar.py, smollm2); 96 cut none, and cost nothing
# for answers that end sooner (the grammar stops a row when its JSON closes).
SCHEMA_MAX_NEW_TOKENS = 96
SAMPLE_OPTIONS = GenerationOptions(max_new_tokens=48, temperature=0.6, top_p=0.9, repetition_penalty=1.1, seed=7)
# Part of every copy cache key: bump it when parsing, repair or the choice between candidates changes, so that
# copy (and fallbacks) cached by an older genpage are written again rather than served.
COPY_PIPELINE_VERSION = 13
GREEDY_BONUS = 0.5  # the greedy answer wins ties: it is the model's most likely copy


# ---------------------------------------------------------------- parsing


def _unquote(value: str) -> str:
    value = " ".join(value.replace("\\n", " ").split())
    return value.strip().strip("\"'“”").strip()


def parse_copy(text: str) -> SectionCopy | None:
    """The model's answer as SectionCopy, or None. Backends that decode under the copy schema's grammar (local,
    llamacpp) give JSON; the one repair left is for an answer cut short: by the token limit, or by the `}` stop of
    the prefill path (backends without a grammar), whose open string and object are closed. The free-text repairs
    (code fences, single quotes, trailing commas, `Title:` lines) went when the grammar made them dead."""
    start = text.find("{")
    if start < 0:
        return None
    body = text[start:]
    try:
        data, _ = json.JSONDecoder().raw_decode(body)  # a "}" inside a string does not end it
    except ValueError:
        candidate = body.rstrip().rstrip(",").removesuffix("\\")  # a dangling escape would swallow the quote
        candidate += '"}' if len(re.findall(r'(?<!\\)"', candidate)) % 2 else "}"  # unescaped quotes only
        try:
            data = json.loads(candidate)
        except ValueError:
            return None
    if not isinstance(data, dict) or "title" not in data or "blurb" not in data:
        return None
    try:
        return SectionCopy(title=_unquote(str(data["title"])).rstrip("."), blurb=_unquote(str(data["blurb"])))
    except ValidationError:
        return None


# ---------------------------------------------------------------- fallback


def _short(label: str | None, max_words: int, max_chars: int) -> str:
    if not label:
        return ""
    cleaned = clean_name(label)
    return cleaned if len(cleaned.split()) <= max_words and len(cleaned) <= max_chars else ""


def fallback_copy(section: Section, *, campaign_name: str = "") -> SectionCopy:
    """Safe, deterministic copy from prompts/fallback.j2: the section kind, its anchor and, on a theme shelf, its
    theme (an intent shelf's products may be mixed: its copy names no category)."""
    module = template_module("fallback.j2")
    themes = section_theme(section)
    category = _short(themes[0] if themes else "", 3, 30)
    anchor = _short(section.anchor_label, 4, 38) if section.kind in ("because_bought", "because_viewed") else ""
    args = (section.kind, anchor, category, _short(campaign_name, 6, 50))
    return SectionCopy(title=str(module.title(*args)).strip(), blurb=str(module.blurb(*args)).strip())


# ---------------------------------------------------------------- requests, keys, facts


def copy_request(
    messages: list[Message], backend: TextModel, options: GenerationOptions = DEFAULT_OPTIONS
) -> GenerationRequest:
    """The request for a section: JSON schema where the backend constrains output, else a `{"title": "` prefill."""
    if backend.supports_json_schema:  # the grammar ends the answer when its JSON closes: room to finish it
        longer = options.model_copy(update={"max_new_tokens": max(options.max_new_tokens, SCHEMA_MAX_NEW_TOKENS)})
        return GenerationRequest(messages=messages, options=longer, json_schema=COPY_SCHEMA)
    if backend.supports_prefill:
        stop_options = options.model_copy(update={"stop": ["}"]})
        return GenerationRequest(messages=[*messages, Message(role="assistant", content=PREFILL)], options=stop_options)
    return GenerationRequest(messages=messages, options=options)


def copy_key(request: GenerationRequest, model: str, precision: str | None = None, candidates: int = 1) -> str:
    """The copy cache key: the prompt, the options, the schema, the model, its precision (int8 writes other
    text than fp32) and how many candidates were weighed."""
    payload: dict[str, Any] = {
        "messages": [m.model_dump() for m in request.messages],
        "options": request.options.model_dump(),
        "schema": request.json_schema,
        "model": model,
        "pipeline": COPY_PIPELINE_VERSION,
    }
    if precision:
        payload["precision"] = precision
    if candidates > 1:
        payload["candidates"] = candidates
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def copy_level_of(plan: PagePlan, config: Config) -> str:
    """The campaign's copy_level when it sets one, else the configured one."""
    if plan.campaign is not None and plan.campaign.copy_level:
        return plan.campaign.copy_level
    return config.copy_level


def prompt_interests(section: Section, plan: PagePlan, copy_level: str) -> list[str]:
    """The interests line of the prompt: the shopper's interest categories at user level (the prompt, and so the
    cache key, then differs per interest set); none at segment level, whose prompt is the section's theme."""
    if copy_level == "user":
        return list(plan.interests)
    return []


ThemeKey = tuple[str, str, tuple[str, ...], str]  # store file, catalogue version, theme label, kind-theme key or ""
_THEME_CACHE_SIZE = 512  # themes kept per cache; all three are emptied when one fills (a new catalogue, mostly)
_THEME_TITLES: dict[ThemeKey, tuple[str, ...]] = {}
_CATALOGUE_TITLES: dict[tuple[str, str], list[tuple[str | None, str]]] = {}  # (store file, catalogue) -> rows
_VOCABULARIES: dict[tuple[ThemeKey, int], tuple[str, ...]] = {}
_THEME_KINDS: dict[tuple[ThemeKey, int], tuple[str, ...]] = {}


def _theme_titles(store: Store, theme: list[str], section: Section) -> tuple[ThemeKey, tuple[str, ...]]:
    """The catalogue titles of a theme, read once per store file, catalogue version and theme, with that key (the
    same in every Store object on the file, and while events come in): a category theme's are its categories'
    titles; a kind theme's ("Hot Water Bottles", planned from titles, not categories) every title of that kind."""
    kind = section.theme.key if section.theme is not None and section.theme.level == "kind" else ""
    key = (str(store.path), store.catalogue_fingerprint(), tuple(theme), kind)
    if key not in _THEME_TITLES:
        if len(_THEME_TITLES) >= _THEME_CACHE_SIZE:
            for cache in (_THEME_TITLES, _VOCABULARIES, _THEME_KINDS):
                cache.clear()
        if _CATALOGUE_TITLES.get(key[:2]) is None:  # one catalogue's rows, read once for all its themes
            _CATALOGUE_TITLES.clear()
            _CATALOGUE_TITLES[key[:2]] = [(category, title) for category, title in
                                          store.query("SELECT category, title FROM products")]  # fmt: skip
        rows = _CATALOGUE_TITLES[key[:2]]
        if kind:
            _THEME_TITLES[key] = tuple(title for _, title in rows if kind_key(product_kind(title)) == kind)
        else:
            wanted = {c.lower() for c in theme}
            named = {category: clean_name(category, max_words=4).lower() for category in {c for c, _ in rows if c}}
            _THEME_TITLES[key] = tuple(title for category, title in rows if category and named[category] in wanted)
    return key, _THEME_TITLES[key]


def theme_kinds(store: Store | None, theme: list[str], section: Section, limit: int = 2) -> tuple[str, ...]:
    """copy_level "theme": the kinds of product (`product_kind`) commonest among the theme's titles in the
    whole catalogue, alphabetical, so every shelf of the theme gets the same prompt. Without a store: the
    section's own kinds."""
    if store is None:
        return section_kinds(section, limit)
    key, titles = _theme_titles(store, theme, section)
    if (key, limit) not in _THEME_KINDS:
        counts = Counter(kind for title in titles if (kind := product_kind(title)))
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        _THEME_KINDS[key, limit] = tuple(sorted(k for k, _ in ranked))
    return _THEME_KINDS[key, limit]


def _vocabulary_of(titles: Sequence[str], limit: int) -> tuple[str, ...]:
    """The commonest distinctive words of a set of titles (at least twice, unless there are few titles)."""
    few = len(titles) < 20
    # ties broken by the word, not by set order: the same facts in every process, whatever the hash seed
    counts = commonest_words(distinctive_stems(title) for title in titles)
    ranked = sorted(counts, key=lambda pair: (-pair[1], pair[0]))[:limit]
    return tuple(w for w, n in ranked if n >= 2 or few)


def theme_vocabulary(store: Store | None, theme: list[str], section: Section, limit: int = 80) -> tuple[str, ...]:
    """The words segment-level copy may use for a theme: the commonest distinctive words of the theme's titles in
    the whole catalogue (`_theme_titles`), so a cached copy is judged the same for every shopper shown the theme.
    Without a store, or where the catalogue has no title of the theme: the section's own words."""
    if store is None or not (found := _theme_titles(store, theme, section))[1]:  # or the catalogue lacks the theme
        return _vocabulary_of([item.product.title for item in section.items], limit)
    key, titles = found
    if (key, limit) not in _VOCABULARIES:
        _VOCABULARIES[key, limit] = _vocabulary_of(titles, limit)
    return _VOCABULARIES[key, limit]


@dataclass
class SectionJob:
    plan_index: int
    section_index: int
    key: str
    request: GenerationRequest
    facts: SectionFacts
    fallback: SectionCopy
    copy: SectionCopy | None = None
    source: str = "pending"
    violations: list[str] = field(default_factory=list)  # as stored in Section.copy_violations: "rule: message"


def _shelf_theme(section: Section) -> tuple[str, ...]:
    """A theme shelf's label and evidence words (`Section.theme`), which the guardrails accept as the section's."""
    theme = getattr(section, "theme", None)
    if theme is None:
        return ()
    return tuple(str(w) for w in (getattr(theme, "label", ""), *(getattr(theme, "words", None) or ())) if w)


def _campaign_text(section: Section, plan: PagePlan) -> str:
    """The campaign's name and brief on the campaign's own shelf, where the prompt shows them; other shelves of a
    campaign page are not told of it (their copy is shared with pages outside it), so their copy may not say it."""
    campaign = plan.campaign
    return f"{campaign.name} {campaign.brief}" if campaign is not None and section.kind == "campaign" else ""


def _facts(section: Section, plan: PagePlan, examples_text: list[str], config: Config, locale: str) -> SectionFacts:
    others = [item.product.title for s in plan.sections if s.id != section.id for item in s.items]
    return SectionFacts(
        product_names=tuple(clean_name(item.product.title) for item in section.items),
        anchor=clean_name(section.anchor_label) if section.anchor_label else "",
        categories=tuple(item.product.category for item in section.items if item.product.category),
        campaign_text=_campaign_text(section, plan),
        theme=_shelf_theme(section),
        foreign_texts=tuple(examples_text + others),
        locale=locale,
        banned_words=tuple(config.banned_words),
        kind=section.kind,
    )


def _example_text(example: Example, section: Section) -> str:
    """The words an example may leak. On a campaign shelf its title and campaign too: they carry another occasion
    ("Gifts to Say Thank You, Mum" in a Christmas campaign); elsewhere its title words ("Playtime Favourites") are
    ordinary shop vocabulary, and counting them rejected good copy."""
    text = f"{example.product_text} {example.category}"
    return f"{text} {example.title} {example.campaign}" if section.kind == "campaign" else text


def _theme_facts(
    section: Section,
    plan: PagePlan,
    examples: list[Example],
    config: Config,
    locale: str,
    vocabulary: tuple[str, ...],
    typical: tuple[str, ...] = (),
    theme: list[str] | None = None,
) -> SectionFacts:
    """Segment-level facts: the same for every shopper shown this prompt, so a cached copy is judged alike for all
    (the anchor of a "because you bought/viewed" shelf, which the prompt names)."""
    theme = section_theme(section) if theme is None else theme
    anchored = section.kind in ("because_bought", "because_viewed") and section.anchor_label
    return SectionFacts(
        anchor=clean_name(section.anchor_label) if anchored and section.anchor_label else "",
        categories=tuple(theme),
        campaign_text=_campaign_text(section, plan),
        theme=_shelf_theme(section),
        foreign_texts=tuple(_example_text(e, section) for e in examples),
        locale=locale,
        banned_words=tuple(config.banned_words),
        vocabulary=vocabulary,
        typical=typical,
        kind=section.kind,
    )


def section_jobs(
    plans: list[PagePlan], backend: TextModel, config: Config, limits: CopyLimits, store: Store | None = None
) -> list[SectionJob]:
    jobs = []
    tuned = split_adapter(backend.name)[1] is not None  # "<base>+<adapter>" (genpage.copy.train)
    model = getattr(backend, "identity", backend.name)  # a tuned writer's names its adapter's weights too
    for p, plan in enumerate(plans):
        campaign = plan.campaign
        locale = campaign.locale if campaign is not None else config.locale
        level = copy_level_of(plan, config)
        for s, section in enumerate(plan.sections):
            themed = level in ("segment", "theme")
            theme = section_theme(section) if themed else None
            typical: tuple[str, ...] = ()
            if level == "segment":
                typical = section_kinds(section)
            elif level == "theme" and theme is not None:
                typical = theme_kinds(store, theme, section)
            if tuned:  # a tuned writer learnt the house style: its short prompt, no rules and no examples
                examples: list[Example] = []
                shelf = writer_shelf(section, campaign=campaign, locale=locale,
                                     kinds=typical or section_kinds(section), theme=theme)  # fmt: skip
                messages = writer_messages(shelf)
            else:
                examples = select_examples(section, copy_level=level)
                messages = build_prompt(
                    section,
                    interests=prompt_interests(section, plan, level),
                    campaign=campaign,
                    locale=locale,
                    limits=limits,
                    shop=config.shop_name,
                    examples=examples,
                    copy_level=level,
                    theme_products=typical,
                    theme=theme,
                )
            if theme is not None:
                vocabulary = theme_vocabulary(store, theme, section)
                facts = _theme_facts(section, plan, examples, config, locale, vocabulary, typical, theme)
            else:
                facts = _facts(section, plan, [e.product_text for e in examples], config, locale)
            # what the checks would reject, kept out while decoding by a backend that can
            options = DEFAULT_OPTIONS.model_copy(update={"avoid": list(words_to_avoid(facts))})
            request = copy_request(messages, backend, options)
            fallback = fallback_copy(section, campaign_name=campaign.name if campaign is not None else "")
            key = copy_key(request, model, getattr(backend, "precision", None), candidates_for(backend, config))
            jobs.append(SectionJob(p, s, key, request, facts, fallback))
    return jobs


# ---------------------------------------------------------------- the stage


@dataclass
class CopyStats:
    """What one generate_copy call did, for logs and the benchmark."""

    sections: int = 0
    cached: int = 0
    generated: int = 0
    retried: int = 0
    repaired: int = 0  # answers mended by dropping the clause that broke a rule (`guardrails.drop_clause`)
    fallback: int = 0
    backend_calls: int = 0
    tokens: int = 0
    model_seconds: float = 0.0
    violations: list[Violation] = field(default_factory=list)  # every one caught, including those a retry fixed


def _judge(result: GenerationResult, job: SectionJob, limits: CopyLimits) -> tuple[SectionCopy | None, list[Violation]]:
    copy = parse_copy(result.text)
    if copy is None:
        return None, [Violation("parse", "", f"not JSON copy: {result.text[:60]!r}")]
    copy = fit_to_limits(localise_spelling(copy, job.facts.locale), limits)
    return copy, check_copy(copy, job.facts, limits)


def _run_batch(backend: TextModel, requests: list[GenerationRequest], stats: CopyStats) -> list[GenerationResult]:
    start = time.perf_counter()
    results = backend.generate_batch(requests)
    stats.backend_calls += 1
    stats.model_seconds += time.perf_counter() - start
    stats.tokens += sum(r.tokens_generated for r in results)
    return results


def generate_copy(
    plans: list[PagePlan],
    *,
    backend: TextModel,
    store: Store | None,
    config: Config,
    limits: CopyLimits = DEFAULT_LIMITS,
    retries: int = 1,
    stats: CopyStats | None = None,
) -> list[PagePlan]:
    """Copies of `plans` with every section's copy_, copy_source and copy_violations filled.

    Each distinct uncached section is asked for `config.copy_candidates` candidates in one batched call (the
    greedy answer and samples); the candidate that passes every guardrail with the best `copy_score` wins. A
    section whose candidates all fail is asked again once (`retries`), shown its failed answer and the rules it
    broke (`retry_request`, `copy_candidates` answers again), then gets fallback copy.
    """
    stats = stats if stats is not None else CopyStats()
    jobs = section_jobs(plans, backend, config, limits, store)
    stats.sections += len(jobs)
    pending: dict[str, list[SectionJob]] = {}
    for job in jobs:
        cached = store.get_copy(job.key) if store is not None else None
        if cached is not None:
            _use_cached(job, cached, backend.name, limits)
            stats.cached += 1
        else:
            pending.setdefault(job.key, []).append(job)
    if pending:
        keys = list(pending)
        candidates = candidates_for(backend, config)
        outcomes = _best_candidates(backend, {k: pending[k][0] for k in keys}, candidates, limits, stats, round_=0)
        caught = {k: [str(v) for v in outcomes[k][1]] for k in keys}  # what is stored with a fallback
        for round_ in range(1, retries + 1):
            failed = {k: (outcomes[k][2], outcomes[k][1]) for k in keys if outcomes[k][1]}
            if not failed:
                break
            stats.retried += len(failed)
            # as many answers as the first round: two extra sampled rows in a retry changed 2 of 54 sections on
            # bench/copy.py (neither publishable either way) and cost a page with a retry ~3.5 s on 2 cores
            again = _best_candidates(backend, {k: pending[k][0] for k in failed}, candidates, limits, stats,
                                     round_=round_, failed=failed)  # fmt: skip
            for k in failed:
                copy, violations, text = again[k]
                outcomes[k] = (copy, [], "") if not violations else (outcomes[k][0], violations, text)
                caught[k] = [] if not violations else caught[k] + [f"retry {v}" for v in violations]
        for key in keys:
            copy, _, _ = outcomes[key]
            for job in pending[key]:
                _settle(job, copy, caught[key], backend.name)
            if store is not None:
                store.put_copy(key, backend.name, _cache_record(pending[key][0]))
            stats.generated += 1
    review_jobs(plans, jobs, store, config.publish, limits)  # edits, rejections, publish = "approved"
    stats.fallback += sum(job.source == "fallback" for job in jobs)
    return _apply(plans, jobs)


def candidates_for(backend: TextModel, config: Config) -> int:
    """Answers weighed per section: `copy_candidates`, or one from a model that does not sample."""
    return config.copy_candidates if backend.supports_sampling else 1


def retry_request(request: GenerationRequest, answer: str, violations: Sequence[Violation]) -> GenerationRequest:
    """The request again, with the failed answer and what it broke (`retry` in prompts/section_copy.j2) appended,
    so the model corrects it rather than rolling the dice again; greedy; the violations' spans (the words that
    broke a rule: "necklaces", "good cause") join the request's `avoid`. The request's start is unchanged, so a
    prefix cache still covers it."""
    messages = list(request.messages)
    prefill = messages.pop() if request.prefill else None
    spans = {v.span for v in violations if 3 <= len(v.span) <= 40}
    options = request.options.model_copy(update={"avoid": sorted({*request.options.avoid, *spans})})
    feedback = str(template_module("section_copy.j2").retry(violations)).strip()
    messages += [Message(role="assistant", content=answer.strip() or "{}"), Message(role="user", content=feedback)]
    if prefill is not None:
        messages.append(prefill)
    return request.model_copy(update={"messages": messages, "options": options})


def _best_candidates(
    backend: TextModel,
    jobs: dict[str, SectionJob],
    candidates: int,
    limits: CopyLimits,
    stats: CopyStats,
    round_: int,
    failed: dict[str, tuple[str, list[Violation]]] | None = None,
) -> dict[str, tuple[SectionCopy | None, list[Violation], str]]:
    """Ask for `candidates` answers per job in one batch (the greedy answer first, then samples; in a retry round
    each job's request carries its failed answer and violations, `failed`) and keep, per job, the passing
    candidate with the best score, or the greedy answer's violations and text when none passes. Every caught
    violation is counted in `stats`."""
    requests, owners = [], []
    for key, job in jobs.items():
        request = job.request
        if failed and key in failed:
            request = retry_request(request, *failed[key])
        for n in range(candidates):
            greedy = n == 0
            requests.append(request if greedy else request.model_copy(
                update={"options": _sample_options(request, round_)}))  # fmt: skip
            owners.append((key, greedy))
    results = _run_batch(backend, requests, stats)
    judged: dict[str, list[tuple[float, SectionCopy]]] = {key: [] for key in jobs}
    first: dict[str, tuple[list[Violation], str]] = {}
    for (key, greedy), result in zip(owners, results, strict=True):
        copy, violations = _judge(result, jobs[key], limits)
        facts = jobs[key].facts
        repaired = drop_clause(copy, violations) if copy is not None and violations else None
        # kept only when it passes and still names something of the section ("We've got everything you'll need"
        # was all that was left of one blurb)
        if repaired is not None and not check_copy(repaired, facts, limits) and names_own(repaired.blurb, facts):
            stats.violations += violations  # caught, and mended without asking the model again
            stats.repaired += 1
            copy, violations = repaired, []
        if violations or copy is None:
            stats.violations += violations
            first.setdefault(key, (violations, result.text))
            continue
        judged[key].append((copy_score(copy, jobs[key].facts) + (GREEDY_BONUS if greedy else 0.0), copy))
    best: dict[str, tuple[SectionCopy | None, list[Violation], str]] = {}
    for key in jobs:
        if judged[key]:
            _, copy = max(judged[key], key=lambda entry: entry[0])
            best[key] = (copy, [], "")
        else:
            violations, text = first.get(key, ([Violation("parse", "", "no candidate")], ""))
            best[key] = (None, violations, text)
    return best


def _sample_options(request: GenerationRequest, round_: int) -> GenerationOptions:
    """The sampling options for a request's extra candidates: its stop strings and words kept."""
    kept = request.options.model_dump(include={"stop", "avoid"})
    return SAMPLE_OPTIONS.model_copy(update={**kept, "seed": (SAMPLE_OPTIONS.seed or 0) + round_})


def _settle(job: SectionJob, copy: SectionCopy | None, violations: list[str], model: str) -> None:
    if copy is not None and not violations:
        job.copy, job.source, job.violations = copy, model, []
    else:
        job.copy, job.source, job.violations = job.fallback, "fallback", list(violations)


def _cache_record(job: SectionJob) -> dict[str, Any]:
    assert job.copy is not None
    return {**job.copy.model_dump(), "fallback": job.source == "fallback", "violations": job.violations}


def _use_cached(job: SectionJob, cached: dict[str, Any], model: str, limits: CopyLimits) -> None:
    record = cached["copy"]
    if record.get("fallback"):
        job.copy, job.source, job.violations = job.fallback, "fallback", list(record.get("violations", []))
        return
    copy = SectionCopy(title=record["title"], blurb=record["blurb"])
    violations = check_copy(copy, job.facts, limits)  # settings (banned words) may have changed since
    if violations:
        job.copy, job.source, job.violations = job.fallback, "fallback", [str(v) for v in violations]
    else:
        job.copy, job.source, job.violations = copy, f"cache:{cached.get('model') or model}", []


def _apply(plans: list[PagePlan], jobs: list[SectionJob]) -> list[PagePlan]:
    updated = [plan.model_copy(deep=True) for plan in plans]
    for job in jobs:
        section = updated[job.plan_index].sections[job.section_index]
        section.copy_ = job.copy
        section.copy_source = job.source
        section.copy_violations = job.violations
    return updated
