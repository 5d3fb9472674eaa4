"""`rnngrade review OUT`: the TA scores manual items in a browser.

A small server on 127.0.0.1 (Python's http.server; nothing else to install) over an output
folder of `rnngrade grade`:

- GET  /                 the class page (index.html, rebuilt from the stored results)
- GET  /<student>/       the student's report with a form per manual item beside the
                         student's extracted answer, and previous/next student
- POST /<student>/score  save one item's points (or level) and comment

A save validates the value (grader.manual: a number in [0, item points], nothing capped),
writes OUT/manual.json, and rebuilds that student's results.json and report.html, grades.csv
and index.html from the stored results (grader.store): no student code runs, and a restart
reads manual.json back.

Safety: bound to 127.0.0.1 only; the Host header must name this server (no DNS rebinding);
every POST carries a per-server random token in the form and, when the browser sends one, an
Origin of this server (no cross-site form posts); pages are Jinja2-autoescaped and sent with
a CSP that allows no script and no framing; a student name in a URL is only looked up among
the stored students, never used as a path.
"""
from __future__ import annotations

import hmac
import secrets
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

from . import manual, report, store
from .outputs import render_outputs
from .outcomes import BatchResult
from .packs import PackError, load_pack

HOST = "127.0.0.1"
MAX_BODY = 64 << 10
CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


class ReviewError(Exception):
    pass


class Review:
    """The state of one review session: stored results, TA scores, and the save path."""

    def __init__(self, out: Path):
        self.out = Path(out)
        self.token = secrets.token_urlsafe(32)
        self.lock = threading.RLock()
        self._cache: dict[str, tuple[int, object]] = {}
        self.refresh()
        if not self.stored.results:
            raise ReviewError(f"{self.out}: no graded student to review")

    def refresh(self) -> None:
        """Read the folder again where it changed (a `grade` into it, another review window):
        stored results by modification time, batch.json and manual.json every time (small)."""
        with self.lock:
            try:
                info = store.read_batch_info(self.out)
                if info is None:
                    raise store.StoreError(f"{self.out}: not a graded output folder (no {store.BATCH_NAME}; "
                                           f"run `rnngrade grade PACK SUBMISSIONS --out {self.out}` first)")
                self.spec = load_pack(info["pack"]).spec
                results = []
                for student in store.stored_students(self.out):
                    path = self.out / student / store.STORE_NAME
                    stamp = path.stat().st_mtime_ns
                    cached = self._cache.get(student)
                    if cached is None or cached[0] != stamp:
                        cached = self._cache[student] = (stamp, store.read_result(path))
                    results.append(cached[1])
                self.stored = BatchResult(
                    info["pack"], info.get("pack_title", info["pack"]), results=results,
                    failures=[tuple(f) for f in info.get("failures", [])], seed=info["seed"])
                self.scores = manual.read_manual_json(self.out, self.spec)
            except (store.StoreError, PackError, OSError) as exc:
                raise ReviewError(str(exc)) from exc
            except manual.ManualError as exc:
                raise ReviewError("; ".join(exc.lines)) from exc
            self.by_student = {r.student: r for r in self.stored.results}
            self.order = sorted(self.by_student)

    def result(self, student: str):
        return manual.apply(self.by_student[student], self.spec, self.scores.get(student))

    def class_page(self) -> str:
        batch = BatchResult(self.stored.pack, self.stored.pack_title,
                            results=[self.result(s) for s in self.order],
                            failures=list(self.stored.failures), seed=self.stored.seed)
        return report.render_class_summary(batch)

    def student_page(self, student: str, *, saved: str | None = None,
                     errors: dict[str, str] | None = None, values: dict[str, dict] | None = None) -> str:
        i = self.order.index(student)
        href = lambda s: "/" + quote(s, safe="") + "/"  # noqa: E731
        items = {i.id: i for i in self.spec.items if i.kind == "manual"}
        entries = self.scores.get(student, {})
        forms = {}
        for item_id, ispec in items.items():
            entry = entries.get(item_id)
            shown = (values or {}).get(item_id) or {
                "points": "" if entry is None else report.fmt_points(entry["points"]),
                "comment": "" if entry is None else entry.get("comment", "")}
            forms[item_id] = {"action": href(student) + "score", "points": shown["points"],
                              "comment": shown["comment"], "max": ispec.points,
                              "levels": manual.level_choices(ispec) if ispec.levels else None,
                              "error": (errors or {}).get(item_id), "saved": saved == item_id}
        after = self.order[i + 1:] + self.order[:i]
        pending = next((s for s in after if any(it.pending for it in self.result(s).items)), None)
        review = {"token": self.token, "forms": forms, "home": "/",
                  "pending": (pending, href(pending)) if pending else None,
                  "prev": (self.order[i - 1], href(self.order[i - 1])) if i > 0 else None,
                  "next": (self.order[i + 1], href(self.order[i + 1])) if i + 1 < len(self.order) else None,
                  "position": f"{i + 1} of {len(self.order)}"}
        return report.render_student_report(self.result(student), review=review)

    def save(self, student: str, item_id: str, points_text: str, comment: str) -> str | None:
        """Validate and store one score; None when saved, else why not (for the form)."""
        items = manual.manual_items(self.spec)
        if item_id not in items:
            return f"{item_id!r} is not a manual item of {self.spec.id}"
        value, why = manual.parse_points(points_text, items[item_id])
        if why:
            return why
        comment = comment.strip()[: manual.COMMENT_LIMIT]
        if value is None and comment:
            return "a comment needs points too (leave both blank to clear the score)"
        with self.lock:
            self.refresh()  # a save never writes over what a `grade` or another window did meanwhile
            if student not in self.by_student:
                return f"{student!r} is no longer in {self.out}"
            scores = {s: dict(e) for s, e in self.scores.items()}
            if value is None:
                scores.get(student, {}).pop(item_id, None)
            else:
                scores.setdefault(student, {})[item_id] = {"points": value, "comment": comment}
            manual.write_manual_json(self.out, scores)
            self.scores = scores
            render_outputs(self.stored, self.out, self.scores, self.spec, only=student)
        return None


