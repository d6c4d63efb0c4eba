"""What people read of a report: Markdown, check-run titles and conclusions, annotations. Pure."""
