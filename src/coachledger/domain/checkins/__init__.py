"""Check-ins: clients report their own values, through a link or a form file (issue 16).

``events`` declares the events (as ``domain.events`` does), ``commands`` the ``Client``
commands that validate and trigger them. The ledger keeps a check-in's SHA-256 token hash,
never the token itself: the token travels only in the link (or the form file) sent to the client.
"""
