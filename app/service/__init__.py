"""The running App: HTTP routes, the inbox worker and the event handlers."""
