"""What every analyzer family builds on: structured and plain-text diffs, documents, templating and identity scopes."""
