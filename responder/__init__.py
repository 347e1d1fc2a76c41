"""The responder: incident state, legal clocks, escalation and the audit trail.

It also holds the two pieces of plumbing every stage shares: ``bus`` (publish/consume) and
``store`` (the database that is the truth for incidents and deadlines).
"""
