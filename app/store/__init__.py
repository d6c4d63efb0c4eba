"""The database edge: engines and migrations, the durable webhook inbox, retention, stored plans and the audit chain."""
