"""The staff web app under /console: the mediators' console (later the editors' studio and the dashboard)."""
