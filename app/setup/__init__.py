"""`countersign setup`: register the GitHub App from app.yml with GitHub's manifest flow."""
