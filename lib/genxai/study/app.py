"""The study web app (Starlette ASGI): consent -> classification study -> verbal study -> thanks.

Pages are plain HTML/JS/CSS from this package (no CDN, no inline script: the Content-Security-Policy
allows only this server).  The JSON API:

=======================  =====================  =====================================================
``POST /api/participants``  ``{"consent": true}``  a new anonymous participant: id + signed token
``GET  /api/state``         participant token      their questions in their order, what they answered
``POST /api/answers``       participant token      ``{"question", "answer", "elapsed_ms"?}``: committed
                                                   before the reply; the same answer again is a no-op
``POST /api/complete``      participant token      marks the visit complete once all are answered
``GET  /api/admin/summary`` admin token            counts per question, participants, completion
``GET  /api/admin/export.csv`` admin token         every answer (see :mod:`genxai.study.export`)
=======================  =====================  =====================================================

Tokens travel as ``Authorization: Bearer <token>``.  Every bad request gets a 4xx with
``{"error": "<what is wrong and what to do>"}`` and writes nothing.
"""

from __future__ import annotations

import html
import json
import math
import secrets
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from . import tokens
from .items import Question, Spec, build_questions, load_spec, participant_plan
from .storage import AnswerConflict, StudyDB

#: Largest request body accepted (an answer is a few hundred bytes).
MAX_BODY = 4096
#: Longest free-text answer (the task asks for 1-4 words).
MAX_TEXT = 120
MAX_ELAPSED_MS = 24 * 3600 * 1000
#: For the time estimate on the consent page.
SECONDS_PER_QUESTION = 40

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self'; script-src 'self'; style-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class HTTPError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _static_dir() -> Path:
    return Path(str(resources.files("genxai.study").joinpath("static")))


def _pages_dir() -> Path:
    return Path(str(resources.files("genxai.study").joinpath("pages")))


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=SECURITY_HEADERS)


def _json(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers=SECURITY_HEADERS)


