"""``coachledger serve``: the ledger in a browser, a second face on the services the CLI uses.

Server-rendered pages (Starlette, Jinja2 templates, uvicorn), working with JavaScript off;
``static/app.js`` only adds conveniences. ``routes`` is the route table; ``auth`` signs
coaches in and guards every page and form; ``pages``, ``journey`` and ``forms`` answer them;
``security`` holds the cookies, tokens, headers and sign-in limits; ``state`` what one server
process keeps; ``server`` starts it all. Needs the web extra: pip install 'coachledger[web]'.
"""
