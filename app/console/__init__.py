"""The compliance web console at `/console`: GitHub sign-in for allowed teams, then the audit
trail as pages (merges, evidence, agents, chain, export, who-can). Mounted by
`app.service.app.create_app` through `app.console.mount.mount_console`."""
