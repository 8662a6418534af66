"""coachledger: an event-sourced KPI ledger for career coaches."""

__version__ = "0.1.0"
