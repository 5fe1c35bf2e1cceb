"""The web app (``simopt serve``): simopt in the browser for planners who do not code.

**The stack, and why.**

- **FastAPI on Starlette**, served by **uvicorn**: plain Python functions per page, typed
  parameters checked at the edge, dependencies (``Depends``) for "who is this, may they see
  that" that a test can call and a route cannot forget; Starlette's ``TestClient`` drives the
  whole app in-process, so every route is testable without a server. Both are the most widely
  kept Python web layers of their kind.
- **Server-rendered Jinja2 templates with htmx** (vendored, ``static/htmx.min.js``, 0BSD): the
  pages are HTML the server renders in the user's language with the same catalogue as the
  reports; htmx swaps fragments for the interactive parts (progress bars, what-if answers)
  without a JavaScript build, a bundler or a second language to maintain. Everything is served
  locally — no CDN — so the app works in an office without internet; the Content-Security-Policy
  allows only the app's own origin.
- **SQLAlchemy 2** (typed ORM) with **Alembic** migrations, applied at start: SQLite by default
  (``results/simopt.db``, beside the run folders), PostgreSQL or any SQLAlchemy URL by ``--db``.
  Result files stay in run folders; the database holds users, scenarios and their versions, and
  runs with their manifests.
- **argon2-cffi** hashes passwords (Argon2id, the password-hashing competition's winner).

**The modules**, one concept each: ``settings`` (WebSettings), ``db`` (engine, migrations, the
UTC time type), ``models`` (the tables), ``passwords``, ``sessions`` (server-side login sessions),
``csrf``, ``auth`` (the dependencies ``current_user``, ``require_role``, ``require_province``),
``accounts`` (users and provinces, shared by the CLI and the admin page), ``i18n``, ``templating``
(``render``, ``flash``, ``redirect``), ``middleware`` (security headers, body size limit),
``errors`` (error pages), ``paths`` (the one place a request's value may become a path),
``routes_*`` (one router per page group), ``app`` (``create_app`` and the list of routers) and
``cli`` (``simopt serve``, ``simopt users``).

**Adding a page group** (e.g. ``routes_scenarios.py``): make an ``APIRouter``, write each page as
a function with ``user: User = Depends(require_role("planner"))`` and/or
``province: Province = Depends(require_province)``, answer with
``render(request, "scenarios.html", {...})`` (a template extending ``base.html``), put every
word in ``simopt/reporting/locale/{vi,en}/web.po`` under a ``web.`` key, and add the router to
``ROUTERS`` in ``app.py``. CSRF is checked for every POST/PUT/PATCH/DELETE by an app-wide
dependency: forms include ``{{ csrf_field() }}``, htmx requests carry the header set on
``<body>``. The tests iterate the app's routes, so a new route is covered by the CSRF and
external-URL checks at once (a new path parameter needs a sample value in
``tests/web_fixtures.py``).
"""
