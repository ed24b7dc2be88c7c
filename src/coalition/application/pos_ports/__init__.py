"""The POS unit of work's port, split by aggregate: each module declares what one aggregate's storage does.

A service names only the ports it uses (a Protocol inheriting them, with `AuditTrail` when it audits), so a test can
hand it an in-memory fake of those alone. `coalition.application.ports.PosUnitOfWork` composes them all.
"""
