"""The generate stage: section copy for page plans, from any backend, cached, checked, with safe fallbacks.

`generate_copy(plans, backend=..., store=..., config=...)` builds one prompt per section (a pure function of what
the section shows, see `genpage.prompting`), looks each up in the store's copy cache by a hash of the prompt, the
model and the options, sends every uncached section of every plan to the backend in one `generate_batch` call
(duplicates sent once), parses and repairs the JSON, checks it with `genpage.guardrails`, retries the failures
once, and gives any section that still fails deterministic fallback copy from `prompts/fallback.j2`.
"""

from __future__ import annotations

import ast
import hashlib
import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from genpage.backends.base import GenerationOptions, GenerationRequest, GenerationResult, Message, TextModel
from genpage.config import Config
from genpage.guardrails import DEFAULT_LIMITS, CopyLimits, SectionFacts, check_copy
from genpage.prompting import build_prompt, clean_name, section_categories, select_examples, template_module
from genpage.schemas import PagePlan, Section, SectionCopy
from genpage.store import Store

logger = logging.getLogger(__name__)

PREFILL = '{"title": "'
COPY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "minLength": 3, "maxLength": 50},
        "blurb": {"type": "string", "minLength": 10, "maxLength": 200},
    },
    "required": ["title", "blurb"],
    "additionalProperties": False,
}
DEFAULT_OPTIONS = GenerationOptions(max_new_tokens=64, temperature=0.0, repetition_penalty=1.1)
RETRY_OPTIONS = GenerationOptions(max_new_tokens=64, temperature=0.7, top_p=0.9, repetition_penalty=1.1, seed=7)


# ---------------------------------------------------------------- parsing


def _unquote(value: str) -> str:
    value = " ".join(value.replace("\\n", " ").split())
    return value.strip().strip("\"'“”").strip()


def parse_copy(text: str) -> SectionCopy | None:
    """The model's answer as SectionCopy, repairing what small models get wrong: code fences, text around the
    JSON, a missing closing brace, single quotes, trailing commas, or `Title:` / `Blurb:` lines. None if hopeless."""
    body = re.sub(r"```(?:json)?", "", text).strip()
    start = body.find("{")
    data: dict[str, Any] | None = None
    if start >= 0:
        end = body.find("}", start)
        if end >= 0:
            candidate = body[start : end + 1]
        else:  # cut off at a stop string or the token limit: close the open string and the object
            candidate = body[start:].rstrip().rstrip(",")
            candidate += '"}' if candidate.count('"') % 2 else "}"
        candidate = re.sub(r",\s*}", "}", candidate)
        for loader in (json.loads, ast.literal_eval):
            try:
                loaded = loader(candidate)
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                continue
            if isinstance(loaded, dict):
                data = loaded
                break
        if data is None:
            fields = dict(re.findall(r"[\"'](title|blurb|cta)[\"']\s*:\s*[\"']([^\"]*)", candidate))
            data = fields or None
    if data is None:
        fields = dict((k.lower(), v) for k, v in re.findall(r"(?im)^\W*(title|blurb)\W*:\s*(.+)$", body))
        data = fields or None
    if not data or "title" not in data or "blurb" not in data:
        return None
    try:
        return SectionCopy(
            title=_unquote(str(data["title"])).rstrip("."),
            blurb=_unquote(str(data["blurb"])),
            cta=_unquote(str(data["cta"])) if data.get("cta") else None,
        )
    except ValidationError:
        return None


# ---------------------------------------------------------------- fallback


def _short(label: str | None, max_words: int, max_chars: int) -> str:
    if not label:
        return ""
    cleaned = clean_name(label)
    return cleaned if len(cleaned.split()) <= max_words and len(cleaned) <= max_chars else ""


def fallback_copy(section: Section, *, campaign_name: str = "") -> SectionCopy:
    """Safe, deterministic copy from prompts/fallback.j2: the section kind, its anchor and its top category."""
    module = template_module("fallback.j2")
    categories = section_categories(section, limit=1)
    category = _short(categories[0] if categories else "", 3, 30)
    anchor = _short(section.anchor_label, 4, 38)
    if section.kind == "trending" and not category:
        category = _short(section.anchor_label, 3, 30)
    args = (section.kind, anchor, category, _short(campaign_name, 6, 50))
    return SectionCopy(title=str(module.title(*args)).strip(), blurb=str(module.blurb(*args)).strip())


# ---------------------------------------------------------------- requests, keys, facts


def copy_request(
    messages: list[Message], backend: TextModel, options: GenerationOptions = DEFAULT_OPTIONS
) -> GenerationRequest:
    """The request for a section: JSON schema where the backend constrains output, else a `{"title": "` prefill."""
    if backend.supports_json_schema:
        return GenerationRequest(messages=messages, options=options, json_schema=COPY_SCHEMA)
    if backend.supports_prefill:
        stop_options = options.model_copy(update={"stop": ["}"]})
        return GenerationRequest(messages=[*messages, Message(role="assistant", content=PREFILL)], options=stop_options)
    return GenerationRequest(messages=messages, options=options)


