"""The seller's web app: a page and a JSON API over the IPL listing pipeline.

The seller uploads photos, sees the predicted attributes (editable), gets a draft with its
style references and the claims the verifier removed, edits it and publishes; published
listings go into a database through :mod:`shopml.serve.storage`. The JSON API mirrors the
page (``/api/attributes``, ``/api/drafts``, ``/api/listings``; schema at ``/openapi.json``).

Every bad input gets a clear message and its HTTP status (see :mod:`shopml.serve.errors` and
:mod:`shopml.serve.uploads`): 413 too large / too many, 415 not an image, 422 corrupt image or
empty / absurd fields, 503 backend down, 504 backend too slow. The page is rendered by Jinja2
with autoescaping and its script writes generated text with ``textContent`` only, so neither
user nor generated text can inject markup.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel

from shopml.serve.errors import STATUS_BY_ERROR, ApiError, status_for
from shopml.serve.storage import (
    DESCRIPTION_MAX,
    SHORT_FIELD_MAX,
    TITLE_MAX,
    ListingStore,
    NewListing,
)
from shopml.serve.uploads import read_photos

log = logging.getLogger("shopml.serve")
HERE = Path(__file__).parent
MAX_PRICE = 1_000_000.0
"""Highest price the app accepts (anything above is taken as a typo)."""
NOTES_MAX = 500


@dataclass
class ServeSettings:
    """How the app runs: where it stores listings, which backends it offers, its limits."""

    db_url: str = "sqlite:///shopml-serve/listings.db"
    photo_dir: Path = Path("shopml-serve/photos")
    backends: tuple[str, ...] = ("template",)
    backend_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    max_files: int = 8
    max_photo_bytes: int = 10 * 1024 * 1024
    k: int = 3
    retrieve: bool = True
    verify: bool = True

    @property
    def max_body_bytes(self) -> int:
        """Largest request body accepted before parsing (all photos plus 64 KiB of fields)."""
        return self.max_files * self.max_photo_bytes + 64 * 1024


# ---------------------------------------------------------------------------- response models
class AttributeOut(BaseModel):
    """One predicted attribute: the label, its probability and the top alternatives."""

    label: str
    probability: float
    top: list[tuple[str, float]]


class PhotoAttributesOut(BaseModel):
    """The attributes predicted for one photo."""

    name: str
    attributes: dict[str, AttributeOut]


class AttributesOut(BaseModel):
    """Per-photo predictions and one merged label per attribute (highest summed probability)."""

    photos: list[PhotoAttributesOut]
    merged: dict[str, AttributeOut]


class ReferenceOut(BaseModel):
    """A retrieved past listing used as a style reference."""

    item_id: str
    source: str
    title: str
    description: str
    score: float


class ClaimOut(BaseModel):
    """A claim the verifier removed from the draft because the facts do not support it."""

    kind: str
    text: str
    value: str


class DraftOut(BaseModel):
    """A generated draft with what it was built from."""

    attributes: dict[str, AttributeOut]
    facts: dict[str, str]
    references: list[ReferenceOut]
    text: str
    removed_claims: list[ClaimOut]
    backend: str
    latency_s: float
    suggested_title: str


class ListingOut(BaseModel):
    """A published listing."""

    id: int
    title: str
    description: str
    price: float
    currency: str | None
    brand: str | None
    condition: str | None
    size: str | None
    material: str | None
    attributes: dict[str, str]
    backend: str | None
    created_at: str
    photos: list[str]


class ListingsOut(BaseModel):
    """A page of published listings, newest first."""

    total: int
    listings: list[ListingOut]


class ErrorOut(BaseModel):
    """What every error response carries: a message naming what is wrong."""

    detail: str


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text}
    for status, text in [
        (413, "too many photos, or a photo over the size limit"),
        (415, "an upload is not an image"),
        (422, "corrupt image, or empty / absurd field values"),
        (503, "the generation backend is down"),
        (504, "the generation backend did not answer in time"),
    ]
}


# ---------------------------------------------------------------------------- services
class ListingServices:
    """The models behind the app, loaded once on first use and shared across requests."""

    def __init__(
        self,
        settings: ServeSettings,
        predictor: Any = None,
        retriever: Any = None,
        backend_factory: Callable[..., Any] | None = None,
    ) -> None:
        self.settings = settings
        self._predictor = predictor
        self._retriever = retriever
        self._backend_factory = backend_factory
        self._backends: dict[str, Any] = {}
        self._load_lock = threading.Lock()
        self.run_lock = threading.Lock()  # the models run one request at a time

    def predictor(self) -> Any:
        """The attribute predictor (the package's default artifact unless one was given)."""
        with self._load_lock:
            if self._predictor is None:
                from shopml.listing.attributes import AttributePredictor

                self._predictor = AttributePredictor.load()
            return self._predictor

    def retriever(self) -> Any:
        """The style retriever, or None when retrieval is switched off."""
        if not self.settings.retrieve:
            return None
        with self._load_lock:
            if self._retriever is None:
                from shopml.listing.retrieval import StyleRetriever

                self._retriever = StyleRetriever.default()
            return self._retriever

    def backend(self, name: str) -> Any:
        """The generation backend `name` (built once with the configured options)."""
        if name not in self.settings.backends:
            offered = ", ".join(self.settings.backends)
            raise ApiError(422, f"unknown backend {name!r}; this server offers: {offered}")
        with self._load_lock:
            if name not in self._backends:
                factory = self._backend_factory
                if factory is None:
                    from shopml.llm import get_backend as factory
                options = self.settings.backend_options.get(name, {})
                self._backends[name] = factory(name, **options)
            return self._backends[name]

    def warm_up(self) -> None:
        """Load the predictor, the retriever and the default backend now (before serving)."""
        self.predictor()
        self.retriever()
        self.backend(self.settings.backends[0])


# ---------------------------------------------------------------------------- field checks
def _clean(value: str | None) -> str | None:
    """A stripped form value, None if empty."""
    if value is None:
        return None
    value = value.strip()
    return value or None


def _check_length(name: str, value: str | None, limit: int) -> None:
    """ApiError(422) if `value` is longer than `limit` characters."""
    if value is not None and len(value) > limit:
        raise ApiError(422, f"{name} is too long ({len(value)} characters; at most {limit})")


def check_price(price: float | None, required: bool) -> float | None:
    """The price if it is a finite, non-negative, plausible amount; ApiError(422) otherwise."""
    if price is None:
        if required:
            raise ApiError(422, "price is required to publish a listing")
        return None
    if not math.isfinite(price) or price < 0:
        raise ApiError(422, f"price must be a finite amount of 0 or more, got {price}")
    if price > MAX_PRICE:
        raise ApiError(422, f"price {price:,.2f} is absurd (at most {MAX_PRICE:,.0f})")
    return round(float(price), 2)


def parse_attributes(text: str | None) -> dict[str, str]:
    """Attribute values from a JSON object string; empty values mean 'no override'."""
    if text is None or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApiError(422, f"attributes must be a JSON object: {exc.msg} at char {exc.pos}") from exc
    if not isinstance(value, dict):
        raise ApiError(422, f"attributes must be a JSON object, got {type(value).__name__}")
    known = _attribute_names()
    result = {}
    for key, item in value.items():
        if known is not None and key not in known:
            raise ApiError(422, f"unknown attribute {key!r}; known: {', '.join(known)}")
        if item is None:
            continue
        if not isinstance(item, str):
            raise ApiError(422, f"attribute {key!r} must be a string, got {type(item).__name__}")
        item = item.strip()
        _check_length(f"attribute {key!r}", item, SHORT_FIELD_MAX)
        if item:
            result[key] = item
    return result


def _condition_words() -> list[str]:
    """The condition labels the seller form accepts (empty if that package is missing)."""
    try:
        from shopml.listing.facts import CONDITIONS
    except ImportError:
        return []
    return list(CONDITIONS)


def _attribute_names() -> list[str] | None:
    """The attribute names the predictor knows, or None if that package is missing."""
    try:
        from shopml.listing.attributes import ATTRIBUTES
    except ImportError:
        return None
    return list(ATTRIBUTES)


def seller_form(
    *,
    brand: str | None,
    condition: str | None,
    price: float | None,
    size: str | None,
    material: str | None,
    notes: str | None,
    title: str | None,
    price_required: bool,
    currency: str | None = None,
) -> Any:
    """A validated SellerForm (the pipeline's own checks plus the app's limits)."""
    from shopml.listing.facts import SellerForm

    values = {
        "brand": _clean(brand),
        "condition": _clean(condition),
        "size": _clean(size),
        "material": _clean(material),
        "notes": _clean(notes),
        "title": _clean(title),
        "currency": _clean(currency),
    }
    for name in ("brand", "condition", "size", "material"):
        _check_length(name, values[name], SHORT_FIELD_MAX)
    _check_length("notes", values["notes"], NOTES_MAX)
    _check_length("title", values["title"], TITLE_MAX)
    return SellerForm(price=check_price(price, price_required), **values)


def suggest_title(form: Any, facts: dict[str, str]) -> str:
    """A short title: the seller's own, else brand + colour + category from the facts."""
    if getattr(form, "title", None):
        return str(form.title)[:TITLE_MAX]
    title = " ".join(facts[key] for key in ("brand", "colour", "category") if facts.get(key))
    return (title or "Item for sale")[:TITLE_MAX]


# ---------------------------------------------------------------------------- conversions
def _attribute_out(prediction: Any) -> AttributeOut:
    """AttributeOut from an AttributePrediction."""
    return AttributeOut(
        label=str(prediction.label),
        probability=float(prediction.probability),
        top=[(str(label), float(p)) for label, p in prediction.top],
    )


def merge_predictions(per_photo: list[dict[str, Any]]) -> dict[str, AttributeOut]:
    """One prediction per attribute over several photos (the pipeline's own combination)."""
    from shopml.listing.pipeline import combine_predictions

    return {name: _attribute_out(p) for name, p in combine_predictions(per_photo).items()}


def _text(value: Any) -> str:
    """A value as text; missing values (None, NaN, pandas NA) as ''."""
    if value is None:
        return ""
    try:
        if value != value or str(value) == "<NA>":  # NaN, pandas NA
            return ""
    except TypeError:  # pandas NA refuses comparison
        return ""
    return str(value)


def draft_out(draft: Any, form: Any) -> DraftOut:
    """DraftOut from the pipeline's Draft."""
    facts = {str(k): str(v) for k, v in draft.facts.items()}
    return DraftOut(
        attributes={name: _attribute_out(p) for name, p in draft.attributes.items()},
        facts=facts,
        references=[
            ReferenceOut(
                item_id=_text(r.item_id),
                source=_text(r.source),
                title=_text(r.title),
                description=_text(r.description),
                score=float(r.score),
            )
            for r in draft.references
        ],
        text=draft.text,
        removed_claims=[
            ClaimOut(kind=str(c.kind), text=str(c.text), value=str(c.value))
            for c in draft.removed_claims
        ],
        backend=str(draft.backend),
        latency_s=float(draft.latency_s),
        suggested_title=suggest_title(form, facts),
    )


# ---------------------------------------------------------------------------- the app
def create_app(
    settings: ServeSettings | None = None,
    *,
    predictor: Any = None,
    retriever: Any = None,
    backend_factory: Callable[..., Any] | None = None,
) -> FastAPI:
    """The FastAPI app; models may be given (tests) or are loaded on first use."""
    settings = settings or ServeSettings()
    store = ListingStore(settings.db_url, settings.photo_dir)
    services = ListingServices(settings, predictor, retriever, backend_factory)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        store.close()

    app = FastAPI(
        title="shopml listing assistant",
        version="0.1.0",
        summary="Photos -> attributes -> style references -> a verified listing draft.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.services = services
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.middleware("http")
    async def limit_body(request: Request, call_next):
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > settings.max_body_bytes:
            return JSONResponse(
                {
                    "detail": f"request body too large ({int(length):,} bytes; at most "
                    f"{settings.max_body_bytes:,}: {settings.max_files} photos of "
                    f"{settings.max_photo_bytes:,} bytes)"
                },
                status_code=413,
            )
        return await call_next(request)

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, error: ApiError) -> JSONResponse:
        return JSONResponse({"detail": error.message}, status_code=error.status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = []
        for item in error.errors():
            where = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
            problems.append(f"{where}: {item.get('msg', 'invalid')}")
        return JSONResponse({"detail": "; ".join(problems)}, status_code=422)

    async def pipeline_error(_request: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=status_for(error) or 500)

    for error_type, _status in STATUS_BY_ERROR:
        app.add_exception_handler(error_type, pipeline_error)

    # -------------------------------------------------------------------- page
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def seller_page(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(
            request,
            "index.html",
            {
                "listings": store.list(limit=50),
                "total": store.count(),
                "backends": settings.backends,
                "attributes": _attribute_names() or [],
                "conditions": _condition_words(),
                "max_files": settings.max_files,
                "max_photo_mb": settings.max_photo_bytes / (1024 * 1024),
            },
        )

    @app.get("/listings/{listing_id}", response_class=HTMLResponse, include_in_schema=False)
    def listing_page(request: Request, listing_id: int) -> HTMLResponse:
        listing = store.get(listing_id)
        if listing is None:
            return templates.TemplateResponse(
                request, "missing.html", {"listing_id": listing_id}, status_code=404
            )
        return templates.TemplateResponse(request, "listing.html", {"listing": listing})

    @app.get("/photos/{file_name}", include_in_schema=False)
    def photo(file_name: str) -> FileResponse:
        path = store.photo_file(file_name)
        if path is None:
            raise ApiError(404, f"no stored photo named {file_name!r}")
        return FileResponse(path)

    @app.get("/healthz", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    # -------------------------------------------------------------------- API
    @app.post("/api/attributes", response_model=AttributesOut, responses=ERROR_RESPONSES)
    def predict_attributes(
        photos: Annotated[list[UploadFile] | None, File(description="1 or more photos")] = None,
    ) -> AttributesOut:
        """Predict the attributes (category, article type, colour, ...) of uploaded photos."""
        checked = read_photos(photos, settings.max_files, settings.max_photo_bytes)
        predictor = services.predictor()
        with services.run_lock:
            predictions = predictor.predict([p.data for p in checked])
        return AttributesOut(
            photos=[
                PhotoAttributesOut(
                    name=p.name,
                    attributes={name: _attribute_out(a) for name, a in prediction.items()},
                )
                for p, prediction in zip(checked, predictions, strict=True)
            ],
            merged=merge_predictions(predictions),
        )

    @app.post("/api/drafts", response_model=DraftOut, responses=ERROR_RESPONSES)
    def make_draft(
        photos: Annotated[list[UploadFile] | None, File(description="1 or more photos")] = None,
        brand: Annotated[str | None, Form()] = None,
        condition: Annotated[str | None, Form()] = None,
        price: Annotated[float | None, Form()] = None,
        size: Annotated[str | None, Form()] = None,
        material: Annotated[str | None, Form()] = None,
        notes: Annotated[str | None, Form()] = None,
        title: Annotated[str | None, Form()] = None,
        currency: Annotated[str | None, Form(description="USD, EUR, $, ...")] = None,
        attributes: Annotated[
            str | None,
            Form(description='attribute overrides as a JSON object, e.g. {"baseColour": "Red"}'),
        ] = None,
        backend: Annotated[str | None, Form(description="generation backend")] = None,
    ) -> DraftOut:
        """Draft a listing from photos, the seller's form and (edited) attributes."""
        from shopml.listing.pipeline import draft_listing

        checked = read_photos(photos, settings.max_files, settings.max_photo_bytes)
        form = seller_form(
            brand=brand,
            condition=condition,
            price=price,
            size=size,
            material=material,
            notes=notes,
            title=title,
            price_required=False,
            currency=currency,
        )
        overrides = parse_attributes(attributes)
        generator = services.backend(_clean(backend) or settings.backends[0])
        predictor = services.predictor()
        retriever = services.retriever()
        with services.run_lock:
            draft = draft_listing(
                [p.data for p in checked],
                form,
                backend=generator,
                k=settings.k,
                retrieve=retriever is not None,
                verify=settings.verify,
                attribute_overrides=overrides or None,
                predictor=predictor,
                retriever=retriever,
            )
        return draft_out(draft, form)

    @app.post(
        "/api/listings",
        response_model=ListingOut,
        status_code=201,
        responses=ERROR_RESPONSES,
    )
    def publish(
        title: Annotated[str | None, Form()] = None,
        description: Annotated[str | None, Form()] = None,
        price: Annotated[float | None, Form()] = None,
        photos: Annotated[list[UploadFile] | None, File(description="1 or more photos")] = None,
        currency: Annotated[str | None, Form(description="USD, EUR, $, ...")] = None,
        brand: Annotated[str | None, Form()] = None,
        condition: Annotated[str | None, Form()] = None,
        size: Annotated[str | None, Form()] = None,
        material: Annotated[str | None, Form()] = None,
        attributes: Annotated[str | None, Form(description="attributes as a JSON object")] = None,
        backend: Annotated[str | None, Form(description="backend that wrote the draft")] = None,
    ) -> ListingOut:
        """Publish a listing (validated; stored in one transaction with its photos)."""
        title_text = _clean(title)
        description_text = _clean(description)
        if title_text is None:
            raise ApiError(422, "title is empty")
        if description_text is None:
            raise ApiError(422, "description is empty")
        _check_length("title", title_text, TITLE_MAX)
        _check_length("description", description_text, DESCRIPTION_MAX)
        form = seller_form(
            brand=brand,
            condition=condition,
            price=price,
            size=size,
            material=material,
            notes=None,
            title=title_text,
            price_required=True,
            currency=currency,
        )
        attribute_values = parse_attributes(attributes)
        backend_name = _clean(backend)
        _check_length("backend", backend_name, SHORT_FIELD_MAX)
        checked = read_photos(photos, settings.max_files, settings.max_photo_bytes)
        listing = store.publish(
            NewListing(
                title=title_text,
                description=description_text,
                price=float(form.price),
                currency=form.currency,
                brand=form.brand,
                condition=form.condition,
                size=form.size,
                material=form.material,
                attributes=attribute_values,
                backend=backend_name,
            ),
            [p.data for p in checked],
        )
        return ListingOut(**listing.to_json())

    @app.get("/api/listings", response_model=ListingsOut)
    def list_listings(
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> ListingsOut:
        """Published listings, newest first."""
        return ListingsOut(
            total=store.count(),
            listings=[ListingOut(**item.to_json()) for item in store.list(limit, offset)],
        )

    @app.get("/api/listings/{listing_id}", response_model=ListingOut, responses={404: {"model": ErrorOut}})
    def get_listing(listing_id: int) -> ListingOut:
        """One published listing."""
        listing = store.get(listing_id)
        if listing is None:
            raise ApiError(404, f"no listing with id {listing_id}")
        return ListingOut(**listing.to_json())

    return app
