"""The GitHub boundary: App auth, API access, webhook verification. Nothing else imports githubkit."""