class StudyApp:
    """The study's state (items, questions, database) and its request handlers."""

    def __init__(self, spec: Spec, db: StudyDB, admin_token: str):
        self.spec, self.db, self.admin_token = spec, db, admin_token
        questions = build_questions(spec)
        db.init(questions, spec.digest)
        self.questions: dict[str, Question] = {q.id: q for q in db.questions()}
        self.secret = db.secret()
        self.pages = {name: self._page(name) for name in ("consent", "study", "thanks")}

    def _page(self, name: str) -> str:
        text = (_pages_dir() / f"{name}.html").read_text(encoding="utf-8")
        n_cls = sum(q.kind == "classification" for q in self.questions.values())
        n_verbal = sum(q.kind == "verbal" for q in self.questions.values())
        # The only values put into the HTML; the title comes from the spec, so it is escaped.
        return (
            text.replace("{{TITLE}}", html.escape(self.spec.title))
            .replace("{{N_CLASSIFICATION}}", str(n_cls))
            .replace("{{N_VERBAL}}", str(n_verbal))
            .replace("{{STUDY}}", self.spec.digest[:16])
            .replace("{{MINUTES}}", str(max(2, math.ceil(len(self.questions) * SECONDS_PER_QUESTION / 60))))
        )

    # ------------------------------------------------------------------ request helpers
    async def _body(self, request: Request) -> dict[str, Any]:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise HTTPError(415, f"send JSON with Content-Type: application/json (got {ctype or 'none'!r})")
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            raise HTTPError(413, f"request body too large: at most {MAX_BODY} bytes")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                raise HTTPError(413, f"request body too large: at most {MAX_BODY} bytes")
        try:
            data = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise HTTPError(400, f"the body is not valid JSON ({err})") from err
        if not isinstance(data, dict):
            raise HTTPError(422, "the body must be a JSON object")
        return data

    def _participant(self, request: Request) -> str:
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise HTTPError(
                401,
                "missing participant token: send Authorization: Bearer <token> "
                "(the token given by POST /api/participants)",
            )
        pid = tokens.verify(token.strip(), self.secret)
        if pid is None:
            raise HTTPError(403, "invalid participant token: start again from the consent page")
        if self.db.participant(pid) is None:
            raise HTTPError(
                403, "unknown participant (this study's database has no such id): start again from the consent page"
            )
        return pid

    def _admin(self, request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not tokens.admin_ok(token.strip(), self.admin_token):
            raise HTTPError(
                403, "admin token required: send Authorization: Bearer <admin token> (printed when the server started)"
            )

    def _validate(self, data: dict[str, Any]) -> tuple[Question, Any, int | None]:
        unknown = set(data) - {"question", "answer", "elapsed_ms"}
        if unknown:
            raise HTTPError(422, f"unknown field(s) {sorted(unknown)}; send question, answer and elapsed_ms")
        qid = data.get("question")
        if not isinstance(qid, str):
            raise HTTPError(422, "'question' must be a question id (a string)")
        question = self.questions.get(qid)
        if question is None:
            raise HTTPError(404, f"unknown question {qid[:40]!r}")
        answer = data.get("answer")
        if question.kind == "classification":
            if not isinstance(answer, str) or answer not in question.attributes:
                raise HTTPError(422, f"question {qid} takes one of the attribute ids {list(question.attributes)}")
        else:
            if not isinstance(answer, str):
                raise HTTPError(422, f"question {qid} takes a text answer (a string)")
            answer = " ".join(answer.split())  # one space between words, none around
            if not answer:
                raise HTTPError(422, f"question {qid}: the description is empty; describe the change in 1-4 words")
            if len(answer) > MAX_TEXT:
                raise HTTPError(
                    422, f"question {qid}: the description is longer than {MAX_TEXT} characters; use 1-4 words"
                )
        elapsed = data.get("elapsed_ms")
        if elapsed is not None and (
            not isinstance(elapsed, int) or isinstance(elapsed, bool) or not 0 <= elapsed <= MAX_ELAPSED_MS
        ):
            raise HTTPError(422, f"'elapsed_ms' must be an integer from 0 to {MAX_ELAPSED_MS}")
        return question, answer, elapsed

    def _question_payload(self, entry: dict[str, Any]) -> dict[str, Any]:
        q = self.questions[entry["question"]]
        if q.kind == "verbal":
            return {"id": q.id, "kind": q.kind, "animations": [f"/gif/{i}" for i in entry["animations"]]}
        order = list(q.attributes)[::-1] if entry["swap"] else list(q.attributes)
        return {
            "id": q.id,
            "kind": q.kind,
            "query": f"/gif/{q.query}",
            "options": [
                {"attribute": a, "label": label, "examples": [f"/gif/{i}" for i in entry["examples"][a]]}
                for a, label in zip(order, ("A", "B"))
            ],
        }

    # ------------------------------------------------------------------ endpoints
    async def page(self, request: Request) -> Response:
        name = request.scope["route"].name
        return HTMLResponse(self.pages[name], headers=SECURITY_HEADERS)

    async def gif(self, request: Request) -> Response:
        item_id = request.path_params["item"]
        if item_id not in self.spec.items:
            return _error(404, f"no animation {item_id[:40]!r} in this study")
        return FileResponse(
            self.spec.gif_path(item_id),
            media_type="image/gif",
            headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
        )

    async def new_participant(self, request: Request) -> Response:
        data = await self._body(request)
        if data != {"consent": True}:
            raise HTTPError(422, 'send {"consent": true} to take part (consent is required, nothing else is asked)')
        seed = secrets.randbelow(2**31)
        pid = await run_in_threadpool(self.db.add_participant, seed)
        return _json({"participant": pid, "token": tokens.sign(pid, self.secret)}, 201)

    def _state(self, request: Request) -> dict[str, Any]:
        pid = self._participant(request)
        row = self.db.participant(pid)
        return {
            "participant": pid,
            "questions": [
                self._question_payload(e) for e in participant_plan(list(self.questions.values()), row["seed"])
            ],
            "answered": sorted(self.db.answers_of(pid)),
            "completed": row["completed_at"] is not None,
        }

    async def state(self, request: Request) -> Response:
        return _json(await run_in_threadpool(self._state, request))

    async def answer(self, request: Request) -> Response:
        pid = await run_in_threadpool(self._participant, request)
        question, answer, elapsed = self._validate(await self._body(request))
        try:
            status = await run_in_threadpool(self.db.record_answer, pid, question.id, answer, elapsed)
        except AnswerConflict as err:
            raise HTTPError(409, str(err)) from err
        return _json({"status": status, "question": question.id})

    async def complete(self, request: Request) -> Response:
        pid = await run_in_threadpool(self._participant, request)
        answers = await run_in_threadpool(self.db.answers_of, pid)
        missing = [q for q in self.questions if q not in answers]
        if missing:
            raise HTTPError(
                409, f"{len(missing)} question(s) not answered yet ({', '.join(missing[:5])}); answer them first"
            )
        completed_at = await run_in_threadpool(self.db.complete, pid)
        return _json({"status": "complete", "completed_at": completed_at})

    async def summary(self, request: Request) -> Response:
        self._admin(request)
        from .export import summary

        return _json(await run_in_threadpool(summary, self.db))

    async def export_csv(self, request: Request) -> Response:
        self._admin(request)
        from .export import csv_text

        text = await run_in_threadpool(csv_text, self.db)
        return Response(
            text,
            media_type="text/csv; charset=utf-8",
            headers={**SECURITY_HEADERS, "Content-Disposition": 'attachment; filename="responses.csv"'},
        )


def _wrap(handler):
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except HTTPError as err:
            return _error(err.status, err.message)

    return endpoint


def create_app(items: str | Path | Spec, db: str | Path | StudyDB, admin_token: str) -> Starlette:
    """The ASGI app for the items folder ``items`` and the database ``db``."""
    if not admin_token or len(admin_token) < 16:
        raise ValueError("admin_token must be at least 16 characters (genxai.study.tokens.new_admin_token())")
    spec = items if isinstance(items, Spec) else load_spec(items)
    study = StudyApp(spec, db if isinstance(db, StudyDB) else StudyDB(db), admin_token)
    routes = [
        Route("/", _wrap(study.page), name="consent"),
        Route("/study", _wrap(study.page), name="study"),
        Route("/thanks", _wrap(study.page), name="thanks"),
        Route("/gif/{item:path}", _wrap(study.gif)),
        Route("/api/participants", _wrap(study.new_participant), methods=["POST"]),
        Route("/api/state", _wrap(study.state)),
        Route("/api/answers", _wrap(study.answer), methods=["POST"]),
        Route("/api/complete", _wrap(study.complete), methods=["POST"]),
        Route("/api/admin/summary", _wrap(study.summary)),
        Route("/api/admin/export.csv", _wrap(study.export_csv)),
        Mount("/static", StaticFiles(directory=_static_dir()), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.study = study
    return app
