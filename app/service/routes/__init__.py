"""HTTP routes of the service other than the console: webhooks, the audit API, pre-flight analysis and plan uploads."""
