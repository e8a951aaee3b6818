"""The publishing side of syndicate: feeds, WebSub and webhooks (later issues)."""
