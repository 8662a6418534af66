"""Between sessions: agreed actions followed up, and fixes of any record (issue 13).

``events`` declares the events (as ``domain.events`` does), ``commands`` the ``Client``
commands that validate and trigger them.
"""