def copy_key(request: GenerationRequest, model: str) -> str:
    payload = {
        "messages": [m.model_dump() for m in request.messages],
        "options": request.options.model_dump(),
        "schema": request.json_schema,
        "model": model,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def prompt_interests(section: Section, plan: PagePlan, copy_level: str) -> list[str]:
    """The interests line of the prompt. Segment level: none, since the section's own categories are already on
    its product lines (a repeated category list was pasted into titles). User level: the shopper's interest
    categories, so the copy can speak to them; the prompt, and so the cache key, then differs per interest set."""
    if copy_level == "user":
        return list(plan.interests)
    return []


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
    violations: list[str] = field(default_factory=list)


def _facts(section: Section, plan: PagePlan, examples_text: list[str], config: Config, locale: str) -> SectionFacts:
    others = [item.product.title for s in plan.sections if s.id != section.id for item in s.items]
    campaign = plan.campaign
    return SectionFacts(
        product_names=tuple(clean_name(item.product.title) for item in section.items),
        anchor=clean_name(section.anchor_label) if section.anchor_label else "",
        categories=tuple(item.product.category for item in section.items if item.product.category),
        campaign_text=f"{campaign.name} {campaign.brief}" if campaign is not None else "",
        foreign_texts=tuple(examples_text + others),
        locale=locale,
        banned_words=tuple(config.banned_words),
    )


def section_jobs(plans: list[PagePlan], backend: TextModel, config: Config, limits: CopyLimits) -> list[SectionJob]:
    jobs = []
    for p, plan in enumerate(plans):
        campaign = plan.campaign
        locale = campaign.locale if campaign is not None else config.locale
        for s, section in enumerate(plan.sections):
            examples = select_examples(section)
            messages = build_prompt(
                section,
                interests=prompt_interests(section, plan, config.copy_level),
                campaign=campaign,
                locale=locale,
                limits=limits,
                shop=config.shop_name,
                examples=examples,
            )
            request = copy_request(messages, backend)
            facts = _facts(section, plan, [e.product_text for e in examples], config, locale)
            fallback = fallback_copy(section, campaign_name=campaign.name if campaign is not None else "")
            jobs.append(SectionJob(p, s, copy_key(request, backend.name), request, facts, fallback))
    return jobs


# ---------------------------------------------------------------- the stage


@dataclass
class CopyStats:
    """What one generate_copy call did, for logs and the benchmark."""

    sections: int = 0
    cached: int = 0
    generated: int = 0
    retried: int = 0
    fallback: int = 0
    backend_calls: int = 0
    tokens: int = 0
    model_seconds: float = 0.0
    violations: list[str] = field(default_factory=list)  # every violation caught, including those fixed by a retry


def _judge(result: GenerationResult, job: SectionJob, limits: CopyLimits) -> tuple[SectionCopy | None, list[str]]:
    copy = parse_copy(result.text)
    if copy is None:
        return None, [f"parse: not JSON copy: {result.text[:60]!r}"]
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
    """Copies of `plans` with every section's copy_, copy_source and copy_violations filled."""
    stats = stats if stats is not None else CopyStats()
    jobs = section_jobs(plans, backend, config, limits)
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
        results = _run_batch(backend, [pending[k][0].request for k in keys], stats)
        outcomes = {k: _judge(r, pending[k][0], limits) for k, r in zip(keys, results, strict=True)}
        for _ in range(retries):
            failed = [k for k in keys if outcomes[k][1]]
            if not failed:
                break
            stats.retried += len(failed)
            stats.violations += [v for k in failed for v in outcomes[k][1]]
            retry_requests = [
                pending[k][0].request.model_copy(update={"options": _retry_options(pending[k][0].request)})
                for k in failed
            ]
            for k, result in zip(failed, _run_batch(backend, retry_requests, stats), strict=True):
                copy, violations = _judge(result, pending[k][0], limits)
                if not violations:
                    outcomes[k] = (copy, [])
                else:
                    outcomes[k] = (outcomes[k][0], outcomes[k][1] + [f"retry {v}" for v in violations])
        for key in keys:
            copy, violations = outcomes[key]
            for job in pending[key]:
                _settle(job, copy, violations, backend.name)
            if store is not None:
                store.put_copy(key, backend.name, _cache_record(pending[key][0]))
            stats.generated += 1
    stats.fallback += sum(job.source == "fallback" for job in jobs)
    return _apply(plans, jobs)


def _retry_options(request: GenerationRequest) -> GenerationOptions:
    return RETRY_OPTIONS.model_copy(update={"stop": request.options.stop})


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
    copy = SectionCopy(title=record["title"], blurb=record["blurb"], cta=record.get("cta"))
    violations = check_copy(copy, job.facts, limits)  # settings (banned words) may have changed since
    if violations:
        job.copy, job.source, job.violations = job.fallback, "fallback", violations
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
