"""The dashboard's web server (docs/DASHBOARD.md): credentials, routes, the channel."""