class Handler(BaseHTTPRequestHandler):
    server_version = "rnngrade-review"
    review: Review  # set on the subclass by make_server

    def log_message(self, fmt, *args):  # quiet: the TA's terminal shows the URL only
        pass

    # -- plumbing -----------------------------------------------------------------------
    def _host_ok(self) -> bool:
        port = self.server.server_address[1]
        return self.headers.get("Host", "") in (f"{HOST}:{port}", f"localhost:{port}")

    def _send(self, status: int, body: str = "", *, location: str | None = None) -> None:
        data = body.encode("utf-8", "replace")
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "same-origin")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        from html import escape

        self._send(status, f"<!DOCTYPE html><meta charset='utf-8'><title>{status}</title>"
                           f"<p>{escape(message)}</p><p><a href='/'>class page</a></p>")

    def _route(self) -> tuple[str | None, str]:
        """(student, rest) for /<student>/rest; (None, path) otherwise."""
        path = urlsplit(self.path).path
        parts = path.split("/")
        if len(parts) >= 3 and parts[0] == "":
            student = unquote(parts[1])
            if student in self.review.by_student:
                return student, "/".join(parts[2:])
        return None, path

    # -- GET ------------------------------------------------------------------------------
    def do_GET(self) -> None:
        if not self._host_ok():
            return self._error(HTTPStatus.MISDIRECTED_REQUEST, "unknown host")
        with self.review.lock:
            try:
                self.review.refresh()
            except ReviewError as exc:
                return self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"could not read the folder: {exc}")
            return self._get()

    def _get(self) -> None:
        student, rest = self._route()
        query = parse_qs(urlsplit(self.path).query)
        if student is None:
            if rest in ("/", "/index.html"):
                return self._send(HTTPStatus.OK, self.review.class_page())
            return self._error(HTTPStatus.NOT_FOUND, "no such page (students are listed on the class page)")
        if rest in ("", "report.html"):
            return self._send(HTTPStatus.OK, self.review.student_page(
                student, saved=(query.get("saved") or [None])[0]))
        return self._error(HTTPStatus.NOT_FOUND, "no such page")

    do_HEAD = do_GET

    # -- POST -----------------------------------------------------------------------------
    def do_POST(self) -> None:
        if not self._host_ok():
            return self._error(HTTPStatus.MISDIRECTED_REQUEST, "unknown host")
        origin = self.headers.get("Origin")
        port = self.server.server_address[1]
        if origin is not None and origin not in (f"http://{HOST}:{port}", f"http://localhost:{port}"):
            return self._error(HTTPStatus.FORBIDDEN, "cross-site request refused")
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/x-www-form-urlencoded":
            return self._error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "a form post was expected")
        try:
            length = int(self.headers.get("Content-Length") or "0")
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            return self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "form too large")
        form = parse_qs(self.rfile.read(length).decode("utf-8", "replace"), keep_blank_values=True)
        field = lambda k: (form.get(k) or [""])[0]  # noqa: E731
        if not hmac.compare_digest(field("token").encode(), self.review.token.encode()):
            return self._error(HTTPStatus.FORBIDDEN, "the form is stale (the review server was restarted?): "
                                                     "reload the page and save again")
        student, rest = self._route()
        if student is None or rest != "score":
            return self._error(HTTPStatus.NOT_FOUND, "no such student")
        item_id = field("item")
        try:
            why = self.review.save(student, item_id, field("points"), field("comment"))
        except ReviewError as exc:
            return self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"not saved: could not read the folder: {exc}")
        if why:
            values = {item_id: {"points": field("points"), "comment": field("comment")}}
            with self.review.lock:
                if student not in self.review.by_student:
                    return self._error(HTTPStatus.NOT_FOUND, why)
                page = self.review.student_page(student, errors={item_id: why}, values=values)
            return self._send(HTTPStatus.BAD_REQUEST, page)
        where = "/" + quote(student, safe="") + "/?saved=" + quote(item_id, safe="") + "#item-" + quote(item_id, safe="")
        return self._send(HTTPStatus.SEE_OTHER, "", location=where)


def make_server(out: Path, *, port: int = 8765) -> ThreadingHTTPServer:
    review = Review(Path(out))
    handler = type("BoundHandler", (Handler,), {"review": review})
    server = ThreadingHTTPServer((HOST, port), handler)
    server.daemon_threads = True
    server.review = review  # type: ignore[attr-defined]
    return server
